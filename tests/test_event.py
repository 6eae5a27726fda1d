from datetime import datetime, timedelta

from freezegun import freeze_time

import odoo
from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common import DAY, CreditCase

ORGANISER = "base.group_user,event.group_event_registration_desk"


@tagged("post_install", "-at_install")
class TestVolunteerEvents(CreditCase):
    """Points and hours on attendance, through Odoo's own registrations."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.organiser = new_test_user(cls.env, "t_organiser", groups=ORGANISER)
        cls.event = cls.env["event.event"].create(
            {
                "name": "楼道清洁日 Stairwell clean-up",
                "date_begin": datetime(2025, 3, 12, 1, 0),
                "date_end": datetime(2025, 3, 12, 4, 30),
                "credit_rule_id": cls.rule_clean.id,
            }
        )

    def setUp(self):
        super().setUp()
        frozen = freeze_time(DAY + timedelta(days=1))
        frozen.start()
        self.addCleanup(frozen.stop)

    def register(self, partner, event=None, user=None):
        return (
            self.env["event.registration"]
            .with_user(user or self.organiser)
            .create({"event_id": (event or self.event).id, "partner_id": partner.id})
        )

    def test_hours_come_from_the_duration(self):
        self.assertEqual(self.event.credit_hours, 3.5)
        self.assertEqual(self.event.credit_points, 2)

    def test_attendance_posts_once_and_undo_reverses(self):
        registration = self.register(self.res_a1)
        self.assertEqual(self.balance(self.res_a1), 0, "registering earns nothing")
        registration.with_user(self.organiser).action_set_done()
        self.assertEqual(self.balance(self.res_a1), 2)
        service = registration.sudo().credit_service_ids
        self.assertEqual(service.hours, 3.5)
        self.assertEqual(service.points, 2)
        self.assertEqual(service.date, DAY)
        self.assertEqual(service.ledger_line_id.origin, "event")
        # marking again posts nothing more
        registration.with_user(self.organiser).action_set_done()
        registration.sudo()._credit_post_attendance()
        self.assertEqual(self.balance(self.res_a1), 2)
        self.assertEqual(len(registration.sudo().credit_service_ids), 1)
        # un-marking reverses, and the record of the service is kept as cancelled
        registration.with_user(self.organiser).action_confirm()
        self.assertEqual(self.balance(self.res_a1), 0)
        self.assertEqual(service.state, "cancelled")
        self.assertEqual(service.ledger_line_id.state, "reversed")
        # attending after all posts again, once
        registration.with_user(self.organiser).action_set_done()
        self.assertEqual(self.balance(self.res_a1), 2)
        # cancelling the registration reverses too
        registration.with_user(self.organiser).action_cancel()
        self.assertEqual(self.balance(self.res_a1), 0)
        self.assertEqual(self.ledger_sum(self.res_a1), 0)
        states = registration.sudo().credit_service_ids.mapped("state")
        self.assertEqual(sorted(states), ["cancelled", "cancelled"])

    def test_organiser_marks_a_whole_list(self):
        role = self.env.ref("community_credit.role_resident")
        people = self.env["res.partner"].create(
            [
                {
                    "name": f"志愿者{i}",
                    "credit_role_ids": [Command.set(role.ids)],
                    "credit_place_id": self.building_b1.id,
                }
                for i in range(30)
            ]
        )
        registrations = (
            self.env["event.registration"]
            .with_user(self.organiser)
            .create([{"event_id": self.event.id, "partner_id": p.id} for p in people])
        )
        registrations.action_credit_mark_attended()
        self.assertEqual(set(registrations.mapped("state")), {"done"})
        self.env.flush_all()
        self.env.cr.execute(
            "SELECT COUNT(*), SUM(points) FROM credit_ledger_line WHERE partner_id = ANY(%s)",
            [people.ids],
        )
        self.assertEqual(self.env.cr.fetchone(), (30, 60))

    def test_rule_caps_apply_to_events(self):
        # rule_help: 3 points, at most 9 a month
        events = self.env["event.event"].create(
            [
                {
                    "name": f"Visit {n}",
                    "date_begin": datetime(2025, 3, 1 + n, 1, 0),
                    "date_end": datetime(2025, 3, 1 + n, 2, 0),
                    "credit_rule_id": self.rule_help.id,
                }
                for n in range(4)
            ]
        )
        registrations = [self.register(self.res_a1, event) for event in events]
        for registration in registrations[:3]:
            registration.action_set_done()
        with self.assertRaisesRegex(UserError, "Cap reached"):
            registrations[3].action_set_done()
        self.assertEqual(self.balance(self.res_a1), 9)

    def test_eligibility_and_double_registration(self):
        self.event.write(
            {
                "credit_community_id": self.community.id,
                "credit_role_ids": [
                    Command.set(self.env.ref("community_credit.role_volunteer").ids)
                ],
            }
        )
        # (a refused registration is rolled back with its request: a savepoint here)
        with self.assertRaisesRegex(ValidationError, "Test Community"), self.env.cr.savepoint():
            self.register(self.res_nd)
        with self.assertRaisesRegex(ValidationError, "open to"), self.env.cr.savepoint():
            self.register(self.res_a1)
        self.res_a1.credit_role_ids |= self.env.ref("community_credit.role_volunteer")
        self.register(self.res_a1)
        with self.assertRaisesRegex(ValidationError, "already registered"), self.env.cr.savepoint():
            self.register(self.res_a1)

    def test_events_without_rule_are_untouched(self):
        event = self.env["event.event"].create(
            {
                "name": "Plain event",
                "date_begin": datetime(2025, 3, 12, 1, 0),
                "date_end": datetime(2025, 3, 12, 2, 0),
            }
        )
        registration = self.env["event.registration"].create(
            {"event_id": event.id, "name": "Guest without contact"}
        )
        registration.action_set_done()
        self.assertFalse(registration.credit_service_ids)

    def test_volunteer_sees_only_their_service(self):
        first = self.register(self.res_a1)
        other = self.register(self.res_b1)
        (first | other).action_set_done()
        Service = self.env["credit.volunteer.service"]
        mine = Service.with_user(self.user_resident).search([])
        self.assertEqual(mine.partner_id, self.res_a1)
        self.assertEqual(sum(mine.mapped("hours")), 3.5)
        with self.assertRaises(AccessError):
            other.sudo().credit_service_ids.with_user(self.user_resident).read(["hours"])
        # nobody edits a service record
        with self.assertRaises(AccessError):
            mine.with_user(self.user_manager).write({"hours": 10})
        # the grid worker of estate A sees the service of estate A only
        seen = Service.with_user(self.user_grid).search([])
        self.assertEqual(seen.partner_id, self.res_a1)

    def test_a_resident_cannot_mark_attendance(self):
        registration = self.register(self.res_a1)
        with self.assertRaises(AccessError):
            registration.with_user(self.user_resident).action_set_done()
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_team_adds_up_its_events(self):
        team = (
            self.env["credit.volunteer.team"]
            .with_user(self.user_manager)
            .create(
                {
                    "name": "安心敲门志愿服务队",
                    "community_id": self.community.id,
                    "member_ids": [Command.set((self.res_a1 | self.res_a2).ids)],
                    "leader_id": self.res_a1.id,
                }
            )
        )
        self.event.credit_team_id = team
        (self.register(self.res_a1) | self.register(self.res_a2)).action_set_done()
        team.invalidate_recordset()
        self.assertEqual(team.service_count, 2)
        self.assertEqual(team.service_hours, 7.0)
        self.assertEqual(team.service_points, 4)
        with self.assertRaisesRegex(ValidationError, "must be one of its members"):
            team.leader_id = self.res_b1

    def test_party_member_yearly_duty(self):
        party = self.env.ref("community_credit.role_party_member")
        self.assertEqual((party.duty_services_year, party.duty_points_year), (12, 5))
        self.res_b1.credit_role_ids |= party
        self.register(self.res_b1).action_set_done()
        partner = self.res_b1.with_user(self.user_manager)
        self.assertEqual(partner.credit_services_year, 1)
        self.assertEqual(partner.credit_hours_year, 3.5)
        self.assertEqual(partner.credit_duty_progress, "1 / 12 services, 2 / 5 points")
        self.assertFalse(partner.credit_duty_met)
        # a resident without a duty shows none
        self.assertFalse(self.res_a2.with_user(self.user_manager).credit_duty_progress)

    def test_service_certificate(self):
        self.register(self.res_a1).action_set_done()
        report = self.env["ir.actions.report"].with_user(self.user_manager)
        html, _kind = report._render_qweb_html(
            "community_credit.action_report_volunteer_certificate", self.res_a1.ids
        )
        html = html.decode()
        self.assertIn("张三", html)
        self.assertIn("楼道清洁日 Stairwell clean-up", html)
        self.assertIn("3.5", html)
        # only credit staff (and the volunteer) print certificates
        with self.assertRaisesRegex(AccessError, "Only credit staff and the volunteer"):
            self.res_b1.with_user(self.organiser)._credit_certificate_services()
        # grid workers, of the volunteers of their places
        self.register(self.res_b1).action_set_done()
        with self.assertRaisesRegex(AccessError, "do not live in the places you look after"):
            self.res_b1.with_user(self.user_grid)._credit_certificate_services()
        services = self.res_a1.with_user(self.user_grid)._credit_certificate_services()
        self.assertEqual(services.event_id, self.event)

    def test_barcode_check_in_posts_points_once(self):
        ongoing = self.env["event.event"].create(
            {
                "name": "Evening patrol",
                "date_begin": datetime(2025, 3, 12, 23, 0),
                "date_end": datetime(2025, 3, 13, 3, 0),
                "credit_rule_id": self.rule_clean.id,
            }
        )
        registration = self.register(self.res_a1, ongoing)
        Registration = self.env["event.registration"].with_user(self.organiser)
        result = Registration.register_attendee(registration.barcode, ongoing.id)
        self.assertEqual(result["status"], "confirmed_registration")
        self.assertEqual(self.balance(self.res_a1), 2)
        result = Registration.register_attendee(registration.barcode, ongoing.id)
        self.assertEqual(result["status"], "already_registered")
        self.assertEqual(self.balance(self.res_a1), 2)
        self.assertEqual(registration.sudo().credit_service_ids.hours, 4.0)

    def test_seats_are_odoo_seats(self):
        self.event.write({"seats_limited": True, "seats_max": 1})
        self.register(self.res_a1)
        with self.assertRaises(ValidationError), self.env.cr.savepoint():
            self.register(self.res_a2)


EVENTS_USER = "base.group_user,event.group_event_user"


@tagged("post_install", "-at_install")
class TestEventRuleSetter(CreditCase):
    """The points an event awards are set by someone who may grant them, checked
    when they set them, and posted as granted by them: an Events user cannot put
    a rule on an event and mark attendance to grant what they may not."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.events_user = new_test_user(cls.env, "t_events", groups=EVENTS_USER)
        cls.organiser = new_test_user(cls.env, "t_organiser", groups=ORGANISER)
        # a reviewer of the community who also runs events; a grid worker of estate A too
        cls.reviewer_events = new_test_user(
            cls.env,
            "t_reviewer_events",
            groups=f"{EVENTS_USER},community_credit.group_credit_reviewer",
        )
        cls.reviewer_events.credit_place_ids = cls.community
        cls.grid_events = new_test_user(
            cls.env,
            "t_grid_events",
            groups=f"{EVENTS_USER},community_credit.group_credit_grid_worker",
        )
        cls.grid_events.credit_place_ids = cls.estate_a
        cls.event = cls.env["event.event"].create(
            {
                "name": "Plain meeting",
                "date_begin": datetime(2025, 3, 12, 1, 0),
                "date_end": datetime(2025, 3, 12, 3, 0),
                "credit_community_id": cls.community.id,
            }
        )

    def setUp(self):
        super().setUp()
        frozen = freeze_time(DAY + timedelta(days=1))
        frozen.start()
        self.addCleanup(frozen.stop)

    def rpc(self, user, records, method, *args):
        env = records.with_user(user).with_context(credit_posting=True, credit_claim_workflow=True)
        return odoo.api.call_kw(env.browse(), method, [records.ids, *args], {})

    def attend(self, partner, event=None):
        registration = (
            self.env["event.registration"]
            .with_user(self.organiser)
            .create({"event_id": (event or self.event).id, "partner_id": partner.id})
        )
        registration.action_credit_mark_attended()
        return registration

    def test_events_user_cannot_put_a_rule_on_an_event(self):
        with self.assertRaisesRegex(AccessError, "Only credit staff"):
            self.rpc(self.events_user, self.event, "write", {"credit_rule_id": self.rule_help.id})
        self.assertFalse(self.event.credit_rule_id)
        with self.assertRaisesRegex(AccessError, "Only credit staff"):
            self.env["event.event"].with_user(self.events_user).create(
                {
                    "name": "Self-made points",
                    "date_begin": datetime(2025, 3, 12, 1, 0),
                    "date_end": datetime(2025, 3, 12, 2, 0),
                    "credit_rule_id": self.rule_help.id,
                }
            )
        self.assertFalse(self.env["event.event"].search([("name", "=", "Self-made points")]))
        # attendance of the event as it is posts nothing
        self.attend(self.res_a1)
        self.assertEqual(self.balance(self.res_a1), 0)

    def test_the_setter_is_recorded_and_grants(self):
        self.rpc(self.reviewer_events, self.event, "write", {"credit_rule_id": self.rule_help.id})
        self.assertEqual(self.event.credit_rule_set_by_id, self.reviewer_events)
        registration = self.attend(self.res_a1)
        line = registration.sudo().credit_service_ids.ledger_line_id
        self.assertEqual(line.points, 3)
        self.assertEqual(line.granted_by_id, self.reviewer_events, "not the organiser")
        self.assertEqual(self.balance(self.res_a1), 3)

    def test_setter_field_is_never_given_by_hand(self):
        self.rpc(self.reviewer_events, self.event, "write", {"credit_rule_id": self.rule_help.id})
        for user in (self.events_user, self.reviewer_events, self.user_manager):
            with self.assertRaisesRegex(AccessError, "never by hand"):
                self.rpc(user, self.event, "write", {"credit_rule_set_by_id": user.id})
        self.assertEqual(self.event.credit_rule_set_by_id, self.reviewer_events)
        event = (
            self.env["event.event"]
            .with_user(self.events_user)
            .with_context(default_credit_rule_set_by_id=self.user_manager.id)
            .create(
                {
                    "name": "Forged default",
                    "date_begin": datetime(2025, 3, 12, 1, 0),
                    "date_end": datetime(2025, 3, 12, 2, 0),
                }
            )
        )
        self.assertFalse(event.credit_rule_set_by_id)

    def test_grid_worker_sets_points_of_their_community_only(self):
        # estate A is not the whole community: the event is open to all of it
        with self.assertRaisesRegex(AccessError, "not open to a community you look after"):
            self.rpc(self.grid_events, self.event, "write", {"credit_rule_id": self.rule_help.id})
        event = self.env["event.event"].create(
            {
                "name": "Other community's clean-up",
                "date_begin": datetime(2025, 3, 12, 1, 0),
                "date_end": datetime(2025, 3, 12, 2, 0),
                "credit_community_id": self.community_nd.id,
            }
        )
        with self.assertRaisesRegex(AccessError, "not open to a community you look after"):
            self.rpc(self.reviewer_events, event, "write", {"credit_rule_id": self.rule_help.id})
        # nor may an event set by the council be moved to another community
        self.event.credit_rule_id = self.rule_help
        with self.assertRaisesRegex(AccessError, "not open to a community you look after"):
            self.rpc(self.reviewer_events, self.event, "write", {"credit_community_id": False})
        self.assertEqual(self.event.credit_community_id, self.community)
        self.assertFalse(event.credit_rule_id)

    def test_reserved_rule_is_the_reserved_group_s(self):
        self.rule_help.granter_group_ids = self.env.ref("community_credit.group_credit_manager")
        with self.assertRaisesRegex(AccessError, "reserved"):
            self.rpc(
                self.reviewer_events, self.event, "write", {"credit_rule_id": self.rule_help.id}
            )
        self.assertFalse(self.event.credit_rule_id)
        # set while the reviewer could grant it, reserved since: attendance posts nothing
        self.rule_help.granter_group_ids = False
        self.rpc(self.reviewer_events, self.event, "write", {"credit_rule_id": self.rule_help.id})
        self.rule_help.granter_group_ids = self.env.ref("community_credit.group_credit_manager")
        with self.assertRaisesRegex(AccessError, "reserved"):
            self.attend(self.res_a1)
        self.assertEqual(self.ledger_sum(self.res_a1), 0)

    def test_hours_are_the_setter_s_too(self):
        self.event.credit_rule_id = self.rule_help  # by the council (the test's superuser)
        self.assertEqual(self.event.credit_hours, 2.0)
        with self.assertRaisesRegex(AccessError, "Only credit staff"):
            self.rpc(self.events_user, self.event, "write", {"credit_hours": 500})
        # stretching the event to a month is setting its hours
        with self.assertRaisesRegex(AccessError, "Only credit staff"):
            self.rpc(
                self.events_user, self.event, "write", {"date_end": datetime(2025, 4, 11, 3, 0)}
            )
        self.assertEqual(self.event.credit_hours, 2.0)
        # moving it, same length, is the organiser's to do
        self.rpc(
            self.events_user,
            self.event,
            "write",
            {"date_begin": datetime(2025, 3, 11, 1, 0), "date_end": datetime(2025, 3, 11, 3, 0)},
        )
        self.assertEqual(self.event.credit_hours, 2.0)
        self.assertEqual(self.event.credit_rule_set_by_id.id, odoo.SUPERUSER_ID)

    def test_event_type_rule_is_the_council_s(self):
        manager_events = new_test_user(
            self.env, "t_event_manager", groups="base.group_user,event.group_event_manager"
        )
        Type = self.env["event.type"]
        with self.assertRaisesRegex(AccessError, "Only credit staff"):
            Type.with_user(manager_events).create(
                {"name": "Patrols", "credit_rule_id": self.rule_help.id}
            )
        kind = Type.create({"name": "Patrols"})
        with self.assertRaisesRegex(AccessError, "Only credit staff"):
            self.rpc(manager_events, kind, "write", {"credit_rule_id": self.rule_help.id})
        council = new_test_user(
            self.env,
            "t_council_events",
            groups="base.group_user,event.group_event_manager,community_credit.group_credit_manager",
        )
        self.rpc(council, kind, "write", {"credit_rule_id": self.rule_help.id})
        self.assertEqual(kind.credit_rule_set_by_id, council)
        with self.assertRaisesRegex(AccessError, "never by hand"):
            self.rpc(council, kind, "write", {"credit_rule_set_by_id": manager_events.id})
        self.assertEqual(kind.credit_rule_set_by_id, council)
        # an Events user who picks a type with points sets its points
        with self.assertRaisesRegex(AccessError, "Only credit staff"):
            self.rpc(self.events_user, self.event, "write", {"event_type_id": kind.id})
        self.assertFalse(self.event.credit_rule_id)

    def test_marking_attendance_is_for_organisers(self):
        registration = self.env["event.registration"].create(
            {"event_id": self.event.id, "partner_id": self.res_a1.id}
        )
        for user in (self.user_finance, self.user_resident):
            with self.assertRaisesRegex(AccessError, "Only event organisers and credit staff"):
                self.rpc(user, registration, "action_credit_mark_attended")
        self.assertEqual(registration.state, "open")
        with self.assertRaisesRegex(AccessError, "never by hand"):
            self.rpc(
                self.organiser, registration, "write", {"credit_service_ids": [Command.clear()]}
            )
