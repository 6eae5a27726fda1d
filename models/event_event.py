from odoo import api, fields, models
from odoo.exceptions import ValidationError


class EventEvent(models.Model):
    _inherit = "event.event"

    credit_rule_id = fields.Many2one(
        "credit.rule",
        compute="_compute_credit_rule_id",
        store=True,
        readonly=False,
        domain=[("points", ">", 0)],
        help="Attending this event earns points under this rule (its caps apply).",
    )
    credit_points = fields.Integer(related="credit_rule_id.points", string="Points per Attendee")
    credit_hours = fields.Float(
        string="Service Hours",
        compute="_compute_credit_hours",
        store=True,
        readonly=False,
        help="Service hours per attendee; by default the event type's or the event's duration.",
    )
    credit_team_id = fields.Many2one(
        "credit.volunteer.team",
        string="Volunteer Team",
        help="The team that runs the event; its members' service counts for the team.",
    )
    credit_community_id = fields.Many2one(
        "credit.place",
        string="Open to Community",
        domain=[("place_type", "=", "community")],
        help="Only subjects of this community may register. Empty: everybody.",
    )
    credit_role_ids = fields.Many2many(
        "credit.subject.role",
        string="Open to Roles",
        help="Only subjects with one of these roles may register (e.g. volunteers, "
        "party members). Empty: every role.",
    )

    @api.depends("event_type_id")
    def _compute_credit_rule_id(self):
        for event in self:
            if event.event_type_id.credit_rule_id:
                event.credit_rule_id = event.event_type_id.credit_rule_id

    @api.depends("event_type_id", "date_begin", "date_end")
    def _compute_credit_hours(self):
        for event in self:
            hours = event.event_type_id.credit_hours
            if not hours and event.date_begin and event.date_end:
                hours = round((event.date_end - event.date_begin).total_seconds() / 3600, 2)
            event.credit_hours = hours

    @api.constrains("credit_hours")
    def _check_credit_hours(self):
        for event in self:
            if event.credit_hours < 0 or event.credit_hours > 24 * 31:
                raise ValidationError(
                    self.env._(
                        "Service hours of %(event)s must be between 0 and a month.",
                        event=event.name,
                    )
                )
