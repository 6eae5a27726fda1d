from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CreditMerchantPledge(models.Model):
    """What a merchant promises to donate in a month (goods and services valued
    in money), against which finance reconciles what was delivered."""

    _name = "credit.merchant.pledge"
    _description = "Merchant Pledge"
    _order = "month desc, merchant_id"

    merchant_id = fields.Many2one("res.partner", string="Donor Merchant", required=True, index=True)
    community_id = fields.Many2one(
        "credit.place", required=True, domain=[("place_type", "=", "community")], index=True
    )
    month = fields.Date(required=True, help="Any day of the month pledged for.")
    value = fields.Monetary(string="Pledged Value", currency_field="currency_id")
    note = fields.Char()
    company_id = fields.Many2one(related="community_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")

    _sql_constraints = [
        (
            "merchant_month_uniq",
            "unique(merchant_id, community_id, month)",
            "A merchant has one pledge per community and month: change that one.",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("month"):
                vals["month"] = fields.Date.to_date(vals["month"]).replace(day=1)
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("month"):
            vals["month"] = fields.Date.to_date(vals["month"]).replace(day=1)
        return super().write(vals)

    @api.constrains("value")
    def _check_value(self):
        for pledge in self:
            if pledge.value < 0:
                raise ValidationError(self.env._("A pledge cannot be negative."))
