"""Batches killed halfway, then run again: every point is posted exactly once.

A worker that dies (OOM killer, a restart, kill -9) leaves PostgreSQL with a
connection that drops mid-transaction. These tests do exactly that to a real
batch on its own connection: the test holds the lock on one subject's balance
row, so the batch stops at that subject, deterministically halfway; the test
then terminates the batch's server process (pg_terminate_backend), releases
the lock and runs the batch again to the end."""

import threading
import time
from datetime import date, datetime, timedelta

from psycopg2 import Error as PsycopgError

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase

SUBJECTS = 300
EVALUATION_CHUNK = 50  # commitments evaluated (and committed) per cron run


@tagged("post_install", "-at_install")
class TestKilledBatches(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {"name": "Fault Community", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Fault"})
            earn, bonus, patrol = env["credit.rule"].create(
                [
                    {"code": "FLT1", "name": "Help", "category_id": category.id, "points": 6},
                    {"code": "FLT2", "name": "Kept", "category_id": category.id, "points": 5},
                    {"code": "FLT3", "name": "Patrol", "category_id": category.id, "points": 2},
                ]
            )
            role = env.ref("community_credit.role_resident")
            partners = env["res.partner"].create(
                [
                    {
                        "name": f"Fault subject {n:03d}",
                        "credit_place_id": community.id,
                        "credit_role_ids": [Command.set(role.ids)],
                    }
                    for n in range(SUBJECTS)
                ]
            )
            # last year's commitments, all kept (6 points earned in June each)
            template = env["credit.commitment.template"].create(
                {
                    "name": "Fault commitment",
                    "role_id": role.id,
                    "community_id": community.id,
                    "text": "<p>Help.</p>",
                    "bonus_rule_id": bonus.id,
                    "obligation_ids": [
                        Command.create({"name": "5 points", "kind": "points", "target": 5})
                    ],
                }
            )
            commitments = env["credit.commitment"].create(
                [{"template_id": template.id, "partner_id": p.id} for p in partners]
            )
            commitments.action_sign()
            env.flush_all()
            cr.execute(
                "UPDATE credit_commitment SET date_from = %s, date_to = %s WHERE id = ANY(%s)",
                [date(2025, 1, 1), date(2025, 12, 31), commitments.ids],
            )
            env["credit.ledger.line"]._post(
                [
                    {
                        "partner_id": p.id,
                        "rule_id": earn.id,
                        "origin": "manual",
                        "date": date(2025, 6, 1),
                        "idempotency_key": f"fault-earn-{p.id}",
                    }
                    for p in partners
                ],
                check_rights=False,
            )
            start = datetime(2025, 3, 12, 1, 0)
            event = env["event.event"].create(
                {
                    "name": "Fault patrol",
                    "date_begin": start,
                    "date_end": start + timedelta(hours=2),
                    "credit_rule_id": patrol.id,
                }
            )
            registrations = env["event.registration"].create(
                [{"event_id": event.id, "partner_id": p.id} for p in partners]
            )
            cls.ids = {
                "community": community.id,
                "category": category.id,
                "rules": [earn.id, bonus.id, patrol.id],
                "partners": partners.ids,
                "template": template.id,
                "commitments": commitments.ids,
                "event": event.id,
                "registrations": registrations.ids,
                "users": [SUPERUSER_ID, SUPERUSER_ID],
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute("DELETE FROM credit_volunteer_service WHERE event_id = %s", [ids["event"]])
            cr.execute("DELETE FROM event_registration WHERE event_id = %s", [ids["event"]])
            cr.execute("DELETE FROM event_event WHERE id = %s", [ids["event"]])
            cr.execute("DELETE FROM credit_commitment WHERE template_id = %s", [ids["template"]])
            cr.execute("DELETE FROM credit_commitment_template WHERE id = %s", [ids["template"]])
            cr.execute(
                "DELETE FROM credit_ledger_line WHERE partner_id = ANY(%s)", [ids["partners"]]
            )
            cr.execute("DELETE FROM credit_balance WHERE partner_id = ANY(%s)", [ids["partners"]])
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [ids["partners"]])
            cr.execute("DELETE FROM credit_rule WHERE id = ANY(%s)", [ids["rules"]])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [ids["community"]])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    # ------------------------------------------------------------- helpers
    def fetch(self, query, params=()):
        with self.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def lines_of(self, rule_id):
        """(lines, points, subjects with more than one line) under a rule."""
        ((count, points),) = self.fetch(
            "SELECT COUNT(*), COALESCE(SUM(points), 0) FROM credit_ledger_line"
            " WHERE rule_id = %s AND partner_id = ANY(%s)",
            [rule_id, self.ids["partners"]],
        )
        twice = self.fetch(
            "SELECT partner_id FROM credit_ledger_line WHERE rule_id = %s"
            " AND partner_id = ANY(%s) GROUP BY partner_id HAVING COUNT(*) > 1",
            [rule_id, self.ids["partners"]],
        )
        return count, points, len(twice)

    def assert_balances_match_ledger(self):
        drift = self.fetch(
            """
            SELECT b.partner_id FROM credit_balance b
              LEFT JOIN (SELECT partner_id, SUM(points) AS points FROM credit_ledger_line
                          WHERE partner_id = ANY(%(p)s) GROUP BY partner_id) l
                     ON l.partner_id = b.partner_id
             WHERE b.partner_id = ANY(%(p)s) AND b.balance IS DISTINCT FROM l.points
            """,
            {"p": self.ids["partners"]},
        )
        self.assertFalse(drift, "every balance equals the sum of its ledger lines")

    def kill_when_blocked(self, batch, blocking_partner):
        """Run batch(env, cr) on its own connection while this test holds the
        balance row of blocking_partner; once the batch waits for that row,
        terminate its server process. Returns how the batch ended."""
        outcome, pid = {}, {}
        with self.cursor() as holder:
            holder.execute(
                "SELECT id FROM credit_balance WHERE partner_id = %s FOR UPDATE",
                [blocking_partner],
            )
            self.assertTrue(holder.fetchall(), "the blocking subject has a balance row")

            def work():
                try:
                    with self.cursor() as cr:
                        cr.execute("SELECT pg_backend_pid()")
                        pid["batch"] = cr.fetchone()[0]
                        batch(api.Environment(cr, SUPERUSER_ID, {}), cr)
                        outcome["finished"] = True
                except PsycopgError as exc:
                    outcome["killed"] = type(exc).__name__

            thread = threading.Thread(target=work)
            thread.start()
            for _attempt in range(600):  # up to a minute
                time.sleep(0.1)
                if "batch" in pid:
                    holder.execute(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                        [pid["batch"]],
                    )
                    if (holder.fetchone() or [None])[0] == "Lock":
                        break
                if not thread.is_alive():
                    break
            else:
                self.fail("the batch never reached the blocking subject")
            with self.cursor() as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", [pid["batch"]])
            thread.join(60)
            holder.rollback()
        self.assertFalse(thread.is_alive())
        self.assertIn("killed", outcome, f"the batch was to be killed halfway: {outcome}")
        return outcome

    # --------------------------------------------------------------- tests
    @mute_logger("odoo.sql_db", "odoo.addons.community_credit.models.credit_commitment")
    def test_commitment_evaluation_killed_after_some_chunks(self):
        """The year-end evaluation commits chunk by chunk (as Odoo's cron runner
        does between runs); killed in its fifth chunk, it has posted the first
        four chunks' bonuses; run again, it posts the rest, each once."""
        bonus = self.ids["rules"][1]

        def evaluate(env, cr):
            while env["credit.commitment"]._cron_evaluate(limit=EVALUATION_CHUNK):
                cr.commit()  # pylint: disable=invalid-commit

        blocked = self.ids["partners"][4 * EVALUATION_CHUNK + 10]  # in the fifth chunk
        self.kill_when_blocked(evaluate, blocked)
        count, points, twice = self.lines_of(bonus)
        self.assertEqual(count, 4 * EVALUATION_CHUNK, "the committed chunks stay posted")
        self.assertEqual(twice, 0)

        with self.cursor() as cr:  # the cron's next run
            evaluate(api.Environment(cr, SUPERUSER_ID, {}), cr)
            cr.commit()  # pylint: disable=invalid-commit
        count, points, twice = self.lines_of(bonus)
        self.assertEqual((count, points, twice), (SUBJECTS, SUBJECTS * 5, 0))
        states = self.fetch(
            "SELECT state, COUNT(*) FROM credit_commitment WHERE id = ANY(%s) GROUP BY state",
            [self.ids["commitments"]],
        )
        self.assertEqual(states, [("fulfilled", SUBJECTS)])
        self.assert_balances_match_ledger()

    @mute_logger("odoo.sql_db")
    def test_attendance_killed_mid_transaction(self):
        """Marking 300 attendees is one transaction: killed halfway, it leaves
        no point and no service hour; marked again, each attendee gets one line."""
        patrol = self.ids["rules"][2]

        def mark(env, _cr):
            env["event.registration"].browse(self.ids["registrations"]).action_set_done()
            env.flush_all()
            env.cr.commit()  # pylint: disable=invalid-commit

        self.kill_when_blocked(mark, self.ids["partners"][SUBJECTS // 2])
        self.assertEqual(self.lines_of(patrol), (0, 0, 0), "nothing of the killed batch stays")
        (services,) = self.fetch(
            "SELECT COUNT(*) FROM credit_volunteer_service WHERE event_id = %s",
            [self.ids["event"]],
        )[0]
        self.assertEqual(services, 0)

        with self.cursor() as cr:
            mark(api.Environment(cr, SUPERUSER_ID, {}), cr)
        self.assertEqual(self.lines_of(patrol), (SUBJECTS, SUBJECTS * 2, 0))
        (services,) = self.fetch(
            "SELECT COUNT(*) FROM credit_volunteer_service WHERE event_id = %s AND state = 'done'",
            [self.ids["event"]],
        )[0]
        self.assertEqual(services, SUBJECTS)
        self.assert_balances_match_ledger()
