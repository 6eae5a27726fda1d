from odoo import fields, models


class CreditReverseWizard(models.TransientModel):
    _name = "credit.reverse.wizard"
    _description = "Reverse Credit Points"

    line_ids = fields.Many2many("credit.ledger.line", string="Lines to Reverse", required=True)
    reason = fields.Text(required=True)
    date = fields.Date(required=True, default=fields.Date.context_today)

    def action_reverse(self):
        self.ensure_one()
        self.line_ids._check_manager()
        reversals = self.line_ids._reverse(self.reason, self.date)
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Reversals"),
            "res_model": "credit.ledger.line",
            "view_mode": "list,form",
            "domain": [("id", "in", reversals.ids)],
        }
