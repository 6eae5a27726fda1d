from odoo import api, fields, models
from odoo.tools import SQL

from .credit_claim import ACTIVE_STATES


class CreditClaimLine(models.Model):
    _name = "credit.claim.line"
    _description = "Credit Claim Subject"
    _inherit = ["credit.workflow.mixin"]
    _order = "claim_id, id"
    # mirrors the claim's subjects (credit.claim._sync_lines) and the lines it
    # posted, under sudo; nobody writes them by hand
    _credit_user_fields = frozenset()

    claim_id = fields.Many2one("credit.claim", required=True, ondelete="cascade", index=True)
    partner_id = fields.Many2one("res.partner", string="Subject", required=True, index=True)
    rule_id = fields.Many2one(related="claim_id.rule_id", store=True)
    date = fields.Date(related="claim_id.date", store=True)
    state = fields.Selection(related="claim_id.state", store=True)
    ledger_line_id = fields.Many2one("credit.ledger.line", readonly=True, index="btree_not_null")
    points = fields.Integer(related="ledger_line_id.points", string="Points Posted")
    company_id = fields.Many2one(related="claim_id.company_id", store=True)

    @api.private  # Odoo calls it at install and upgrade; nobody over RPC
    def init(self):
        # the same subject cannot be claimed twice for one rule on one day, even by
        # two people submitting at the same instant
        self.env.cr.execute(
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS credit_claim_line_once_uniq "
                "ON credit_claim_line (partner_id, rule_id, date) "
                "WHERE state IN %s",
                ACTIVE_STATES,
            )
        )
