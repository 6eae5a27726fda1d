from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL


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
        registrations = super().create(vals_list)
        registrations.filtered(lambda r: r.state == "done")._credit_post_attendance()
        return registrations

    def write(self, vals):
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

    def _credit_post_attendance(self):
        """Points and hours for attendees just marked attended, once per marking:
        marking again posts nothing, and attending again after an undo posts anew."""
        registrations = self.filtered(lambda r: r.event_id.credit_rule_id)
        if not registrations:
            return
        # the organiser marks attendance: the right to change the registration is
        # the right to award its points; sudo to read subjects and post
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
        vals_list = []
        for registration in registrations:
            event = registration.event_id
            day = fields.Date.context_today(self, event.date_begin)
            vals_list.append(
                {
                    "partner_id": registration.partner_id.id,
                    "rule_id": event.credit_rule_id.id,
                    "date": min(day, today),
                    "origin": "event",
                    "origin_ref": f"event.registration,{registration.id}",
                    "idempotency_key": (f"event:{registration.id}:{undone.get(registration, 0)}"),
                    "description": event.name,
                }
            )
        lines = self.env["credit.ledger.line"].sudo()._post(vals_list, check_rights=False)
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
                for registration, line in zip(registrations, lines, strict=True)
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
        """Organisers mark a whole list attended at once."""
        self.filtered(lambda r: r.state in ("draft", "open")).action_set_done()
        return True

    def credit_portal_cancel(self):
        """A resident cancels their own sign-up before the event starts."""
        self.ensure_one()
        registration = self.sudo()  # residents read their own registration only through this
        if registration.partner_id != self.env.user.partner_id:
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
