from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from .utils import check_caller

MANAGER = "community_credit.group_credit_manager"


class CreditVolunteerTeam(models.Model):
    """A volunteer team (志愿服务队): e.g. a mediation team, or the door-knocking
    team that visits elders living alone."""

    _name = "credit.volunteer.team"
    _description = "Volunteer Team"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    _order = "community_id, name"
    _check_company_auto = True
    # grid workers of the team's community (access rights and _check_community)
    # and the council; members given by id must be subjects the user may read.
    # The services and points come from attendance.
    _credit_user_fields = frozenset({"name", "community_id", "leader_id", "member_ids", "active"})

    name = fields.Char(required=True, tracking=True)
    community_id = fields.Many2one(
        "credit.place",
        required=True,
        domain=[("place_type", "=", "community")],
        check_company=True,
        tracking=True,
    )
    leader_id = fields.Many2one("res.partner", tracking=True)
    member_ids = fields.Many2many(
        "res.partner",
        "credit_volunteer_team_partner_rel",
        "team_id",
        "partner_id",
        string="Members",
        domain=[("credit_is_subject", "=", True)],
    )
    member_count = fields.Integer(compute="_compute_member_count")
    event_ids = fields.One2many("event.event", "credit_team_id", string="Events")
    service_hours = fields.Float(compute="_compute_service", string="Hours Served")
    service_points = fields.Integer(compute="_compute_service", string="Points Earned")
    service_count = fields.Integer(compute="_compute_service", string="Services")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        related="community_id.company_id", store=True, readonly=True, index=True
    )

    @api.depends("member_ids")
    def _compute_member_count(self):
        for team in self:
            team.member_count = len(team.member_ids)

    def _compute_service(self):
        totals = {
            team: (hours, points, count)
            for team, hours, points, count in self.env["credit.volunteer.service"]._read_group(
                [("team_id", "in", self.ids), ("state", "=", "done")],
                ["team_id"],
                ["hours:sum", "points:sum", "__count"],
            )
        }
        for team in self:
            hours, points, count = totals.get(team, (0.0, 0, 0))
            team.service_hours, team.service_points, team.service_count = hours, points, count

    @api.constrains("leader_id", "member_ids")
    def _check_leader(self):
        for team in self:
            if team.leader_id and team.leader_id not in team.member_ids:
                raise ValidationError(
                    self.env._("The leader of %(team)s must be one of its members.", team=team.name)
                )

    @api.model_create_multi
    def create(self, vals_list):
        teams = super().create(vals_list)
        teams._check_community()
        return teams

    def write(self, vals):
        self._check_community()  # the teams as they are (the record rules say company only)
        result = super().write(vals)
        if "community_id" in vals:
            self._check_community()  # and where they go
        return result

    def _check_community(self):
        """Grid workers keep the teams of the communities they look after (a
        community of one of their places, or one within them); the council
        keeps every team."""
        user = self.env.user
        if self.env.su or user.has_group(MANAGER):
            return
        places = user.sudo().credit_place_ids
        for team in self.sudo():
            community = team.community_id
            if not (community._is_within(places) or community in places.community_id):
                raise AccessError(
                    self.env._(
                        "You can keep the volunteer teams of the communities you look "
                        "after only, not of %(community)s.",
                        community=community.display_name,
                    )
                )

    def action_view_service(self):
        self.ensure_one()
        check_caller(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_volunteer_service_action"
        )
        action["domain"] = [("team_id", "=", self.id)]
        return action
