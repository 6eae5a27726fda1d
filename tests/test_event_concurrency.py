"""Two organisers mark the same attendee at the same instant, on two real
database connections: the points post once."""

from datetime import datetime

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase


@tagged("post_install", "-at_install", "cc_slow")
class TestConcurrentAttendance(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {"name": "Attendance Concurrency", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Attendance Concurrency"})
            rule = env["credit.rule"].create(
                {
                    "code": "ACC1",
                    "name": "Patrol",
                    "category_id": category.id,
                    "points": 2,
                    "community_id": community.id,
                }
            )
            partner = env["res.partner"].create(
                {
                    "name": "Concurrent volunteer",
                    "credit_place_id": community.id,
                    "credit_role_ids": [
                        Command.set(env.ref("community_credit.role_volunteer").ids)
                    ],
                }
            )
            users = env["res.users"].create(
                [
                    {
                        "name": f"Concurrent organiser {i}",
                        "login": f"acc_organiser_{i}",
                        "groups_id": [
                            Command.set(
                                [
                                    env.ref("base.group_user").id,
                                    env.ref("event.group_event_registration_desk").id,
                                ]
                            )
                        ],
                    }
                    for i in range(2)
                ]
            )
            event = env["event.event"].create(
                {
                    "name": "Concurrent patrol",
                    "date_begin": datetime(2025, 3, 12, 1, 0),
                    "date_end": datetime(2025, 3, 12, 3, 0),
                    "credit_rule_id": rule.id,
                }
            )
            registration = env["event.registration"].create(
                {"event_id": event.id, "partner_id": partner.id}
            )
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rule": rule.id,
                "partner": partner.id,
                "users": users.ids,
                "event": event.id,
                "registration": registration.id,
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute("DELETE FROM credit_volunteer_service WHERE event_id = %s", [ids["event"]])
            cr.execute("DELETE FROM credit_ledger_line WHERE partner_id = %s", [ids["partner"]])
            cr.execute("DELETE FROM credit_balance WHERE partner_id = %s", [ids["partner"]])
            cr.execute("DELETE FROM event_registration WHERE event_id = %s", [ids["event"]])
            cr.execute("DELETE FROM event_event WHERE id = %s", [ids["event"]])
            cr.execute("SELECT partner_id FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            user_partners = [row[0] for row in cr.fetchall()]
            cr.execute("DELETE FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            cr.execute(
                "DELETE FROM res_partner WHERE id = ANY(%s)", [[*user_partners, ids["partner"]]]
            )
            cr.execute("DELETE FROM credit_rule WHERE id = %s", [ids["rule"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    @mute_logger("odoo.sql_db")
    def test_same_attendee_marked_twice_at_once(self):
        def mark(env, _index):
            env["event.registration"].browse(self.ids["registration"]).action_set_done()
            return True

        outcomes = self.run_pair(mark)
        # both requests succeed (the second, retried, finds the attendee marked)
        self.assertEqual([o[0] for o in outcomes], ["ok", "ok"], outcomes)
        with self.cursor() as cr:
            cr.execute(
                "SELECT COUNT(*), SUM(points) FROM credit_ledger_line WHERE partner_id = %s",
                [self.ids["partner"]],
            )
            self.assertEqual(cr.fetchone(), (1, 2))
            cr.execute(
                "SELECT COUNT(*) FROM credit_volunteer_service WHERE event_id = %s",
                [self.ids["event"]],
            )
            self.assertEqual(cr.fetchone()[0], 1)
            cr.execute(
                "SELECT balance FROM credit_balance WHERE partner_id = %s", [self.ids["partner"]]
            )
            self.assertEqual(cr.fetchone()[0], 2)
