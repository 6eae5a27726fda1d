from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

MANAGER = "community_credit.group_credit_manager"
# what a creation leaves a reward field at when it does not give it
CREDIT_DEFAULTS = {"credit_reward_kind": "goods", "credit_voucher_days": 30}


class ProductTemplate(models.Model):
    _inherit = "product.template"

    credit_is_reward = fields.Boolean(
        string="Credit Reward", help="Residents can redeem this product for credit points."
    )
    credit_points_price = fields.Integer(string="Points Price")
    credit_reward_kind = fields.Selection(
        [
            ("goods", "Goods"),
            ("service", "Service"),
            ("policy", "Policy reward"),
            ("honour", "Honour"),
        ],
        string="Reward Kind",
        default="goods",
    )
    credit_donated_value = fields.Monetary(
        string="Donated Value",
        currency_field="currency_id",
        help="What the donor gives per unit, in money (1 point ≈ ¥1 in Longhai).",
    )
    credit_merchant_id = fields.Many2one(
        "res.partner", string="Donated By", help="The merchant or unit who donates it."
    )
    credit_person_limit = fields.Integer(
        string="Per Person per Month",
        help="How many units one resident may redeem in a month. 0: no limit.",
    )
    credit_valid_from = fields.Date(string="Redeemable From")
    credit_valid_to = fields.Date(string="Redeemable Until")
    credit_voucher_days = fields.Integer(
        string="Voucher Valid (days)",
        default=30,
        help="A voucher not handed over within this many days expires and is refunded.",
    )
    credit_stock_ids = fields.One2many(
        "credit.reward.stock", "product_tmpl_id", string="Where to Collect"
    )

    @api.constrains(
        "credit_is_reward", "credit_points_price", "credit_donated_value", "credit_person_limit",
        "credit_voucher_days",
    )  # fmt: skip
    def _check_credit_reward(self):
        for product in self.filtered("credit_is_reward"):
            if product.credit_points_price <= 0:
                raise ValidationError(
                    self.env._(
                        "Reward %(reward)s needs a points price above zero.", reward=product.name
                    )
                )
            if product.credit_donated_value < 0 or product.credit_person_limit < 0:
                raise ValidationError(
                    self.env._(
                        "Reward %(reward)s: the donated value and the limit cannot be negative.",
                        reward=product.name,
                    )
                )
            if product.credit_voucher_days <= 0:
                raise ValidationError(
                    self.env._(
                        "Reward %(reward)s: vouchers must stay valid at least one day.",
                        reward=product.name,
                    )
                )

    @api.model
    def _credit_field_names(self):
        return [name for name, field in self._fields.items() if field._module == "community_credit"]

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            names = self._credit_field_names()
            context = self.env.context
            for vals in vals_list:
                given = {
                    name: vals[name] if name in vals else context[f"default_{name}"]
                    for name in names
                    if name in vals or f"default_{name}" in context
                }
                if any(
                    value and value != CREDIT_DEFAULTS.get(name) for name, value in given.items()
                ):
                    self._credit_check_reward_manager()
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su and set(self._credit_field_names()) & set(vals):
            self._credit_check_reward_manager()
        return super().write(vals)

    @api.model
    def _credit_check_reward_manager(self):
        """What a reward costs in points, what it is worth and who donates it are
        the council's to decide, not any Inventory or Sales user's."""
        if not self.env.user.has_group(MANAGER):
            raise AccessError(
                self.env._(
                    "Only credit managers may make a product a reward or change its "
                    "points price, value, donor or limits."
                )
            )
