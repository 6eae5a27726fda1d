"""Batch jobs shared between two workers, on two real database connections.

Odoo runs one scheduled action on one cron worker at a time; each of these jobs
has two scheduled actions, so that the workers of two nodes work on one
year-end at the same time. Here two connections run the same job at once, one
run at a time committed as Odoo's cron runner does (ir.cron._run_job), for the
year-end evaluation of commitments, the sending of notices, the expiry of
points and the closing of publications:

- while the first run holds its batch (its transaction open), the second run
  takes other rows and finishes without waiting for it;
- together, the two workers process every candidate once: no line posted twice,
  no notice sent twice, none left out;
- a run killed halfway (its server process terminated while it waits for a row
  this test holds, as in test_faults) leaves the runs before it committed and
  nothing of its own; the next run finishes the rest, once.
"""

import threading
import time
from datetime import date, timedelta
from unittest.mock import patch

from psycopg2 import Error as PsycopgError

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from ..models import credit_notice
from .concurrency import TwoConnectionsCase

SUBJECTS = 90
LIMIT = 30  # rows per run: three runs for the subjects of one job
WAIT = 8  # seconds the first run keeps its batch open for the second one
PERIOD = (date(2025, 1, 1), date(2025, 12, 31))  # the commitments' year, ended
JOBS = {
    "evaluate": (
        "community_credit.ir_cron_credit_commitment_evaluate",
        lambda env: env["credit.commitment"]._cron_evaluate(limit=LIMIT),
    ),
    "notices": (
        "community_credit.ir_cron_credit_notice_send",
        lambda env: env["credit.notice"]._cron_send_pending(limit=LIMIT),
    ),
    "expire": (
        "community_credit.ir_cron_credit_expire_points",
        lambda env: env["credit.ledger.line"]._cron_expire_points(limit=LIMIT),
    ),
    "publications": (
        "community_credit.ir_cron_credit_claim_close_publications",
        lambda env: env["credit.claim"]._cron_close_publications(limit=LIMIT),
    ),
}
LOGGERS = (
    "odoo.sql_db",
    "odoo.addons.community_credit.models.credit_commitment",
    "odoo.addons.community_credit.models.credit_notice",
    "odoo.addons.community_credit.models.credit_claim",
    "odoo.addons.community_credit.models.credit_ledger_line",
)


