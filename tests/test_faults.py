"""Batches killed halfway, then run again: every point is posted exactly once.

A worker that dies (OOM killer, a restart, kill -9) leaves PostgreSQL with a
connection that drops mid-transaction. These tests do exactly that to a real
batch on its own connection: the test holds the lock on one subject's balance
row (for the merchant settlement: on one voucher, as a hand-over in progress
does, or on one settlement), so the batch stops there, deterministically
halfway; the test then terminates the batch's server process
(pg_terminate_backend), releases the lock and runs the batch again to the end."""

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
MERCHANTS = 12
MAY = (date(2025, 5, 1), date(2025, 5, 31))  # the month settled


@tagged("post_install", "-at_install", "cc_slow")
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
            # May's vouchers of 12 merchants (issued, handed over, cancelled), one
            # voucher each outside the month, and each merchant's pledge for May
            merchants = env["res.partner"].create(
                [{"name": f"Fault merchant {m:02d}", "is_company": True} for m in range(MERCHANTS)]
            )
            products = env["product.template"].create(
                [
                    {
                        "name": f"Fault reward {m:02d}",
                        "credit_is_reward": True,
                        "credit_points_price": 5 + m,
                        "credit_donated_value": 5.0 + m,
                        "credit_merchant_id": merchant.id,
                        "credit_stock_ids": [
                            Command.create(
                                {
                                    "collection_point": merchant.name,
                                    "community_id": community.id,
                                    "quantity": 100,
                                }
                            )
                        ],
                    }
                    for m, merchant in enumerate(merchants)
                ]
            )
            states = ["honoured", "issued", "honoured", "cancelled", "honoured", "issued"]
            env["credit.voucher"].create(
                [
                    {
                        "code": f"FLTS{m:02d}{n:02d}",
                        "partner_id": partners[(m * 10 + n) % SUBJECTS].id,
                        "product_tmpl_id": product.id,
                        "stock_id": product.credit_stock_ids.id,
                        "merchant_id": product.credit_merchant_id.id,
                        "points": product.credit_points_price,
                        "donated_value": product.credit_donated_value,
                        "state": "honoured" if day.month != 5 else states[n % len(states)],
                        "issue_date": day,
                        "expiry_date": day + timedelta(days=30),
                        "community_id": community.id,
                        "company_id": community.company_id.id,
                    }
                    for m, product in enumerate(products)
                    for n, day in enumerate(
                        [date(2025, 4, 30)]
                        + [MAY[0] + timedelta(days=3 * k) for k in range(4 + m % 5)]
                    )
                ]
            )
            env["credit.merchant.pledge"].create(
                [
                    {
                        "merchant_id": merchant.id,
                        "community_id": community.id,
                        "month": MAY[0],
                        "value": 30.0,
                    }
                    for merchant in merchants
                ]
            )
            finance = (
                env["res.users"]
                .with_context(no_reset_password=True)
                .create(
                    {
                        "name": "Fault finance",
                        "login": "fault_finance",
                        "groups_id": [
                            Command.set(
                                [
                                    env.ref("base.group_user").id,
                                    env.ref("community_credit.group_credit_finance").id,
                                ]
                            )
                        ],
                    }
                )
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
                "merchants": merchants.ids,
                "products": products.ids,
                "finance": finance.id,
                "finance_partner": finance.partner_id.id,
                "users": [SUPERUSER_ID, SUPERUSER_ID],
            }
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cls.delete_settlements(cr)
            cr.execute(
                "DELETE FROM credit_voucher WHERE product_tmpl_id = ANY(%s)", [ids["products"]]
            )
            cr.execute(
                "DELETE FROM credit_merchant_pledge WHERE merchant_id = ANY(%s)", [ids["merchants"]]
            )
            cr.execute(
                "DELETE FROM product_product WHERE product_tmpl_id = ANY(%s)", [ids["products"]]
            )
            cr.execute("DELETE FROM product_template WHERE id = ANY(%s)", [ids["products"]])
            cr.execute("DELETE FROM res_users WHERE id = %s", [ids["finance"]])
            cr.execute(
                "DELETE FROM res_partner WHERE id = ANY(%s)",
                [[*ids["merchants"], ids["finance_partner"]]],
            )
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

    @classmethod
    def delete_settlements(cls, cr):
        """The merchants' settlements, their lines and their chatter."""
        cr.execute(
            "SELECT id FROM credit_settlement WHERE merchant_id = ANY(%s)", [cls.ids["merchants"]]
        )
        settlements = [row[0] for row in cr.fetchall()]
        cr.execute(
            "DELETE FROM mail_message WHERE model = 'credit.settlement' AND res_id = ANY(%s)",
            [settlements],
        )
        cr.execute(
            "DELETE FROM mail_followers WHERE res_model = 'credit.settlement' AND res_id = ANY(%s)",
            [settlements],
        )
        cr.execute(
            "DELETE FROM credit_settlement_line WHERE settlement_id = ANY(%s)", [settlements]
        )
        cr.execute("DELETE FROM credit_settlement WHERE id = ANY(%s)", [settlements])

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

    def kill_when_blocked(self, batch, blocking_partner=None, *, lock=None):
        """Run batch(env, cr) on its own connection while this test holds the
        balance row of blocking_partner (or the rows that lock, a (query, params)
        pair ending in FOR UPDATE, takes); once the batch waits for that row,
        terminate its server process. Returns how the batch ended."""
        outcome, pid = {}, {}
        if lock is None:
            lock = (
                "SELECT id FROM credit_balance WHERE partner_id = %s FOR UPDATE",
                [blocking_partner],
            )
        with self.cursor() as holder:
            holder.execute(*lock)
            self.assertTrue(holder.fetchall(), "the blocking row exists")

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

    def voucher_lock(self, merchant):
        """Lock one of a merchant's May vouchers, as a hand-over in progress does
        (credit.voucher.honour): settling the merchant inserts lines that
        reference it, and their foreign key check must wait for that row."""
        return (
            "SELECT id FROM credit_voucher WHERE merchant_id = %s AND issue_date BETWEEN %s AND %s"
            " ORDER BY id LIMIT 1 FOR UPDATE",
            [merchant, *MAY],
        )

    def settlement_lock(self, merchant):
        return (
            "SELECT id FROM credit_settlement WHERE merchant_id = %s FOR UPDATE",
            [merchant],
        )

    def as_finance(self, func):
        """func(env) as the finance user in one committed transaction (one request)."""
        with self.cursor() as cr:
            env = api.Environment(cr, self.ids["finance"], {})
            result = func(env)
            env.flush_all()
            cr.commit()  # pylint: disable=invalid-commit
            return result

    def settlement_ids(self):
        return [
            row[0]
            for row in self.fetch(
                "SELECT id FROM credit_settlement WHERE merchant_id = ANY(%s) ORDER BY merchant_id",
                [self.ids["merchants"]],
            )
        ]

    def settled_lines(self):
        """Every settlement line of the merchants: {line: (voucher, state, points, value)}."""
        return {
            line: rest
            for line, *rest in self.fetch(
                "SELECT l.id, l.voucher_id, l.voucher_state, l.points, l.donated_value"
                "  FROM credit_settlement_line l"
                "  JOIN credit_voucher v ON v.id = l.voucher_id"
                " WHERE v.merchant_id = ANY(%s)",
                [self.ids["merchants"]],
            )
        }

    def merchants_settled(self):
        """Merchants that have settlement lines."""
        return {
            row[0]
            for row in self.fetch(
                "SELECT DISTINCT s.merchant_id FROM credit_settlement s"
                "  JOIN credit_settlement_line l ON l.settlement_id = s.id"
                " WHERE s.merchant_id = ANY(%s)",
                [self.ids["merchants"]],
            )
        }

    def assert_settled_once(self):
        """One settlement per merchant for May; each of May's vouchers on exactly
        one line, of its merchant's settlement, as the voucher stands now; the
        totals add up to the vouchers; no line of any other settlement."""
        merchants = self.ids["merchants"]
        per_merchant = self.fetch(
            "SELECT merchant_id, COUNT(*) FROM credit_settlement WHERE merchant_id = ANY(%s)"
            " AND date_from = %s AND date_to = %s GROUP BY merchant_id",
            [merchants, *MAY],
        )
        self.assertEqual(dict(per_merchant), dict.fromkeys(merchants, 1))
        self.assertEqual(len(self.settlement_ids()), MERCHANTS, "no other settlement")
        lines = self.fetch(
            """
            SELECT v.id, COUNT(l.id),
                   COUNT(l.id) FILTER (WHERE s.merchant_id = v.merchant_id
                                         AND s.date_from = %(start)s AND s.date_to = %(end)s
                                         AND l.voucher_state = v.state
                                         AND l.honoured = (v.state = 'honoured')
                                         AND l.points = v.points
                                         AND l.donated_value = v.donated_value)
              FROM credit_voucher v
              LEFT JOIN credit_settlement_line l ON l.voucher_id = v.id
              LEFT JOIN credit_settlement s ON s.id = l.settlement_id
             WHERE v.merchant_id = ANY(%(m)s) AND v.issue_date BETWEEN %(start)s AND %(end)s
             GROUP BY v.id
            """,
            {"m": merchants, "start": MAY[0], "end": MAY[1]},
        )
        self.assertTrue(lines)
        self.assertEqual([v for v, count, _ok in lines if count != 1], [], "settled once")
        self.assertEqual([v for v, _count, ok in lines if ok != 1], [], "on the right line")
        (outside,) = self.fetch(
            "SELECT COUNT(*) FROM credit_settlement_line l JOIN credit_voucher v"
            " ON v.id = l.voucher_id WHERE v.merchant_id = ANY(%s)"
            " AND v.issue_date NOT BETWEEN %s AND %s",
            [merchants, *MAY],
        )[0]
        self.assertEqual(outside, 0, "April's vouchers are not May's")
        self.assertEqual(len(self.settled_lines()), len(lines), "no line of a dead settlement")

        expected = {
            merchant: (count, done, points or 0, value or 0.0, 30.0)
            for merchant, count, done, points, value in self.fetch(
                "SELECT merchant_id, COUNT(*), COUNT(*) FILTER (WHERE state = 'honoured'),"
                "       SUM(points) FILTER (WHERE state = 'honoured'),"
                "       SUM(donated_value) FILTER (WHERE state = 'honoured')"
                "  FROM credit_voucher WHERE merchant_id = ANY(%s)"
                "   AND issue_date BETWEEN %s AND %s GROUP BY merchant_id",
                [merchants, *MAY],
            )
        }
        self.assertEqual(len(expected), MERCHANTS)

        def totals(env):
            return {
                s.merchant_id.id: (
                    s.issued_count,
                    s.honoured_count,
                    s.points_honoured,
                    s.value_honoured,
                    s.pledged_value,
                )
                for s in env["credit.settlement"].browse(self.settlement_ids())
            }

        self.assertEqual(self.as_finance(totals), expected, "the totals are the vouchers'")

    def hand_over(self, count):
        """count more of May's issued vouchers of each merchant handed over."""
        with self.cursor() as cr:
            cr.execute(
                """
                UPDATE credit_voucher SET state = 'honoured' WHERE id IN (
                    SELECT id FROM (
                        SELECT id, row_number() OVER (PARTITION BY merchant_id ORDER BY id) AS n
                          FROM credit_voucher
                         WHERE merchant_id = ANY(%s) AND state = 'issued'
                           AND issue_date BETWEEN %s AND %s) issued
                     WHERE n <= %s)
                """,
                [self.ids["merchants"], *MAY, count],
            )
            self.assertTrue(cr.rowcount)
            cr.commit()  # pylint: disable=invalid-commit

    def state_changes(self):
        """{settlement: how many changes of its state its chatter logged}"""
        ids = self.settlement_ids()
        counts = dict.fromkeys(ids, 0)
        counts.update(
            self.fetch(
                """
                SELECT m.res_id, COUNT(*) FROM mail_tracking_value t
                  JOIN mail_message m ON m.id = t.mail_message_id
                  JOIN ir_model_fields f ON f.id = t.field_id
                 WHERE m.model = 'credit.settlement' AND m.res_id = ANY(%s) AND f.name = 'state'
                 GROUP BY m.res_id
                """,
                [ids],
            )
        )
        return counts

    def forget_settlements(self):
        with self.cursor() as cr:
            self.delete_settlements(cr)
            cr.commit()  # pylint: disable=invalid-commit

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

    @mute_logger("odoo.sql_db")
    def test_settlement_killed_mid_compute(self):
        """Finance creates the 12 merchants' May settlements, then computes them
        one merchant per request; killed at the seventh merchant (its vouchers'
        lines wait for a voucher being handed over), the first six stay
        computed. Computing all twelve again settles each voucher once. Later,
        recomputing all twelve in one request is killed at the tenth: the lines
        computed before stay as they were; recomputed again, they follow the
        vouchers, each once."""
        self.addCleanup(self.forget_settlements)
        merchants = self.ids["merchants"]
        self.as_finance(
            lambda env: env["credit.settlement"].create(
                [
                    {
                        "merchant_id": merchant,
                        "community_id": self.ids["community"],
                        "date_from": MAY[0],
                        "date_to": MAY[1],
                    }
                    for merchant in merchants
                ]
            )
        )
        ids = self.settlement_ids()

        def compute_one_by_one(env, cr):
            for settlement in env(user=self.ids["finance"])["credit.settlement"].browse(ids):
                settlement.action_compute()
                env.flush_all()
                cr.commit()  # pylint: disable=invalid-commit

        self.kill_when_blocked(compute_one_by_one, lock=self.voucher_lock(merchants[6]))
        self.assertEqual(self.merchants_settled(), set(merchants[:6]), "six committed, no more")
        with self.cursor() as cr:  # run again, all twelve
            compute_one_by_one(api.Environment(cr, SUPERUSER_ID, {}), cr)
        self.assert_settled_once()

        self.hand_over(1)  # vouchers handed over since: the settlements are out of date
        before = self.settled_lines()

        def compute_all(env, cr):
            env(user=self.ids["finance"])["credit.settlement"].browse(ids).action_compute()
            env.flush_all()
            cr.commit()  # pylint: disable=invalid-commit

        self.kill_when_blocked(compute_all, lock=self.voucher_lock(merchants[9]))
        self.assertEqual(self.settled_lines(), before, "the killed request changed no line")
        with self.cursor() as cr:
            compute_all(api.Environment(cr, SUPERUSER_ID, {}), cr)
        self.assertNotEqual(self.settled_lines(), before)
        self.assert_settled_once()

    @mute_logger("odoo.sql_db")
    def test_settlement_confirm_and_reconcile_killed(self):
        """Confirming and reconciling the 12 settlements at once, each killed
        while one settlement row is held: all or none change state, and the
        chatter logs each change once."""
        self.addCleanup(self.forget_settlements)
        merchants = self.ids["merchants"]

        def create_and_compute(env):
            settlements = env["credit.settlement"].create(
                [
                    {
                        "merchant_id": merchant,
                        "community_id": self.ids["community"],
                        "date_from": MAY[0],
                        "date_to": MAY[1],
                    }
                    for merchant in merchants
                ]
            )
            settlements.action_compute()

        self.as_finance(create_and_compute)
        ids = self.settlement_ids()
        states = "SELECT state, COUNT(*) FROM credit_settlement WHERE id = ANY(%s) GROUP BY state"

        def run(action):
            def batch(env, cr):
                getattr(env(user=self.ids["finance"])["credit.settlement"].browse(ids), action)()
                env.flush_all()
                cr.commit()  # pylint: disable=invalid-commit

            return batch

        logged = self.state_changes()

        def plus(n):
            return {settlement: count + n for settlement, count in logged.items()}

        self.kill_when_blocked(run("action_confirm"), lock=self.settlement_lock(merchants[6]))
        self.assertEqual(self.fetch(states, [ids]), [("draft", MERCHANTS)])
        self.assertEqual(self.state_changes(), plus(0))
        with self.cursor() as cr:
            run("action_confirm")(api.Environment(cr, SUPERUSER_ID, {}), cr)
        self.assertEqual(self.fetch(states, [ids]), [("confirmed", MERCHANTS)])
        self.assertEqual(self.state_changes(), plus(1), "each confirmation logged once")

        def explain(env):  # finance explains every open voucher and difference
            settlements = env["credit.settlement"].browse(ids)
            settlements.line_ids.filtered(lambda ln: not ln.honoured).note = "Not collected"
            settlements.difference_note = "Less delivered than pledged"

        self.as_finance(explain)
        self.kill_when_blocked(run("action_reconcile"), lock=self.settlement_lock(merchants[3]))
        self.assertEqual(self.fetch(states, [ids]), [("confirmed", MERCHANTS)])
        self.assertEqual(self.state_changes(), plus(1))
        with self.cursor() as cr:
            run("action_reconcile")(api.Environment(cr, SUPERUSER_ID, {}), cr)
        self.assertEqual(self.fetch(states, [ids]), [("reconciled", MERCHANTS)])
        self.assertEqual(self.state_changes(), plus(2), "each reconciliation logged once")
        self.assert_settled_once()
