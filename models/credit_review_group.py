from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .utils import check_caller


class CreditReviewGroup(models.Model):
    _name = "credit.review.group"
    _description = "Claim Review Group"
    _inherit = ["credit.workflow.mixin", "mail.thread"]
    # the council sets its review groups up; members and places must be readable
    _credit_user_fields = frozenset(
        {"name", "community_id", "place_ids", "user_ids", "leader_id", "active"}
    )
    _credit_create_fields = frozenset({"company_id"})
    _order = "community_id, name"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    community_id = fields.Many2one(
        "credit.place",
        required=True,
        tracking=True,
        domain=[("place_type", "=", "community")],
        check_company=True,
    )
    place_ids = fields.Many2many(
        "credit.place",
        "credit_review_group_place_rel",
        "group_id",
        "place_id",
        string="Places Reviewed",
        domain="[('community_id', '=', community_id), ('place_type', 'in', ('estate', 'grid'))]",
        help="The estates or grids whose claims this group certifies (seed: one group per estate).",
    )
    user_ids = fields.Many2many(
        "res.users",
        "credit_review_group_user_rel",
        "group_id",
        "user_id",
        string="Members",
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("community_credit.group_credit_reviewer").ids)
        ],
    )
    leader_id = fields.Many2one(
        "res.users",
        tracking=True,
        help="Receives the review activities of the group's claims.",
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        related="community_id.company_id", store=True, index=True, readonly=True
    )
    claim_count = fields.Integer(compute="_compute_claim_count", string="Claims to Review")

    def _compute_claim_count(self):
        counts = dict(
            self.env["credit.claim"]._read_group(
                [("review_group_id", "in", self.ids), ("state", "=", "review")],
                ["review_group_id"],
                ["__count"],
            )
        )
        for group in self:
            group.claim_count = counts.get(group, 0)

    @api.constrains("leader_id", "user_ids")
    def _check_leader(self):
        for group in self:
            if group.leader_id and group.leader_id not in group.user_ids:
                raise ValidationError(
                    self.env._(
                        "The leader of review group %(group)s must be one of its members.",
                        group=group.name,
                    )
                )

    @api.constrains("place_ids", "community_id", "active")
    def _check_places(self):
        for group in self:
            if group.place_ids.filtered(lambda p, g=group: p.community_id != g.community_id):
                raise ValidationError(
                    self.env._(
                        "Review group %(group)s can only review places of %(community)s.",
                        group=group.name,
                        community=group.community_id.display_name,
                    )
                )
            if not group.active:
                continue
            others = self.search(
                [
                    ("id", "!=", group.id),
                    ("community_id", "=", group.community_id.id),
                    ("place_ids", "in", group.place_ids.ids),
                ],
                limit=1,
            )
            if others:
                raise ValidationError(
                    self.env._(
                        "%(place)s is already reviewed by %(other)s: each place has one "
                        "review group.",
                        place=(group.place_ids & others.place_ids)[:1].display_name,
                        other=others.name,
                    )
                )

    def action_view_claims(self):
        self.ensure_one()
        check_caller(self)
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "community_credit.credit_claim_action"
        )
        action["domain"] = [("review_group_id", "=", self.id)]
        action["context"] = {"search_default_filter_review": 1}
        return action
