"""Two residents take the last seat of a volunteer event from their phones at
the same instant, on two real database connections: one gets the seat, the
other a clear message, and the event is never overbooked."""

from datetime import timedelta

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase


@tagged("post_install", "-at_install")
class TestConcurrentLastSeat(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {"name": "Seat Concurrency", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Seat Concurrency"})
            rule = env["credit.rule"].create(
                {
                    "code": "SCC1",
                    "name": "Tree planting",
                    "category_id": category.id,
                    "points": 3,
                    "community_id": community.id,
                }
            )
            users = env["res.users"].create(
                [
                    {
                        "name": f"Seat resident {i}",
                        "login": f"scc_resident_{i}",
                        "groups_id": [
                            Command.set(
                                [
                                    env.ref("base.group_portal").id,
                                    env.ref("community_credit.group_credit_resident").id,
                                ]
                            )
                        ],
                    }
                    for i in range(2)
                ]
            )
            users.partner_id.write(
                {
                    "credit_place_id": community.id,
                    "credit_role_ids": [Command.set(env.ref("community_credit.role_resident").ids)],
                }
            )
            start = fields.Datetime.now() + timedelta(days=3)
            event = env["event.event"].create(
                {
                    "name": "Tree planting, one seat",
                    "date_begin": start,
                    "date_end": start + timedelta(hours=2),
                    "credit_rule_id": rule.id,
                    "credit_community_id": community.id,
                    "seats_limited": True,
                    "seats_max": 1,
                }
            )
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rule": rule.id,
                "users": users.ids,
                "partners": users.partner_id.ids,
                "event": event.id,
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:
            cr.execute("DELETE FROM event_registration WHERE event_id = %s", [ids["event"]])
            cr.execute("DELETE FROM event_event WHERE id = %s", [ids["event"]])
            cr.execute("DELETE FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [ids["partners"]])
            cr.execute("DELETE FROM credit_rule WHERE id = %s", [ids["rule"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        with self.cursor() as cr:  # every test starts with the one seat free
            cr.execute("DELETE FROM event_registration WHERE event_id = %s", [self.ids["event"]])
            cr.commit()  # pylint: disable=invalid-commit

    def _registrations(self):
        with self.cursor() as cr:
            cr.execute(
                "SELECT partner_id FROM event_registration"
                " WHERE event_id = %s AND state != 'cancel'",
                [self.ids["event"]],
            )
            return [row[0] for row in cr.fetchall()]

    @mute_logger("odoo.sql_db")
    def test_last_seat_taken_twice_at_once(self):
        def register(env, _index):
            return env["event.event"]._credit_portal_register(self.ids["event"]).id

        outcomes = self.run_pair(register)
        self.assertEqual(
            sorted(o[0] for o in outcomes), ["ok", "refused"], f"one seat, one winner: {outcomes}"
        )
        refused = next(o[1] for o in outcomes if o[0] == "refused")
        self.assertIn("full", refused)
        winner = outcomes.index(next(o for o in outcomes if o[0] == "ok"))
        self.assertEqual(self._registrations(), [self.ids["partners"][winner]])

    @mute_logger("odoo.sql_db")
    def test_double_tap_gives_one_registration(self):
        """The same resident's sign-up sent twice at once (a double tap)."""
        self.ids["users"], saved = [self.ids["users"][0]] * 2, self.ids["users"]
        try:

            def register(env, _index):
                return env["event.event"]._credit_portal_register(self.ids["event"]).id

            outcomes = self.run_pair(register)
        finally:
            self.ids["users"] = saved
        self.assertEqual(sorted(o[0] for o in outcomes), ["ok", "refused"], outcomes)
        self.assertIn("already signed up", next(o[1] for o in outcomes if o[0] == "refused"))
        self.assertEqual(self._registrations(), [self.ids["partners"][0]])
