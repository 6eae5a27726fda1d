from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError


class CreditMerchantPledge(models.Model):
    """What a merchant promises to donate in a month (goods and services valued
    in money), against which finance reconciles what was delivered."""

    _name = "credit.merchant.pledge"
    _description = "Merchant Pledge"
    _inherit = ["credit.workflow.mixin"]
    _order = "month desc, merchant_id"
    # finance and the council (access rights), until a confirmed settlement
    # of the merchant counted the month
    _credit_user_fields = frozenset({"merchant_id", "community_id", "month", "value", "note"})

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
        pledges = super().create(vals_list)
        pledges._check_unsettled()
        return pledges

    def write(self, vals):
        if vals.get("month"):
            vals["month"] = fields.Date.to_date(vals["month"]).replace(day=1)
        self._check_unsettled()
        result = super().write(vals)
        self._check_unsettled()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_unsettled(self):
        self._check_unsettled()

    def _check_unsettled(self):
        """A pledge counted by a confirmed (or reconciled) settlement stays as it
        was counted: the settlement's figures rest on it."""
        if self.env.su:
            return
        Settlement = self.env["credit.settlement"].sudo()
        for pledge in self:
            month_end = fields.Date.end_of(pledge.month, "month")
            if Settlement.search_count(
                [
                    ("merchant_id", "=", pledge.merchant_id.id),
                    ("community_id", "=", pledge.community_id.id),
                    ("state", "!=", "draft"),
                    ("date_from", "<=", month_end),
                    ("date_to", ">=", pledge.month),
                ],
                limit=1,
            ):
                raise UserError(
                    self.env._(
                        "A confirmed settlement of %(merchant)s counted the pledge of "
                        "%(month)s: it can no longer change.",
                        merchant=pledge.merchant_id.name,
                        month=pledge.month.strftime("%Y-%m"),
                    )
                )

    @api.constrains("value")
    def _check_value(self):
        for pledge in self:
            if pledge.value < 0:
                raise ValidationError(self.env._("A pledge cannot be negative."))
