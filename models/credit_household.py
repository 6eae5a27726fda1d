from odoo import api, fields, models
from odoo.exceptions import AccessError

MANAGER = "community_credit.group_credit_manager"


class CreditHousehold(models.Model):
    _name = "credit.household"
    _description = "Household"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "name"
    _check_company_auto = True
    # grid workers within the places they look after (access rights, record
    # rules and _check_place), and the council. Members change through their
    # contacts (res.partner checks who may move a subject into a household).
    _credit_user_fields = frozenset({"name", "place_id", "head_id", "member_ids", "active"})
    _credit_create_fields = frozenset({"company_id"})

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

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_place(vals.get("place_id"))
        return super().create(vals_list)

    def write(self, vals):
        if "place_id" in vals:
            self._check_place(vals["place_id"])
        return super().write(vals)

    @api.model
    def _check_place(self, place_id):
        """Grid workers keep households within the places they look after: the
        record rules let them change only those, and a household goes only to
        one of those places, never out of them."""
        user = self.env.user
        if self.env.su or user.has_group(MANAGER):
            return
        place = self.env["credit.place"].browse(place_id if isinstance(place_id, int) else [])
        if not place.sudo()._is_within(user.sudo().credit_place_ids):
            raise AccessError(
                self.env._(
                    "You can keep households only in the places you look after, not in %(place)s.",
                    place=place.sudo().display_name or self.env._("no place"),
                )
            )
