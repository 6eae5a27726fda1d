from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL

from .event_event import GRID


class EventRegistration(models.Model):
    _inherit = "event.registration"

    credit_service_ids = fields.One2many(
        "credit.volunteer.service", "registration_id", string="Volunteer Service"
    )

    @api.constrains("partner_id", "event_id", "state")
    def _check_credit_eligibility(self):
        for registration in self.filtered(lambda r: r.state != "cancel"):
            # sudo: organisers may not read places and roles
            event = registration.event_id.sudo()
            if not (event.credit_rule_id or event.credit_community_id or event.credit_role_ids):
                continue
            partner = registration.partner_id.sudo()  # the organiser may not read subjects
            if not partner:
                raise ValidationError(
                    self.env._(
                        "%(event)s awards credit points: choose the volunteer's contact.",
                        event=event.name,
                    )
                )
            community = event.credit_community_id
            if community and partner.credit_community_id != community:
                raise ValidationError(
                    self.env._(
                        "%(event)s is open to residents of %(community)s only; %(person)s "
                        "is not one of them.",
                        event=event.name,
                        community=community.display_name,
                        person=partner.name,
                    )
                )
            if event.credit_role_ids and not (event.credit_role_ids & partner.credit_role_ids):
                raise ValidationError(
                    self.env._(
                        "%(event)s is open to %(roles)s only.",
                        event=event.name,
                        roles=", ".join(event.credit_role_ids.mapped("name")),
                    )
                )
            twice = self.sudo().search_count(
                [
                    ("event_id", "=", event.id),
                    ("partner_id", "=", partner.id),
                    ("state", "!=", "cancel"),
                    ("id", "!=", registration.id),
                ],
                limit=1,
            )
            if twice:
                raise ValidationError(
                    self.env._(
                        "%(person)s is already registered for %(event)s.",
                        person=partner.name,
                        event=event.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        self._credit_refuse_services(vals_list)
        registrations = super().create(vals_list)
        registrations.filtered(lambda r: r.state == "done")._credit_post_attendance()
        return registrations

    def write(self, vals):
        self._credit_refuse_services([vals])
        if "state" not in vals:
            return super().write(vals)
        before = {registration.id: registration.state for registration in self}
        result = super().write(vals)
        credit = self.filtered(lambda r: r.event_id.credit_rule_id)
        credit.filtered(
            lambda r: r.state == "done" and before[r.id] != "done"
        )._credit_post_attendance()
        credit.filtered(
            lambda r: r.state != "done" and before[r.id] == "done"
        )._credit_reverse_attendance()
        return result

    @api.model
    def _credit_refuse_services(self, vals_list):
        """Service records come from attendance only, never from a registration's
        values."""
        if self.env.su or not any("credit_service_ids" in vals for vals in vals_list):
            return
        raise AccessError(
            self.env._(
                "%(fields)s of %(model)s change only through the workflow (its "
                "buttons), never by hand.",
                fields=self._fields["credit_service_ids"].string,
                model=self._description,
            )
        )

    def _credit_post_attendance(self):
        """Points and hours for attendees just marked attended, once per marking:
        marking again posts nothing, and attending again after an undo posts anew."""
        registrations = self.filtered(lambda r: r.event_id.credit_rule_id)
        if not registrations:
            return
        # the organiser marks attendance: they must be allowed to change the
        # registration; sudo to read the subjects and the services
        registrations.check_access("write")
        registrations = registrations.sudo().filtered(
            lambda r: not r.credit_service_ids.filtered(lambda s: s.state == "done")
        )
        if not registrations:
            return
        Service = self.env["credit.volunteer.service"].sudo()
        # the n-th attendance after n undos gets its own key
        undone = dict(
            Service._read_group(
                [("registration_id", "in", registrations.ids), ("state", "=", "cancelled")],
                ["registration_id"],
                ["__count"],
            )
        )
        today = fields.Date.context_today(self)
        # Whoever set an event's rule was checked then (event_event.py): the points
        # are theirs to grant, posted as granted by them and with their rights as
        # they are now (the rule's granter groups, their places). Marking attendance
        # adds nothing of the organiser's own rights. Events whose setter was never
        # recorded (set before it was) post with the organiser's own rights.
        posted = []
        Ledger = self.env["credit.ledger.line"]
        for setter, batch in registrations.grouped(
            lambda r: r.event_id.credit_rule_set_by_id
        ).items():
            vals_list = []
            for registration in batch:
                event = registration.event_id
                day = fields.Date.context_today(self, event.date_begin)
                vals_list.append(
                    {
                        "partner_id": registration.partner_id.id,
                        "rule_id": event.credit_rule_id.id,
                        "date": min(day, today),
                        "origin": "event",
                        "origin_ref": f"event.registration,{registration.id}",
                        "idempotency_key": (
                            f"event:{registration.id}:{undone.get(registration, 0)}"
                        ),
                        "description": event.name,
                    }
                )
            # sudo: to read the subjects and rules; _post checks the setter's rights
            granter = Ledger.with_user(setter or self.env.user).sudo()
            posted += zip(batch, granter._post(vals_list), strict=True)
        lines = Ledger.sudo().browse([line.id for _registration, line in posted])
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "SELECT ledger_line_id FROM credit_volunteer_service "
                "WHERE ledger_line_id = ANY(%s)",
                lines.ids,
            )
        )
        recorded = {row[0] for row in self.env.cr.fetchall()}
        Service.create(
            [
                {
                    "registration_id": registration.id,
                    "event_id": registration.event_id.id,
                    "partner_id": registration.partner_id.id,
                    "date": line.date,
                    "hours": registration.event_id.credit_hours,
                    "team_id": registration.event_id.credit_team_id.id,
                    "ledger_line_id": line.id,
                    "community_id": line.community_id.id,
                    "company_id": line.company_id.id,
                }
                for registration, line in posted
                if line.id not in recorded
            ]
        )

    def _credit_reverse_attendance(self):
        """Attendance undone or registration cancelled: reverse the points, keep
        the service record as cancelled."""
        if not self:
            return
        self.check_access("write")
        services = self.sudo().credit_service_ids.filtered(lambda s: s.state == "done")
        lines = services.ledger_line_id.filtered(lambda ln: ln.state == "posted")
        if lines:
            lines._reverse(self.env._("Attendance undone or registration cancelled."))
        services.write({"state": "cancelled"})

    def action_credit_mark_attended(self):
        """Organisers mark a whole list attended at once: Events users (the
        registration desk and above) and credit staff, on registrations they may
        change. The points post as granted by whoever set each event's rule."""
        user = self.env.user
        if not (
            self.env.su
            or user.has_group("event.group_event_registration_desk")
            or user.has_group(GRID)
        ):
            raise AccessError(
                self.env._("Only event organisers and credit staff may mark attendance.")
            )
        self.check_access("write")
        self.filtered(lambda r: r.state in ("draft", "open")).action_set_done()
        return True

    def _credit_portal_cancel(self):
        """A resident cancels their own sign-up before the event starts."""
        self.ensure_one()
        registration = self.sudo().exists()  # residents read their own registration only here
        if not registration or registration.partner_id != self.env.user.partner_id:
            raise AccessError(self.env._("You can only cancel your own sign-up."))
        if registration.state == "cancel":
            return True
        if (
            registration.state == "done"
            or registration.event_id.date_begin <= fields.Datetime.now()
        ):
            raise UserError(
                self.env._(
                    "%(event)s has started: ask the organiser to change your sign-up.",
                    event=registration.event_id.name,
                )
            )
        registration.action_cancel()
        return True
