"""Two organisers mark the same volunteer attended at two events at the same
instant, on two real database connections: the hours of both count, and the
deduction is earned back once."""

from datetime import datetime, timedelta

from freezegun import freeze_time

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase

DAY = datetime(2025, 3, 12, 1, 0)


@tagged("post_install", "-at_install")
class TestConcurrentRepair(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {
                    "name": "Repair Concurrency",
                    "place_type": "community",
                    "repair_enabled": True,
                    "repair_hours": 4,
                    "repair_days": 90,
                }
            )
            category = env["credit.rule.category"].create({"name": "Repair Concurrency"})
            rules = env["credit.rule"].create(
                [
                    {
                        "code": code,
                        "name": name,
                        "category_id": category.id,
                        "points": points,
                        "community_id": community.id,
                    }
                    for code, name, points in (("RCC1", "Patrol", 2), ("RCC2", "Fighting", -10))
                ]
            )
            partner = env["res.partner"].create(
                {
                    "name": "Concurrent repairer",
                    "credit_place_id": community.id,
                    "credit_role_ids": [
                        Command.set(env.ref("community_credit.role_volunteer").ids)
                    ],
                }
            )
            users = env["res.users"].create(
                [
                    {
                        "name": f"Repair organiser {i}",
                        "login": f"rcc_organiser_{i}",
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
            line = env["credit.ledger.line"]._post(
                [
                    {
                        "partner_id": partner.id,
                        "rule_id": rules[1].id,
                        "date": DAY.date(),
                        "origin": "manual",
                        "idempotency_key": "rcc-fight",
                    }
                ],
                check_rights=False,
            )
            with freeze_time(DAY + timedelta(days=10)):
                repair = env["credit.repair"]._request_repair(line.id)
            events = env["event.event"].create(
                [
                    {
                        "name": f"Concurrent service {i}",
                        "date_begin": DAY + timedelta(days=1 + i),
                        "date_end": DAY + timedelta(days=1 + i, hours=2.5),
                        "credit_rule_id": rules[0].id,
                    }
                    for i in range(2)
                ]
            )
            registrations = env["event.registration"].create(
                [{"event_id": event.id, "partner_id": partner.id} for event in events]
            )
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rules": rules.ids,
                "partner": partner.id,
                "users": users.ids,
                "events": events.ids,
                "registrations": registrations.ids,
                "line": line.id,
                "repair": repair.id,
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute(
                "DELETE FROM mail_message WHERE model = 'credit.repair' AND res_id = %s",
                [ids["repair"]],
            )
            cr.execute("DELETE FROM credit_repair WHERE id = %s", [ids["repair"]])
            cr.execute(
                "DELETE FROM credit_volunteer_service WHERE event_id = ANY(%s)", [ids["events"]]
            )
            cr.execute("DELETE FROM credit_notice WHERE partner_id = %s", [ids["partner"]])
            cr.execute("DELETE FROM credit_ledger_line WHERE partner_id = %s", [ids["partner"]])
            cr.execute("DELETE FROM credit_balance WHERE partner_id = %s", [ids["partner"]])
            cr.execute("DELETE FROM event_registration WHERE event_id = ANY(%s)", [ids["events"]])
            cr.execute("DELETE FROM event_event WHERE id = ANY(%s)", [ids["events"]])
            cr.execute("SELECT partner_id FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            user_partners = [row[0] for row in cr.fetchall()]
            cr.execute("DELETE FROM res_users WHERE id = ANY(%s)", [ids["users"]])
            cr.execute(
                "DELETE FROM res_partner WHERE id = ANY(%s)", [[*user_partners, ids["partner"]]]
            )
            cr.execute("DELETE FROM credit_rule WHERE id = ANY(%s)", [ids["rules"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    @mute_logger("odoo.sql_db")
    def test_two_services_at_once_earn_the_deduction_back_once(self):
        def mark(env, index):
            env["event.registration"].browse(self.ids["registrations"][index]).action_set_done()
            return True

        with freeze_time(DAY + timedelta(days=10)):
            outcomes = self.run_pair(mark)
        self.assertEqual([o[0] for o in outcomes], ["ok", "ok"], outcomes)
        with self.cursor() as cr:
            cr.execute(
                "SELECT state, reversal_line_id IS NOT NULL FROM credit_repair WHERE id = %s",
                [self.ids["repair"]],
            )
            self.assertEqual(cr.fetchone(), ("repaired", True))
            cr.execute(
                "SELECT COUNT(*) FROM credit_ledger_line WHERE reversal_of_id = %s",
                [self.ids["line"]],
            )
            self.assertEqual(cr.fetchone()[0], 1)
            # -10 deducted, two attendances at +2, +10 earned back
            cr.execute(
                "SELECT balance FROM credit_balance WHERE partner_id = %s", [self.ids["partner"]]
            )
            self.assertEqual(cr.fetchone()[0], -10 + 2 + 2 + 10)
