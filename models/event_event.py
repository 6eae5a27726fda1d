from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL


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

    # --------------------------------------------------------------- portal
    @api.model
    def _credit_portal_events(self, partner, event_id=None):
        """Upcoming volunteer events a resident may join: events that award
        points, not ended or cancelled, of their community (or open to every
        community of the company) and open to one of their roles."""
        partner = partner.sudo()  # residents read neither events nor places
        community = partner.credit_community_id
        if not community:
            return self.browse()
        domain = [
            ("credit_rule_id", "!=", False),
            ("date_end", ">=", fields.Datetime.now()),
            ("stage_id.pipe_end", "=", False),
            ("company_id", "in", [community.company_id.id, False]),
            "|",
            ("credit_community_id", "=", community.id),
            ("credit_community_id", "=", False),
        ]
        if event_id is not None:
            domain.append(("id", "=", event_id))
        events = self.sudo().search(domain, order="date_begin, id")
        return events.filtered(
            lambda e: not e.credit_role_ids or e.credit_role_ids & partner.credit_role_ids
        )

    @api.model
    def credit_portal_register(self, event_id):
        """The current user signs up for a volunteer event. Sign-ups for one
        event are serialised, so the last seat and a double click give one
        registration. Returns the registration."""
        partner = self.env.user.partner_id
        event = self._credit_portal_events(partner, event_id=event_id)
        if not event:
            raise UserError(self.env._("This event is not open to you, or it is over."))
        # A no-op update of the event row: a second sign-up running at the same
        # time waits here and then fails to serialise, so Odoo retries it on a
        # fresh snapshot that sees this one's registration and seats.
        self.env.cr.execute(
            SQL("UPDATE event_event SET write_date = write_date WHERE id = %s", event.id)
        )
        Registration = self.env["event.registration"].sudo()
        mine = Registration.search(
            [
                ("event_id", "=", event.id),
                ("partner_id", "=", partner.id),
                ("state", "!=", "cancel"),
            ],
            limit=1,
        )
        if mine:
            raise UserError(
                self.env._("You are already signed up for %(event)s.", event=event.name)
            )
        if not event.event_registrations_open:
            raise UserError(
                self.env._(
                    "Sign-up for %(event)s is closed: it is full or no longer taking volunteers.",
                    event=event.name,
                )
            )
        # sudo: residents cannot create registrations; who and which event are checked
        # above, as are the seats and the eligibility that the constraints check again
        registration = Registration.create(
            {
                "event_id": event.id,
                "partner_id": partner.id,
                "name": partner.name,
                "email": partner.email,
                "phone": partner.phone,
            }
        )
        return registration.with_env(self.env)
