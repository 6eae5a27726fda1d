"""Two real database connections posting at the same time (see concurrency.py)."""

import sys
import threading
import traceback

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .concurrency import TwoConnectionsCase


@tagged("post_install", "-at_install")
class TestConcurrentPosting(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            community = env["credit.place"].create(
                {"name": "Concurrency Community", "place_type": "community"}
            )
            category = env["credit.rule.category"].create({"name": "Concurrency"})
            cls.rule_id = (
                env["credit.rule"]
                .create(
                    {
                        "code": "CC1",
                        "name": "Capped help",
                        "category_id": category.id,
                        "points": 2,
                        "cap_month": 4,
                        "community_id": community.id,
                    }
                )
                .id
            )
            cls.free_rule_id = (
                env["credit.rule"]
                .create(
                    {
                        "code": "CC2",
                        "name": "Uncapped help",
                        "category_id": category.id,
                        "points": 1,
                        "community_id": community.id,
                    }
                )
                .id
            )
            cls.partner_id = (
                env["res.partner"]
                .create(
                    {
                        "name": "Concurrent resident",
                        "credit_place_id": community.id,
                        "credit_role_ids": [
                            Command.set(env.ref("community_credit.role_resident").ids)
                        ],
                    }
                )
                .id
            )
            cls.community_id = community.id
            cls.category_id = category.id
            cls.manager_id = (
                env["res.users"]
                .create(
                    {
                        "name": "Concurrency manager",
                        "login": "cc_concurrency_manager",
                        "groups_id": [
                            Command.set([env.ref("community_credit.group_credit_manager").id])
                        ],
                    }
                )
                .id
            )
            cr.commit()  # pylint: disable=invalid-commit

    @classmethod
    def tearDownClass(cls):
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute("DELETE FROM credit_ledger_line WHERE partner_id = %s", [cls.partner_id])
            cr.execute("DELETE FROM credit_balance WHERE partner_id = %s", [cls.partner_id])
            cr.execute("DELETE FROM res_users WHERE id = %s", [cls.manager_id])
            cr.execute(
                "DELETE FROM res_partner WHERE id = %s OR name = 'Concurrency manager'",
                [cls.partner_id],
            )
            cr.execute("DELETE FROM credit_rule WHERE id IN %s", [(cls.rule_id, cls.free_rule_id)])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [cls.category_id])
            cr.execute("DELETE FROM credit_place WHERE id = %s", [cls.community_id])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    def run_concurrently(self, keys, rule_id, first_holds=True):
        """Post one line per key, each in its own connection and thread.

        The first worker posts and keeps its transaction open until the second
        has started its own and is about to post, so both really overlap.
        Returns (outcomes, backend pids).
        """
        outcomes, pids = [None] * len(keys), [None] * len(keys)
        second_started = threading.Event()

        def work(index, key):
            with self.cursor() as cr:
                cr.execute("SELECT pg_backend_pid()")
                pids[index] = cr.fetchone()[0]

                def post(env):
                    lines = env["credit.ledger.line"]._post(
                        [
                            {
                                "partner_id": self.partner_id,
                                "rule_id": rule_id,
                                "origin": "manual",
                                "idempotency_key": key,
                            }
                        ]
                    )
                    if index == 0 and first_holds:
                        second_started.wait(10)
                        cr.execute("SELECT pg_sleep(0.3)")  # the other one waits on our lock
                    return lines.ids

                if index == 1:
                    cr.execute("SELECT 1")  # take a snapshot before the first commits
                    second_started.set()
                try:
                    outcomes[index] = ("ok", self.as_request(cr, self.manager_id, post))
                except (UserError, ValidationError) as exc:
                    outcomes[index] = ("refused", str(exc))

        threads = [threading.Thread(target=work, args=(i, k)) for i, k in enumerate(keys)]
        threads[0].start()
        threads[1].start()
        for thread in threads:
            thread.join(60)
        stuck = [t for t in threads if t.is_alive()]
        if stuck:
            frames = sys._current_frames()
            stacks = "\n".join("".join(traceback.format_stack(frames[t.ident])) for t in stuck)
            self.fail(f"worker threads did not finish:\n{stacks}")
        return outcomes, pids

    def ledger_state(self):
        with self.cursor() as cr:
            cr.execute(
                "SELECT COUNT(*), COALESCE(SUM(points), 0) FROM credit_ledger_line "
                "WHERE partner_id = %s",
                [self.partner_id],
            )
            count, total = cr.fetchone()
            cr.execute(
                "SELECT balance FROM credit_balance WHERE partner_id = %s", [self.partner_id]
            )
            balance = cr.fetchone()
        return count, total, balance and balance[0]

    @mute_logger("odoo.sql_db")
    def test_1_last_capped_points(self):
        # cap 4 per month, 2 points per grant: first use 2 of them
        with self.cursor() as cr:
            self.as_request(
                cr,
                self.manager_id,
                lambda env: env["credit.ledger.line"]._post(
                    [
                        {
                            "partner_id": self.partner_id,
                            "rule_id": self.rule_id,
                            "origin": "manual",
                            "idempotency_key": "cc:first",
                        }
                    ]
                ),
            )
        outcomes, pids = self.run_concurrently(["cc:a", "cc:b"], self.rule_id)
        self.assertNotEqual(pids[0], pids[1], "the two workers must use two connections")
        kinds = sorted(kind for kind, _detail in outcomes)
        self.assertEqual(kinds, ["ok", "refused"], outcomes)
        refusal = next(detail for kind, detail in outcomes if kind == "refused")
        self.assertIn("Cap reached", refusal)
        self.assertEqual(self.ledger_state(), (2, 4, 4))

    @mute_logger("odoo.sql_db")
    def test_2_same_key_twice(self):
        outcomes, pids = self.run_concurrently(["cc:same", "cc:same"], self.free_rule_id)
        self.assertNotEqual(pids[0], pids[1])
        self.assertEqual([kind for kind, _detail in outcomes], ["ok", "ok"], outcomes)
        self.assertEqual(outcomes[0][1], outcomes[1][1], "both get the one line")
        _count, total, balance = self.ledger_state()
        with self.cursor() as cr:
            cr.execute("SELECT COUNT(*) FROM credit_ledger_line WHERE idempotency_key = 'cc:same'")
            self.assertEqual(cr.fetchone()[0], 1)
        self.assertEqual(total, balance)