@tagged("post_install", "-at_install", "cc_slow")
class TestSharedBatches(TwoConnectionsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with cls.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            places = env["credit.place"].create(
                [
                    {"name": "Shared Batches", "place_type": "community"},
                    {"name": "Shared Expiry One", "place_type": "community"},
                    {"name": "Shared Expiry Two", "place_type": "community"},
                ]
            )
            community = places[0]
            category = env["credit.rule.category"].create({"name": "Shared Batches"})
            earn, kept, kept_again, fine, clean = env["credit.rule"].create(
                [
                    {"code": "SHB1", "name": "Help", "category_id": category.id, "points": 6},
                    {"code": "SHB2", "name": "Kept", "category_id": category.id, "points": 5},
                    {"code": "SHB3", "name": "Kept again", "category_id": category.id,
                     "points": 4},
                    {"code": "SHB4", "name": "Litter", "category_id": category.id,
                     "points": -2},
                    {"code": "SHB5", "name": "Clean up", "category_id": category.id,
                     "points": 2},
                ]
            )  # fmt: skip
            role = env.ref("community_credit.role_resident")

            def subjects(place, name):
                return env["res.partner"].create(
                    [
                        {
                            "name": f"{name} {n:03d}",
                            "email": f"shb{place.id}-{n}@example.com",
                            "credit_place_id": place.id,
                            "credit_role_ids": [Command.set(role.ids)],
                        }
                        for n in range(SUBJECTS)
                    ]
                )

            partners = subjects(community, "Shared subject")
            expiring = [subjects(places[1], "Expiring one"), subjects(places[2], "Expiring two")]
            templates = env["credit.commitment.template"].create(
                [
                    {
                        "name": f"Shared commitment {n}",
                        "role_id": role.id,
                        "community_id": community.id,
                        "text": "<p>Help.</p>",
                        "bonus_rule_id": bonus.id,
                        "obligation_ids": [
                            Command.create({"name": "5 points", "kind": "points", "target": 5})
                        ],
                    }
                    for n, bonus in enumerate((kept, kept_again))
                ]
            )
            # last year 6 points each (a commitment of the year is kept); the
            # expiring subjects earned 6 points two years ago and 2 last month
            old, recent = date(2025, 1, 10), fields.Date.today() - timedelta(days=30)
            env["credit.ledger.line"]._post(
                [
                    {
                        "partner_id": p.id,
                        "rule_id": earn.id,
                        "origin": "manual",
                        "date": date(2025, 6, 1),
                        "idempotency_key": f"shb-earn-{p.id}",
                    }
                    for p in partners
                ]
                + [
                    {
                        "partner_id": p.id,
                        "rule_id": rule.id,
                        "origin": "manual",
                        "date": day,
                        "idempotency_key": f"shb-{day}-{p.id}",
                    }
                    for p in expiring[0] | expiring[1]
                    for rule, day in ((earn, old), (clean, recent))
                ],
                check_rights=False,
            )
            cls.ids = {
                "places": places.ids,
                "category": category.id,
                "rules": {
                    "earn": earn.id,
                    "kept": kept.id,
                    "kept_again": kept_again.id,
                    "fine": fine.id,
                    "clean": clean.id,
                },
                "partners": partners.ids,
                "expiring": [expiring[0].ids, expiring[1].ids],
                "templates": templates.ids,
                "users": [SUPERUSER_ID, SUPERUSER_ID],
            }
            cr.commit()  # pylint: disable=invalid-commit
        cls.progress_ids = []

    @classmethod
    def tearDownClass(cls):
        ids = cls.ids
        everyone = ids["partners"] + ids["expiring"][0] + ids["expiring"][1]
        with cls.cursor() as cr:  # ledger lines cannot be deleted through the ORM, by design
            cr.execute("SELECT id FROM credit_notice WHERE partner_id = ANY(%s)", [everyone])
            notices = [row[0] for row in cr.fetchall()]
            cr.execute("SELECT id FROM credit_claim WHERE rule_id = %s", [ids["rules"]["clean"]])
            claims = [row[0] for row in cr.fetchall()]
            cr.execute(
                "SELECT id FROM credit_commitment WHERE template_id = ANY(%s)", [ids["templates"]]
            )
            commitments = [row[0] for row in cr.fetchall()]
            for model, res_ids in (
                ("credit.notice", notices),
                ("credit.claim", claims),
                ("credit.commitment", commitments),
            ):
                cr.execute(
                    "DELETE FROM mail_message WHERE model = %s AND res_id = ANY(%s)",
                    [model, res_ids],
                )
                cr.execute(
                    "DELETE FROM mail_followers WHERE res_model = %s AND res_id = ANY(%s)",
                    [model, res_ids],
                )
                cr.execute(
                    "DELETE FROM mail_activity WHERE res_model = %s AND res_id = ANY(%s)",
                    [model, res_ids],
                )
            cr.execute("DELETE FROM credit_notice WHERE id = ANY(%s)", [notices])
            cr.execute("DELETE FROM credit_claim_line WHERE claim_id = ANY(%s)", [claims])
            cr.execute("DELETE FROM credit_claim WHERE id = ANY(%s)", [claims])
            cr.execute("DELETE FROM credit_commitment WHERE id = ANY(%s)", [commitments])
            cr.execute(
                "DELETE FROM credit_commitment_template WHERE id = ANY(%s)", [ids["templates"]]
            )
            cr.execute("DELETE FROM credit_ledger_line WHERE partner_id = ANY(%s)", [everyone])
            cr.execute("DELETE FROM credit_balance WHERE partner_id = ANY(%s)", [everyone])
            cr.execute("DELETE FROM res_partner WHERE id = ANY(%s)", [everyone])
            cr.execute("DELETE FROM credit_rule WHERE id = ANY(%s)", [list(ids["rules"].values())])
            cr.execute("DELETE FROM credit_rule_category WHERE id = %s", [ids["category"]])
            cr.execute("DELETE FROM credit_place WHERE id = ANY(%s)", [ids["places"]])
            cr.execute("DELETE FROM ir_cron_progress WHERE id = ANY(%s)", [cls.progress_ids])
            cr.commit()  # pylint: disable=invalid-commit
        super().tearDownClass()

    # ------------------------------------------------------------- helpers
    def fetch(self, query, params=()):
        with self.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def fetch_and_commit(self, query, params=()):
        with self.cursor() as cr:
            cr.execute(query, params)
            rows = cr.fetchall()
            cr.commit()  # pylint: disable=invalid-commit
            return rows

    def commit(self, func):
        """func(env) as the superuser in one committed transaction."""
        with self.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
            result = func(env)
            env.flush_all()
            cr.commit()  # pylint: disable=invalid-commit
            return result

    def run_once(self, cr, job, cron=False):
        """One run of the job as Odoo's cron runner makes it: a progress record
        in the context, the job, what it reported. Not committed. Returns (ids
        of the records it processed, done, remaining). With cron, the run is
        that scheduled action's (the runner's context key cron_id)."""
        xmlid, call = JOBS[job]
        env = api.Environment(cr, SUPERUSER_ID, {})
        progress = env["ir.cron.progress"].create({"cron_id": env.ref(xmlid).id})
        type(self).progress_ids.append(progress.id)
        context = {"ir_cron_progress_id": progress.id}
        if cron:
            context["cron_id"] = env.ref(cron).id
        records = call(env(context=context))
        env.flush_all()
        return records.ids, progress.done, progress.remaining

    def run_to_the_end(self, cr, job, runs):
        """Run the job again while it reports work left, committing each run as
        the cron runner does; a run that did nothing while work is left (held by
        the other worker) is tried again a moment later, as its trigger does."""
        for _attempt in range(200):
            ids, done, remaining = self.run_once(cr, job)
            cr.commit()  # pylint: disable=invalid-commit
            runs.append(ids)
            if not remaining:
                return
            if not done:
                time.sleep(0.05)
        raise AssertionError(f"{job}: still work left after 200 runs")

    def hold_and_share(self, job):
        """The first worker runs the job once and keeps its transaction open
        (at most WAIT seconds) until the second worker has run it once and
        committed. Returns the records each run processed."""
        first_ran, second_done = threading.Event(), threading.Event()
        result, errors = {}, []

        def first():
            try:
                with self.cursor() as cr:
                    result[0] = self.run_once(cr, job)[0]
                    first_ran.set()
                    result["waited"] = not second_done.wait(WAIT)
                    cr.commit()  # pylint: disable=invalid-commit
            except Exception as exc:
                errors.append(f"first run: {exc!r}")
            finally:
                first_ran.set()

        def second():
            try:
                first_ran.wait(WAIT)
                with self.cursor() as cr:
                    result[1] = self.run_once(cr, job)[0]
                    cr.commit()  # pylint: disable=invalid-commit
            except Exception as exc:
                errors.append(f"second run: {exc!r}")
            finally:
                second_done.set()

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertFalse([t for t in threads if t.is_alive()], "the runs did not finish")
        self.assertEqual(errors, [])
        self.assertFalse(result["waited"], "the second run waited for the first run's rows")
        self.assertTrue(result[0] and result[1], f"both runs did some of the work: {result}")
        self.assertFalse(set(result[0]) & set(result[1]), "the two runs took different rows")
        return result[0], result[1]

    def share(self, job):
        """The two workers: one run each at once (hold_and_share), then both run
        the job to the end at the same time. Returns every run's records."""
        runs = list(self.hold_and_share(job))
        errors = []

        def work():
            try:
                with self.cursor() as cr:
                    self.run_to_the_end(cr, job, runs)
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=work) for _worker in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertFalse([t for t in threads if t.is_alive()], "the workers did not finish")
        self.assertEqual(errors, [])
        return runs

    def kill_when_blocked(self, job, partner_id):
        """Run the job to the end on its own connection (committing each run)
        while this test holds the row of subject partner_id, as an edit of the
        contact in progress does: the job's first line or message for that
        subject waits for it. Once the job waits, its server process is
        terminated, as a worker that dies is."""
        outcome, pid = {}, {}
        with self.cursor() as holder:
            holder.execute("SELECT id FROM res_partner WHERE id = %s FOR UPDATE", [partner_id])

            def work():
                try:
                    with self.cursor() as cr:
                        cr.execute("SELECT pg_backend_pid()")
                        pid["job"] = cr.fetchone()[0]
                        self.run_to_the_end(cr, job, [])
                        outcome["finished"] = True
                except PsycopgError as exc:
                    outcome["killed"] = type(exc).__name__
                except Exception as exc:
                    outcome["error"] = repr(exc)

            thread = threading.Thread(target=work)
            thread.start()
            for _attempt in range(600):  # up to a minute
                time.sleep(0.1)
                if "job" in pid:
                    holder.execute(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid["job"]]
                    )
                    if (holder.fetchone() or [None])[0] == "Lock":
                        break
                if not thread.is_alive():
                    break
            else:
                self.fail("the job never reached the blocking subject")
            # (its connection back in the pool would be the killer's own)
            self.assertTrue(thread.is_alive(), f"the job ended before the subject: {outcome}")
            with self.cursor() as killer:
                killer.execute("SELECT pg_terminate_backend(%s)", [pid["job"]])
            thread.join(60)
            holder.rollback()
        self.assertFalse(thread.is_alive())
        self.assertIn("killed", outcome, f"the job was to be killed halfway: {outcome}")

    def finish(self, job):
        """The next run, alone, to the end."""
        with self.cursor() as cr:
            self.run_to_the_end(cr, job, [])

    def assert_once(self, runs, ids):
        """Each of ids processed by exactly one run."""
        taken = [record for run in runs for record in run if record in set(ids)]
        self.assertEqual(sorted(taken), sorted(ids), "each processed once, none left out")

    def lines(self, rule_id, partners):
        """{subject: [points of each of its lines under the rule]}"""
        found = {}
        for partner, points in self.fetch(
            "SELECT partner_id, points FROM credit_ledger_line"
            " WHERE rule_id = %s AND partner_id = ANY(%s) ORDER BY id",
            [rule_id, partners],
        ):
            found.setdefault(partner, []).append(points)
        return found

    def assert_balances_match_ledger(self, partners):
        drift = self.fetch(
            """
            SELECT b.partner_id FROM credit_balance b
              LEFT JOIN (SELECT partner_id, SUM(points) AS points FROM credit_ledger_line
                          WHERE partner_id = ANY(%(p)s) GROUP BY partner_id) l
                     ON l.partner_id = b.partner_id
             WHERE b.partner_id = ANY(%(p)s) AND b.balance IS DISTINCT FROM l.points
            """,
            {"p": partners},
        )
        self.assertFalse(drift, "every balance equals the sum of its ledger lines")

    # ------------------------------------------------------------ the data
    def commitments_due(self, template_id):
        """Every subject signs the template; its year is over."""

        def sign(env):
            commitments = env["credit.commitment"].create(
                [{"template_id": template_id, "partner_id": p} for p in self.ids["partners"]]
            )
            commitments.action_sign()
            env.flush_all()
            env.cr.execute(
                "UPDATE credit_commitment SET date_from = %s, date_to = %s WHERE id = ANY(%s)",
                [*PERIOD, commitments.ids],
            )
            return commitments.ids

        return self.commit(sign)

    def notices_pending(self, key):
        """A deduction for every subject, posted in one batch whose notices
        wait for the sending job (as a year-end's do)."""

        def deduct(env):
            with patch.object(credit_notice, "SEND_AT_ONCE", 0):
                lines = env["credit.ledger.line"]._post(
                    [
                        {
                            "partner_id": p,
                            "rule_id": self.ids["rules"]["fine"],
                            "origin": "manual",
                            "idempotency_key": f"shb-{key}-{p}",
                        }
                        for p in self.ids["partners"]
                    ],
                    check_rights=False,
                )
            notices = env["credit.notice"].search([("ledger_line_id", "in", lines.ids)])
            self.assertEqual(set(notices.mapped("state")), {"pending"})
            return notices.ids

        return self.commit(deduct)

    def claims_due(self, day):
        """A claim for every subject, and a second one (the day before) for
        every third subject, created among the first ones: two runs at once
        meet subjects with a claim in each run. Their publication closed
        yesterday. Returns {claim: subject}."""
        partners = self.ids["partners"]
        today = fields.Date.today()

        def publish(env):
            vals_list = []
            for n, partner in enumerate(partners):
                vals_list.append((partner, day))
                if n % 3 == 0 and n >= LIMIT:
                    vals_list.append((partners[n - LIMIT], day - timedelta(days=1)))
            claims = env["credit.claim"].create(
                [
                    {
                        "rule_id": self.ids["rules"]["clean"],
                        "date": claim_day,
                        "partner_ids": [Command.set([partner])],
                    }
                    for partner, claim_day in vals_list
                ]
            )
            claims.write(
                {
                    "state": "published",
                    "publish_date": today - timedelta(days=8),
                    "publish_until": today - timedelta(days=1),
                }
            )
            return {
                claim.id: partner for claim, (partner, _day) in zip(claims, vals_list, strict=True)
            }

        return self.commit(publish)

    def expiry(self, index, on):
        def switch(env):
            env["credit.place"].browse(self.ids["places"][1 + index]).write(
                {"points_expire": on, "expiry_months": 12}
            )

        self.commit(switch)

    def notice_messages(self, notices):
        """{notice: (state, number of messages sent for it)}"""
        return {
            notice: (state, count)
            for notice, state, count in self.fetch(
                """
                SELECT n.id, n.state, COUNT(m.id) FROM credit_notice n
                  LEFT JOIN mail_message m ON m.model = 'credit.notice' AND m.res_id = n.id
                                          AND m.message_type = 'comment'
                 WHERE n.id = ANY(%s) GROUP BY n.id, n.state
                """,
                [notices],
            )
        }

    # --------------------------------------------------------------- tests
    @mute_logger(*LOGGERS)
    def test_1_evaluation_shared(self):
        """Two workers evaluate one year-end: the second run does not wait for
        the first; every commitment is evaluated by one run and its bonus
        posted once."""
        commitments = self.commitments_due(self.ids["templates"][0])
        runs = self.share("evaluate")
        self.assert_once(runs, commitments)
        partners = self.ids["partners"]
        self.assertEqual(
            self.lines(self.ids["rules"]["kept"], partners), {p: [5] for p in partners}
        )
        self.assertEqual(
            self.fetch(
                "SELECT state, COUNT(*) FROM credit_commitment WHERE id = ANY(%s) GROUP BY state",
                [commitments],
            ),
            [("fulfilled", SUBJECTS)],
        )
        self.assert_balances_match_ledger(partners)

    @mute_logger(*LOGGERS)
    def test_2_evaluation_killed(self):
        """Killed in its third run, the evaluation keeps the two runs before it
        and nothing of the third; the next run evaluates the rest, once."""
        self.finish("evaluate")  # nothing else due: the runs take these in order
        commitments = self.commitments_due(self.ids["templates"][1])
        partners, kept = self.ids["partners"], self.ids["rules"]["kept_again"]
        self.kill_when_blocked("evaluate", partners[2 * LIMIT + 5])
        self.assertEqual(
            self.fetch(
                "SELECT partner_id FROM credit_commitment WHERE id = ANY(%s)"
                " AND state = 'fulfilled' ORDER BY partner_id",
                [commitments],
            ),
            [(p,) for p in partners[: 2 * LIMIT]],
        )
        self.assertEqual(self.lines(kept, partners), {p: [4] for p in partners[: 2 * LIMIT]})

        self.finish("evaluate")
        self.assertEqual(self.lines(kept, partners), {p: [4] for p in partners})
        self.assertEqual(
            self.fetch(
                "SELECT state, COUNT(*) FROM credit_commitment WHERE id = ANY(%s) GROUP BY state",
                [commitments],
            ),
            [("fulfilled", SUBJECTS)],
        )
        self.assert_balances_match_ledger(partners)

    @mute_logger(*LOGGERS)
    def test_3_notices_shared(self):
        """Two workers send a year-end's notices: each notice is sent by one run,
        with one message."""
        notices = self.notices_pending("fine-1")
        runs = self.share("notices")
        self.assert_once(runs, notices)
        self.assertEqual(self.notice_messages(notices), dict.fromkeys(notices, ("sent", 1)))

    @mute_logger(*LOGGERS)
    def test_4_notices_killed(self):
        """Killed in its third run, the sending keeps the notices sent before
        and sends none of the third run's; the next run sends the rest, each
        once."""
        self.finish("notices")  # nothing else waits: the runs take these in order
        notices = sorted(self.notices_pending("fine-2"))
        self.kill_when_blocked("notices", self.ids["partners"][2 * LIMIT + 5])
        self.assertEqual(
            self.notice_messages(notices),
            dict.fromkeys(notices[: 2 * LIMIT], ("sent", 1))
            | dict.fromkeys(notices[2 * LIMIT :], ("pending", 0)),
        )

        self.finish("notices")
        self.assertEqual(self.notice_messages(notices), dict.fromkeys(notices, ("sent", 1)))

    @mute_logger(*LOGGERS)
    def test_5_expiry_shared(self):
        """Two workers expire a community's old points: each subject's 6 old
        points expire once; the 2 earned last month stay."""
        self.addCleanup(self.expiry, 0, False)
        self.expiry(0, True)
        partners = self.ids["expiring"][0]
        runs = self.share("expire")
        expired = self.fetch(
            "SELECT id FROM credit_ledger_line WHERE origin = 'expiry' AND partner_id = ANY(%s)",
            [partners],
        )
        self.assertEqual(len(expired), SUBJECTS)
        self.assert_once(runs, [row[0] for row in expired])
        self.assertEqual(
            self.fetch(
                "SELECT partner_id, points FROM credit_ledger_line"
                " WHERE origin = 'expiry' AND partner_id = ANY(%s) ORDER BY partner_id",
                [partners],
            ),
            [(p, -6) for p in sorted(partners)],
        )
        self.assertEqual(
            self.fetch(
                "SELECT DISTINCT balance FROM credit_balance WHERE partner_id = ANY(%s)",
                [partners],
            ),
            [(2,)],
        )
        self.assert_balances_match_ledger(partners)

    @mute_logger(*LOGGERS)
    def test_6_expiry_killed(self):
        """Killed in its third run, the expiry keeps the two runs before it and
        nothing of the third; the next run expires the rest, once."""
        self.addCleanup(self.expiry, 1, False)
        self.expiry(1, True)
        partners = sorted(self.ids["expiring"][1])
        query = (
            "SELECT partner_id, points FROM credit_ledger_line"
            " WHERE origin = 'expiry' AND partner_id = ANY(%s) ORDER BY partner_id"
        )
        self.kill_when_blocked("expire", partners[2 * LIMIT + 5])
        self.assertEqual(self.fetch(query, [partners]), [(p, -6) for p in partners[: 2 * LIMIT]])
        self.finish("expire")
        self.assertEqual(self.fetch(query, [partners]), [(p, -6) for p in partners])
        self.assert_balances_match_ledger(partners)

    @mute_logger(*LOGGERS)
    def test_7_publications_shared(self):
        """Two workers close a month's publications, some subjects with a claim
        in each worker's run: every claim is closed by one run and each subject
        gets 2 points per claim, once."""
        claims = self.claims_due(fields.Date.today() - timedelta(days=20))
        runs = self.share("publications")
        self.assert_once(runs, list(claims))
        self.assertEqual(
            self.fetch(
                "SELECT state, COUNT(*) FROM credit_claim WHERE id = ANY(%s) GROUP BY state",
                [list(claims)],
            ),
            [("done", len(claims))],
        )
        expected = {}
        for partner in claims.values():
            expected.setdefault(partner, []).append(2)
        self.assertEqual(self.lines(self.ids["rules"]["clean"], self.ids["partners"]), expected)
        self.assert_balances_match_ledger(self.ids["partners"])

    @mute_logger(*LOGGERS)
    def test_8_publications_killed(self):
        """Killed in its third run, closing publications keeps the claims closed
        before and nothing of the third run; the next run closes the rest, each
        posted once."""
        clean, partners = self.ids["rules"]["clean"], self.ids["partners"]
        self.finish("publications")  # nothing else due: the runs take these in order
        before = self.lines(clean, partners)
        claims = self.claims_due(fields.Date.today() - timedelta(days=10))
        self.kill_when_blocked("publications", partners[2 * LIMIT + 5])
        done = [
            row[0]
            for row in self.fetch(
                "SELECT id FROM credit_claim WHERE id = ANY(%s) AND state = 'done'",
                [list(claims)],
            )
        ]
        # a run also takes the other claims due of its subjects: more than LIMIT
        blocked = partners[2 * LIMIT + 5]
        self.assertTrue(2 * LIMIT <= len(done) < len(claims), done)
        self.assertFalse([claim for claim in done if claims[claim] == blocked])
        expected = {partner: list(points) for partner, points in before.items()}
        for claim in done:
            expected.setdefault(claims[claim], []).append(2)
        self.assertEqual(self.lines(clean, partners), expected)

        self.finish("publications")
        for claim in set(claims) - set(done):
            expected.setdefault(claims[claim], []).append(2)
        self.assertEqual(self.lines(clean, partners), expected)
        self.assertEqual(
            self.fetch(
                "SELECT state, COUNT(*) FROM credit_claim WHERE id = ANY(%s) GROUP BY state",
                [list(claims)],
            ),
            [("done", len(claims))],
        )
        self.assert_balances_match_ledger(partners)

    @mute_logger(*LOGGERS)
    def test_9_runs_call_the_other_worker_and_come_back(self):
        """A run of a scheduled action that leaves work triggers the job's other
        scheduled action (once while it is due), so that an idle worker joins
        in; a run that finds everything left held by another transaction looks
        again a minute later, so that the rows of a run that dies are not left
        until the next day."""
        first = "community_credit.ir_cron_credit_notice_send"
        second = "community_credit.ir_cron_credit_notice_send_2"
        self.finish("notices")
        notices = sorted(self.notices_pending("fine-3"))
        crons = {
            xmlid: row[0]
            for xmlid in (first, second)
            for row in self.fetch(
                "SELECT res_id FROM ir_model_data WHERE module = 'community_credit' AND name = %s",
                [xmlid.split(".")[1]],
            )
        }
        self.addCleanup(
            self.fetch_and_commit,
            "DELETE FROM ir_cron_trigger WHERE cron_id = ANY(%s) RETURNING id",
            [list(crons.values())],
        )
        self.fetch_and_commit("DELETE FROM ir_cron_trigger WHERE cron_id = ANY(%s) RETURNING id",
                              [list(crons.values())])  # fmt: skip
        triggers = (
            "SELECT cron_id, call_at > (now() at time zone 'UTC') + interval '50 seconds'"
            "  FROM ir_cron_trigger WHERE cron_id = ANY(%s) ORDER BY id"
        )
        for run in range(2):
            with self.cursor() as cr:
                self.assertEqual(
                    self.run_once(cr, "notices", cron=first)[1:], (LIMIT, 60 - run * LIMIT)
                )
                cr.commit()  # pylint: disable=invalid-commit
        self.assertEqual(
            self.fetch(triggers, [list(crons.values())]),
            [(crons[second], False)],
            "the second worker is called once, now",
        )
        # the last notices are held by another transaction (a run of the other worker)
        with self.cursor() as holder:
            holder.execute(
                "SELECT id FROM credit_notice WHERE id = ANY(%s) AND state = 'pending' FOR UPDATE",
                [notices],
            )
            self.assertEqual(len(holder.fetchall()), LIMIT)
            with self.cursor() as cr:
                self.assertEqual(self.run_once(cr, "notices", cron=second)[1:], (0, LIMIT))
                cr.commit()  # pylint: disable=invalid-commit
            holder.rollback()  # that run dies
        self.assertEqual(
            self.fetch(triggers, [list(crons.values())]),
            [(crons[second], False), (crons[second], True)],
            "the second worker looks again in a minute",
        )
        self.finish("notices")
        self.assertEqual(self.notice_messages(notices), dict.fromkeys(notices, ("sent", 1)))
