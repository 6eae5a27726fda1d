from odoo import api, fields, models


class CreditRewardStock(models.Model):
    """How many units of a reward can be collected at one place (a community
    exchange point or a merchant's shop)."""

    _name = "credit.reward.stock"
    _description = "Reward Stock at a Collection Point"
    _inherit = ["credit.workflow.mixin"]
    _order = "product_tmpl_id, id"
    _rec_name = "collection_point"
    # the council keeps stock on the reward's form (access rights); a row stays
    # the reward's at one community, where its vouchers were issued
    _credit_user_fields = frozenset({"collection_point", "quantity"})
    _credit_create_fields = frozenset({"product_tmpl_id", "community_id"})

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

    @api.model
    def _portal_catalogue(self, partner):
        """What a resident can redeem today: rewards on offer with units left at
        the collection points of their community, cheapest first."""
        partner = partner.sudo()  # residents read neither places nor products
        community = partner.credit_community_id
        if not community:
            return self.browse()
        today = fields.Date.context_today(self)
        return (
            self.sudo()
            .search(
                [
                    ("community_id", "=", community.id),
                    ("quantity", ">", 0),
                    ("product_tmpl_id.credit_is_reward", "=", True),
                    ("product_tmpl_id.active", "=", True),
                    "|",
                    ("product_tmpl_id.credit_valid_from", "=", False),
                    ("product_tmpl_id.credit_valid_from", "<=", today),
                    "|",
                    ("product_tmpl_id.credit_valid_to", "=", False),
                    ("product_tmpl_id.credit_valid_to", ">=", today),
                ],
                order="id",
            )
            .sorted(lambda s: (s.product_tmpl_id.credit_points_price, s.id))
        )
