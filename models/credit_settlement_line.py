from odoo import fields, models
from odoo.exceptions import UserError


class CreditSettlementLine(models.Model):
    _name = "credit.settlement.line"
    _description = "Merchant Settlement Line"
    _inherit = ["credit.workflow.mixin"]
    _order = "id"
    # loaded by the settlement's Compute button; finance explains each line
    _credit_user_fields = frozenset({"note"})

    settlement_id = fields.Many2one(
        "credit.settlement", required=True, ondelete="cascade", index=True
    )
    voucher_id = fields.Many2one("credit.voucher", required=True, readonly=True)
    points = fields.Integer(readonly=True)
    donated_value = fields.Float(readonly=True)
    honoured = fields.Boolean(string="Handed Over", readonly=True)
    # the state the voucher had when the settlement was computed, with the
    # voucher's own labels (translated) rather than its raw value
    voucher_state = fields.Selection("_selection_voucher_state", readonly=True)
    note = fields.Char(string="Explanation")

    def _selection_voucher_state(self):
        return self.env["credit.voucher"]._fields["state"]._description_selection(self.env)

    def write(self, vals):
        if not self.env.su and self.filtered(lambda ln: ln.settlement_id.state == "reconciled"):
            raise UserError(self.env._("A reconciled settlement can no longer change."))
        return super().write(vals)
