from odoo import api, fields, models


class CreditHousehold(models.Model):
    _name = "credit.household"
    _description = "Household"
    _inherit = ["mail.thread"]
    _order = "name"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    place_id = fields.Many2one(
        "credit.place",
        required=True,
        index=True,
        check_company=True,
        tracking=True,
    )
    community_id = fields.Many2one(related="place_id.community_id", store=True, index=True)
    head_id = fields.Many2one(
        "res.partner",
        string="Head of Household",
        domain="[('id', 'in', member_ids)]",
        tracking=True,
    )
    member_ids = fields.One2many("res.partner", "credit_household_id", string="Members")
    member_count = fields.Integer(compute="_compute_points")
    points = fields.Integer(
        compute="_compute_points",
        help="The household's points: the sum (or the average, as the community "
        "chooses) of its members' balances.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    active = fields.Boolean(default=True)

    @api.depends("member_ids", "place_id.community_id.household_points_mode")
    def _compute_points(self):
        totals = self.env["credit.balance"]._household_totals(self.ids)
        for household in self:
            total, members = totals.get(household.id, (0, 0))
            household.member_count = members
            mode = household.community_id.household_points_mode or "sum"
            if mode == "average" and members:
                household.points = round(total / members)
            else:
                household.points = total
