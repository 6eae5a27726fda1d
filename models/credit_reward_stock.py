from odoo import fields, models


class CreditRewardStock(models.Model):
    """How many units of a reward can be collected at one place (a community
    exchange point or a merchant's shop)."""

    _name = "credit.reward.stock"
    _description = "Reward Stock at a Collection Point"
    _order = "product_tmpl_id, id"
    _rec_name = "collection_point"

    product_tmpl_id = fields.Many2one(
        "product.template",
        string="Reward",
        required=True,
        ondelete="cascade",
        index=True,
        domain=[("credit_is_reward", "=", True)],
    )
    collection_point = fields.Char(
        required=True, help="Where residents collect it, e.g. 龙海社区积分兑换点 or the shop."
    )
    community_id = fields.Many2one(
        "credit.place", required=True, domain=[("place_type", "=", "community")], index=True
    )
    quantity = fields.Integer(string="Units Available", default=0)
    company_id = fields.Many2one(related="community_id.company_id", store=True, index=True)

    _sql_constraints = [
        (
            "quantity_not_negative",
            "CHECK(quantity >= 0)",
            "A collection point cannot have fewer than zero units.",
        ),
    ]
