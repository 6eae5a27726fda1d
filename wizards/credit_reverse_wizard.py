from odoo import fields, models

from ..models.utils import check_caller

MANAGER = "community_credit.group_credit_manager"


class CreditReverseWizard(models.TransientModel):
    _name = "credit.reverse.wizard"
    _description = "Reverse Credit Points"

    line_ids = fields.Many2many("credit.ledger.line", string="Lines to Reverse", required=True)
    reason = fields.Text(required=True)
    date = fields.Date(required=True, default=fields.Date.context_today)

    def action_reverse(self):
        """Council: reverse the chosen lines through the posting path (lines
        given by id must be ones the user may read)."""
        self.ensure_one()
        self.line_ids._check_manager()
        check_caller(self, MANAGER)
        check_caller(self.line_ids)
        reversals = self.line_ids._reverse(self.reason, self.date)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reversals"),
            "res_model": "credit.ledger.line",
            "view_mode": "list,form",
            "domain": [("id", "in", reversals.ids)],
        }
