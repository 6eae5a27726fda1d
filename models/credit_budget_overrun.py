from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from .credit_ledger_line import ORIGINS


class CreditBudgetOverrun(models.Model):
    """A grant past a budget that a council member approved: who, when, how much
    over, for which lines and why. Made by the posting path only, never changed."""

    _name = "credit.budget.overrun"
    _description = "Approved Budget Overrun"
    _order = "create_date desc, id desc"
    _check_company_auto = True

    budget_id = fields.Many2one(
        "credit.budget", required=True, readonly=True, index=True, ondelete="restrict"
    )
    place_id = fields.Many2one(related="budget_id.place_id", store=True)
    user_id = fields.Many2one("res.users", string="Approved By", required=True, readonly=True)
    points = fields.Integer(string="Points Granted", readonly=True)
    issued_before = fields.Integer(readonly=True)
    budget_points = fields.Integer(readonly=True)
    points_over = fields.Integer(readonly=True, help="How far this grant went past the budget.")
    origin = fields.Selection(ORIGINS, readonly=True)
    origin_ref = fields.Char(string="Origin Document", readonly=True)
    line_ids = fields.Many2many("credit.ledger.line", string="Ledger Lines", readonly=True)
    reason = fields.Text(readonly=True)
    company_id = fields.Many2one(related="budget_id.company_id", store=True, index=True)

    @api.model_create_multi
    def create(self, vals_list):
        # made by the posting path only (credit.budget._record_overruns, under sudo)
        if not self.env.su:
            self.check_access("create")
            raise AccessError(
                self.env._("Approved overruns are recorded by the posting path, never by hand.")
            )
        return super().create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("Approved overruns are a record: they cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("Approved overruns are a record: they cannot be deleted."))
