from odoo import fields, models


class CreditSettlementLine(models.Model):
    _name = "credit.settlement.line"
    _description = "Merchant Settlement Line"
    _order = "id"

    settlement_id = fields.Many2one(
        "credit.settlement", required=True, ondelete="cascade", index=True
    )
    voucher_id = fields.Many2one("credit.voucher", required=True, readonly=True)
    points = fields.Integer(readonly=True)
    donated_value = fields.Float(readonly=True)
    honoured = fields.Boolean(string="Handed Over", readonly=True)
    voucher_state = fields.Char(readonly=True)
    note = fields.Char(string="Explanation")
