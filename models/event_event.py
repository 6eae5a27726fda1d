from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

GRID = "community_credit.group_credit_grid_worker"
MANAGER = "community_credit.group_credit_manager"
# what an attendance posts: the rule (points), the hours, the community it is open to
CREDIT_CONFIG = ("credit_rule_id", "credit_hours", "credit_community_id")
# what a write may change them through (the type's rule and hours, the duration)
CONFIG_TRIGGERS = frozenset({*CREDIT_CONFIG, "event_type_id", "date_begin", "date_end"})
SET_BY = "credit_rule_set_by_id"


def refuse_set_by(records, vals_list):
    """Who set the rule is recorded by the server: never given by hand."""
    if records.env.su or not any(SET_BY in vals for vals in vals_list):
        return
    raise AccessError(
        records.env._(
            "%(fields)s of %(model)s change only through the workflow (its "
            "buttons), never by hand.",
            fields=records._fields[SET_BY].string,
            model=records._description,
        )
    )


def without_set_by_default(records):
    """`records` without a forged default_credit_rule_set_by_id context key."""
    key = f"default_{SET_BY}"
    if records.env.su or key not in records.env.context:
        return records
    # the same context less the forged default (companies, language... stay)
    context = {k: v for k, v in records.env.context.items() if k != key}
    return records.with_context(context)  # pylint: disable=context-overridden


def check_rule_setter(env, rule, community=None, label=""):
    """May the current user make attendance (of an event, or of the events of a
    type: no `community`) earn points under `rule`? They must be credit staff
    who may grant it: its granter groups, and, except the council, `community`
    must be one of the places they look after. An event type serves every
    community: the council's only."""
    user = env.user
    is_manager = user.has_group(MANAGER)
    if not (is_manager or user.has_group(GRID)):
        raise AccessError(
            env._(
                "Only credit staff may choose the points and hours that attending %(event)s earns.",
                event=label,
            )
        )
    if rule.points <= 0:
        raise ValidationError(
            env._(
                "Attending %(event)s can only earn points: choose a rule that adds points.",
                event=label,
            )
        )
    if rule.granter_group_ids and not (rule.granter_group_ids & user.groups_id):
        raise AccessError(
            env._(
                "You may not grant rule %(rule)s: it is reserved for %(groups)s.",
                rule=rule.display_name,
                groups=", ".join(rule.granter_group_ids.mapped("name")),
            )
        )
    if is_manager:
        return
    if community is None or not community._is_within(user.credit_place_ids):
        raise AccessError(
            env._(
                "%(event)s is not open to a community you look after: only the council "
                "may choose what attending it earns.",
                event=label,
            )
        )


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
    credit_hours_display = fields.Char(
        string="Service Hours per Attendee",
        compute="_compute_credit_hours_display",
        help="The service hours with their unit, as lists show them (e.g. 3 hours).",
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
    credit_rule_set_by_id = fields.Many2one(
        "res.users",
        string="Points Set By",
        readonly=True,
        copy=False,
        help="Who last chose the rule, hours or community of this event, checked then: "
        "attendance posts its points as granted by them.",
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

    @api.depends("credit_hours")
    @api.depends_context("lang")
    def _compute_credit_hours_display(self):
        for event in self:
            # 3 -> "3", 2.5 -> "2.5" (formatted apart: the term is the message alone)
            hours = f"{event.credit_hours:g}"
            event.credit_hours_display = (
                self.env._("%(hours)s hours", hours=hours) if event.credit_hours else False
            )

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

    # ----------------------------------------------------------------- CRUD
    @api.model_create_multi
    def create(self, vals_list):
        refuse_set_by(self, vals_list)
        events = without_set_by_default(self)
        if self.env.su:
            records = super(EventEvent, events).create(vals_list)
            records._credit_record_setter()
            return records
        # a refused configuration leaves nothing behind, for callers that go on
        with self.env.cr.savepoint():
            records = super(EventEvent, events).create(vals_list)
            records._credit_check_setter()
            records._credit_record_setter()
        return records

    def write(self, vals):
        refuse_set_by(self, [vals])
        if not CONFIG_TRIGGERS & set(vals):
            return super().write(vals)
        before = self._credit_config()
        if self.env.su:
            result = super().write(vals)
            self._credit_changed(before)._credit_record_setter()
            return result
        with self.env.cr.savepoint():
            result = super().write(vals)
            changed = self._credit_changed(before)
            changed._credit_check_setter()
            changed._credit_record_setter()
        return result

    def _credit_config(self):
        # sudo: the configuration as it is, whoever may read rules and places
        return {event.id: tuple(event.sudo()[name] for name in CREDIT_CONFIG) for event in self}

    def _credit_changed(self, before):
        after = self._credit_config()
        return self.filtered(lambda event: after[event.id] != before[event.id])

    def _credit_check_setter(self):
        """The user may choose what attending these events earns (see
        check_rule_setter), or nothing of it changes."""
        for event in self.sudo().filtered("credit_rule_id"):
            check_rule_setter(self.env, event.credit_rule_id, event.credit_community_id, event.name)

    def _credit_record_setter(self):
        """Record the user as who set the rule, hours and community (checked
        before, or server code): attendance posts as granted by them."""
        events = self.sudo().filtered("credit_rule_id")
        if events:
            events.write({SET_BY: self.env.uid})

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
    def _credit_portal_register(self, event_id):
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
