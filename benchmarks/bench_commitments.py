"""Commitment benchmark: the year-end evaluation of 350,000 signed credit
commitments (Rongcheng: 53 communities, every resident signs the yearly
resident commitment), times SCALE.

    python bench_commitments.py [--scale 1.0] [options] -- -d DB --addons-path=... --db_host=...

Run it through ``BENCH=commitments bash benchmarks/run.sh``, which prepares the
database (a new one each time: the evaluation changes the data it measures).

Set-up (not measured): 53 communities (times SCALE, at least 2) with a building
each, 6 of 53 not deducting points (积分不扣分); a yearly resident commitment of three
obligations (at least 5 points, no deduction, at least 2 volunteer services) with a
bonus and a deduction rule; last year's activity of every resident: award and
deduction lines posted through credit.ledger.line._post in batches of 5,000,
volunteer services (with their event registrations) and the signed commitments, one
per resident. Residents, registrations, services and the signed commitments are
bulk-inserted with SQL; one commitment signed through the ORM (action_sign, then
rolled back) proves that the inserted rows are what signing writes. 60% of the
residents meet every obligation; two tenths have activity that must not count
(points dated this year, cancelled services).

Measured: the cron's evaluation (credit.commitment._cron_evaluate, called until it
returns nothing, with a commit after each call as the cron does): wall time,
commitments per second, peak RSS during the evaluation (sampled) and, with
--tracemalloc, the peak of Python allocations (--profile FILE: a cProfile of it;
--limit: commitments per cron call); then the cron once more (nothing left to
evaluate) and a re-evaluation of every commitment with the same outcome (nothing may
be posted; --no-reevaluate skips it). Checks the outcomes, obligation by obligation,
against what the generated activity implies, the bonus and deduction lines against
the outcomes, and the balances against the ledger (a sample, then all of them).
Prints ``BENCH name value unit`` lines and PASS or FAIL.
"""

import cProfile
import os
import pstats
import random
import resource
import sys
import threading
import time
import tracemalloc
from datetime import date, datetime, timedelta

from bench_ledger import Results, bench_parser, checkpoint, log, maintenance, next_id, open_bench

COMMUNITIES = 53
SUBJECTS = 350_000
PREFIX = "BCM"
POST_BATCH = 5000  # ledger lines per _post() call in the set-up
EVAL_LIMIT = 20000  # _cron_evaluate()'s default
AWARD, DEDUCTION, BONUS, BREACH = 3, -2, 10, -5  # points of the bench rules
SERVICE_HOURS = 2.5
SAMPLE = 1000  # balances checked one by one against their ledger lines
# last year's activity by subject index modulo 10:
# (awards last year, deductions last year, services done, services cancelled,
#  awards dated this year: outside the period, they must not count)
PROFILES = {
    0: (2, 0, 2, 0, 0),
    1: (2, 0, 2, 0, 0),
    2: (2, 0, 2, 0, 0),
    3: (2, 0, 2, 0, 0),
    4: (2, 0, 2, 0, 0),
    5: (2, 0, 2, 0, 0),  # 0-5: every obligation met
    6: (2, 1, 2, 0, 0),  # one deduction (refused, so none, where communities do not deduct)
    7: (1, 0, 2, 0, 0),  # 3 points of 5
    8: (2, 0, 0, 2, 0),  # services cancelled: none of 2
    9: (0, 0, 0, 0, 2),  # only this year's points
}
POINTS_TARGET, SERVICES_TARGET = 5, 2
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def deducts(k):
    """Community k (0-based) deducts points, except every tenth from the second
    (积分不扣分 communities): 6 of 53 do not."""
    return k % 10 != 1


def community_of(i, n, nc):
    """Index of the community of subject i of n (contiguous blocks, as in the SQL)."""
    return i * nc // n


# ----------------------------------------------------------------- memory
def current_rss():
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE
    except OSError:  # not Linux: the process's peak so far
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class RssSampler(threading.Thread):
    """Samples the resident set size of this process while it runs; `peak` in bytes."""

    def __init__(self, interval=0.02):
        super().__init__(daemon=True)
        self.interval = interval
        self.start_rss = current_rss()
        self.peak = self.start_rss
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            self.peak = max(self.peak, current_rss())
            self._done.wait(self.interval)

    def stop(self):
        self._done.set()
        self.join()
        self.peak = max(self.peak, current_rss())
        return self.peak


def mb(size):
    return size / 1024 / 1024


# ----------------------------------------------------------------- set-up
def create_config(env, nc):
    """Places, rules, events, the office user and the commitment template (ORM)."""
    from odoo import Command, fields

    Place = env["credit.place"]
    communities = Place.create(
        [
            {
                "name": f"Community {k + 1:02d} (bench)",
                "code": f"{PREFIX}-C{k + 1:02d}",
                "place_type": "community",
                "allow_deduction": deducts(k),
            }
            for k in range(nc)
        ]
    )
    buildings = Place.create(
        [
            {
                "name": "Building 1",
                "code": f"{community.code}-B1",
                "place_type": "building",
                "parent_id": community.id,
            }
            for community in communities
        ]
    )
    category = env["credit.rule.category"].create({"name": "承诺 Commitments (bench)"})
    Rule = env["credit.rule"]
    award, deduction, bonus, breach = (
        Rule.create(
            {"code": f"{PREFIX}-{code}", "name": name, "category_id": category.id, "points": pts}
        )
        for code, name, pts in [
            ("AWARD", "Help a neighbour", AWARD),
            ("DEDUCT", "Littering", DEDUCTION),
            ("BONUS", "Commitment kept", BONUS),
            ("BREACH", "Commitment broken", BREACH),
        ]
    )
    office = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": "Bench Commitments Office",
                "login": "bench_commitments_office",
                "groups_id": [
                    Command.set(
                        [
                            env.ref("base.group_user").id,
                            env.ref("community_credit.group_credit_grid_worker").id,
                        ]
                    )
                ],
                "credit_place_ids": [Command.set(communities.ids)],
            }
        )
    )
    today = fields.Date.context_today(award)
    year = today.year - 1
    events = env["event.event"].create(
        [
            {
                "name": f"Community service {m} (bench)",
                "date_begin": datetime(year, m, 15, 1, 0),
                "date_end": datetime(year, m, 15, 4, 0),
            }
            for m in (4, 10)
        ]
    )
    template = env["credit.commitment.template"].create(
        {
            "name": "Resident's yearly commitment (bench)",
            "role_id": env.ref("community_credit.role_resident").id,
            "period": "year",
            "text": "<p>I will earn at least 5 points, take part in at least 2 "
            "community services and keep clear of deductions this year.</p>",
            "bonus_rule_id": bonus.id,
            "deduction_rule_id": breach.id,
            "obligation_ids": [
                Command.create(
                    {
                        "sequence": 1,
                        "name": f"Earn at least {POINTS_TARGET} points",
                        "kind": "points",
                        "target": POINTS_TARGET,
                    }
                ),
                Command.create({"sequence": 2, "name": "No deduction", "kind": "no_deduction"}),
                Command.create(
                    {
                        "sequence": 3,
                        "name": f"Take part in at least {SERVICES_TARGET} community services",
                        "kind": "services",
                        "target": SERVICES_TARGET,
                    }
                ),
            ],
        }
    )
    env.flush_all()
    return {
        "communities": communities.ids,
        "buildings": buildings.ids,
        "award": award.id,
        "deduction": deduction.id,
        "bonus": bonus.id,
        "breach": breach.id,
        "office": office.id,
        "events": events.ids,
        "template": template.id,
        "year": year,
        "date_from": date(year, 1, 1),
        "date_to": date(year, 12, 31),
        "this_year": date(today.year, 1, 1),
    }


def insert_subjects(env, data, n):
    """Residents, spread in contiguous blocks over the communities' buildings."""
    cr = env.cr
    base = next_id(cr, "res_partner")
    cr.execute(
        """
        INSERT INTO res_partner (id, name, complete_name, commercial_partner_id, type, active,
               is_company, employee, partner_share, lang, color, message_bounce,
               credit_place_id, credit_community_id, credit_is_subject,
               create_uid, create_date, write_uid, write_date)
        SELECT %(base)s + n, nm.name, nm.name, %(base)s + n, 'contact', true,
               false, false, true, 'en_US', 0, 0,
               b.place_id, p.community_id, true,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM generate_series(1, %(n)s) AS n
         CROSS JOIN LATERAL (SELECT 'Bench Resident ' || lpad(n::text, 6, '0') AS name) AS nm
          JOIN unnest(%(buildings)s::int[]) WITH ORDINALITY AS b(place_id, k)
            ON b.k - 1 = ((n - 1)::bigint * %(nc)s) / %(n)s
          JOIN credit_place p ON p.id = b.place_id
        """,
        {"base": base, "n": n, "nc": len(data["buildings"]), "buildings": data["buildings"],
         "uid": env.uid},
    )  # fmt: skip
    assert cr.rowcount == n, cr.rowcount
    cr.execute("SELECT setval('res_partner_id_seq', %s)", [base + n])
    roles = env["res.partner"]._fields["credit_role_ids"]
    cr.execute(
        f"INSERT INTO {roles.relation} ({roles.column1}, {roles.column2}) "
        "SELECT %s + n, %s FROM generate_series(1, %s) AS n",
        [base, env.ref("community_credit.role_resident").id, n],
    )
    env.invalidate_all()
    data["first_partner"] = base + 1
    data["last_partner"] = base + n


def insert_services(env, data, n):
    """Two event registrations per resident of profiles 0-8, each with its volunteer
    service (done, or cancelled for profile 8); profile 9 has none."""
    cr = env.cr
    cr.execute(
        """
        INSERT INTO event_registration (event_id, partner_id, name, state, active, barcode,
               company_id, date_closed, create_uid, create_date, write_uid, write_date)
        SELECT e.id, p.id, p.name, 'done', true, %(prefix)s || e.id || '-' || p.id,
               e.company_id, e.date_end, %(uid)s, e.date_end, %(uid)s, e.date_end
          FROM res_partner p
          JOIN event_event e ON e.id = ANY(%(events)s)
         WHERE p.id BETWEEN %(first)s AND %(last)s AND (p.id - %(first)s) %% 10 <> 9
      ORDER BY e.id, p.id
        """,
        {"prefix": PREFIX, "events": data["events"], "first": data["first_partner"],
         "last": data["last_partner"], "uid": data["office"]},
    )  # fmt: skip
    registrations = cr.rowcount
    cr.execute(
        """
        INSERT INTO credit_volunteer_service (registration_id, event_id, partner_id, date,
               hours, state, community_id, company_id,
               create_uid, create_date, write_uid, write_date)
        SELECT r.id, r.event_id, r.partner_id, e.date_end::date, %(hours)s,
               CASE WHEN (r.partner_id - %(first)s) %% 10 = 8 THEN 'cancelled' ELSE 'done' END,
               p.credit_community_id, r.company_id,
               %(uid)s, e.date_end, %(uid)s, e.date_end
          FROM event_registration r
          JOIN event_event e ON e.id = r.event_id
          JOIN res_partner p ON p.id = r.partner_id
         WHERE r.event_id = ANY(%(events)s)
      ORDER BY r.id
        """,
        {"hours": SERVICE_HOURS, "events": data["events"], "first": data["first_partner"],
         "uid": data["office"]},
    )  # fmt: skip
    return registrations, cr.rowcount


def activity_vals(data, n, nc):
    """The ledger lines of last year's activity (and this year's, which must not count)."""
    start = data["date_from"]
    days = (data["date_to"] - start).days + 1
    for i in range(n):
        awards, deductions, _done, _cancelled, later = PROFILES[i % 10]
        if deductions and not deducts(community_of(i, n, nc)):
            deductions = 0  # _post would refuse it: this community does not deduct
        partner_id = data["first_partner"] + i
        for k in range(awards):
            yield {
                "partner_id": partner_id,
                "rule_id": data["award"],
                "origin": "manual",
                # every day of the year, the first and the last included
                "date": start + timedelta(days=(i * 7 + k * 183) % days),
                "idempotency_key": f"{PREFIX}:award:{partner_id}:{k}",
            }
        for k in range(deductions):
            yield {
                "partner_id": partner_id,
                "rule_id": data["deduction"],
                "origin": "manual",
                "date": start + timedelta(days=(i * 11 + 90) % days),
                "idempotency_key": f"{PREFIX}:deduct:{partner_id}:{k}",
            }
        for k in range(later):
            yield {
                "partner_id": partner_id,
                "rule_id": data["award"],
                "origin": "manual",
                "date": data["this_year"],
                "idempotency_key": f"{PREFIX}:later:{partner_id}:{k}",
            }


def post_activity(env, data, n, nc):
    """Post the activity through the ledger's own posting path, 5,000 lines a call."""
    Ledger = env["credit.ledger.line"].sudo()
    batch, posted, calls = [], 0, 0
    t0 = time.perf_counter()

    def flush():
        nonlocal batch, posted, calls
        Ledger._post(batch, check_rights=False)
        env.cr.commit()  # clears the cache too
        posted += len(batch)
        calls += 1
        if calls % 20 == 0:
            elapsed = time.perf_counter() - t0
            log(f"      {posted:,} lines posted, {posted / elapsed:,.0f}/s")
        batch = []

    for vals in activity_vals(data, n, nc):
        batch.append(vals)
        if len(batch) == POST_BATCH:
            flush()
    if batch:
        flush()
    return posted, time.perf_counter() - t0


def insert_commitments(env, data):
    """The signed commitments, one per resident, as action_sign leaves them."""
    cr = env.cr
    template = env["credit.commitment.template"].browse(data["template"])
    obligations = template.obligation_ids  # in the template's order, as action_sign copies them
    text = template.with_context(lang="en_US").text
    cr.execute(
        """
        INSERT INTO credit_commitment (template_id, partner_id, community_id, company_id,
               date_from, date_to, state, signer_name, sign_origin, signed_by_id, signed_on,
               accepted_text, create_uid, create_date, write_uid, write_date)
        SELECT %(template)s, p.id, p.credit_community_id, c.company_id,
               %(date_from)s, %(date_to)s, 'signed', p.name, 'office', %(office)s, s.signed_on,
               %(text)s, %(office)s, s.signed_on, %(office)s, s.signed_on
          FROM res_partner p
          JOIN credit_place c ON c.id = p.credit_community_id
         CROSS JOIN LATERAL (SELECT %(date_from)s::timestamp
                                    + ((p.id %% 60) || ' days 09:00')::interval AS signed_on) s
         WHERE p.id BETWEEN %(first)s AND %(last)s
      ORDER BY p.id
        """,
        {"template": template.id, "date_from": data["date_from"], "date_to": data["date_to"],
         "office": data["office"], "text": text, "first": data["first_partner"],
         "last": data["last_partner"]},
    )  # fmt: skip
    commitments = cr.rowcount
    cr.execute(
        """
        INSERT INTO credit_commitment_line (commitment_id, obligation_id, kind, result,
               create_uid, create_date, write_uid, write_date)
        SELECT c.id, o.id, o.kind, 'pending', %(office)s, c.signed_on, %(office)s, c.signed_on
          FROM credit_commitment c
          JOIN unnest(%(obligations)s::int[]) WITH ORDINALITY AS u(id, seq) ON true
          JOIN credit_commitment_obligation o ON o.id = u.id
         WHERE c.template_id = %(template)s
      ORDER BY c.id, u.seq
        """,
        {"office": data["office"], "obligations": obligations.ids, "template": template.id},
    )
    lines = cr.rowcount
    # action_sign() subscribes the subject; creating the commitment subscribed the
    # office worker who created it
    cr.execute("SELECT partner_id FROM res_users WHERE id = %s", [data["office"]])
    office_partner = cr.fetchone()[0]
    cr.execute(
        """
        INSERT INTO mail_followers (res_model, res_id, partner_id)
        SELECT 'credit.commitment', c.id, f.partner_id
          FROM credit_commitment c
         CROSS JOIN LATERAL (VALUES (c.partner_id), (%(office)s)) AS f(partner_id)
         WHERE c.template_id = %(template)s
      ORDER BY c.id, f.partner_id
        """,
        {"office": office_partner, "template": template.id},
    )
    env.invalidate_all()
    return commitments, lines


def check_signed_rows(registry, data):
    """Sign one commitment through the ORM as the office (create + action_sign, for
    this year's period), compare its rows with the inserted ones of the same
    subject, and roll it back. Returns a list of differences."""
    import odoo

    varying = {"id", "commitment_id", "date_from", "date_to", "signed_on", "create_date",
               "write_date"}  # fmt: skip
    partner_id = data["first_partner"]
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, data["office"], {})
        try:
            ref = env["credit.commitment"].create(
                {"template_id": data["template"], "partner_id": partner_id}
            )
            ref.action_sign(origin="office")
            env.flush_all()

            def rows(query, params):
                cr.execute(query, params)
                return cr.dictfetchall()

            pair = rows(
                "SELECT * FROM credit_commitment WHERE partner_id = %s AND template_id = %s "
                "ORDER BY id DESC",
                [partner_id, data["template"]],
            )
            assert len(pair) == 2 and pair[0]["id"] == ref.id, pair
            line_query = "SELECT * FROM credit_commitment_line WHERE commitment_id = %s ORDER BY id"
            ref_lines, bench_lines = (rows(line_query, [row["id"]]) for row in pair)
            follower_query = (
                "SELECT partner_id FROM mail_followers "
                "WHERE res_model = 'credit.commitment' AND res_id = %s ORDER BY partner_id"
            )
            ref_followers, bench_followers = (rows(follower_query, [row["id"]]) for row in pair)
        finally:
            cr.rollback()
    differences = [
        f"credit_commitment.{col}: signed {pair[0][col]!r}, inserted {pair[1][col]!r}"
        for col in pair[0]
        if col not in varying and pair[0][col] != pair[1][col]
    ]
    if len(ref_lines) != len(bench_lines):
        differences.append(f"{len(ref_lines)} lines signed, {len(bench_lines)} inserted")
    for ref_line, bench_line in zip(ref_lines, bench_lines, strict=False):
        differences += [
            f"credit_commitment_line.{col}: signed {ref_line[col]!r}, inserted {bench_line[col]!r}"
            for col in ref_line
            if col not in varying and ref_line[col] != bench_line[col]
        ]
    if ref_followers != bench_followers:
        differences.append(f"followers: signed {ref_followers}, inserted {bench_followers}")
    return differences


def expected_outcomes(data, n, nc):
    """What the evaluation must find, from the generated activity."""
    exp = {
        "fulfilled": 0,
        "breached": 0,
        "bonus": 0,
        "deducted": 0,
        "no_line": 0,
        "met": {"points": 0, "no_deduction": 0, "services": 0},
        "points_value": 0,
        "services_value": 0,
        "deductions_value": 0,
        "score": 0.0,
    }
    for i in range(n):
        awards, deductions, done, _cancelled, _later = PROFILES[i % 10]
        deducting = deducts(community_of(i, n, nc))
        if not deducting:
            deductions = 0
        points = awards * AWARD
        met = {
            "points": points >= POINTS_TARGET,
            "no_deduction": deductions == 0,
            "services": done >= SERVICES_TARGET,
        }
        for kind, ok in met.items():
            exp["met"][kind] += ok
        exp["points_value"] += points
        exp["services_value"] += done
        exp["deductions_value"] += deductions
        # the evaluation rounds each score to one decimal (equal weights here)
        exp["score"] += round(100.0 * sum(met.values()) / len(met), 1)
        if all(met.values()):
            exp["fulfilled"] += 1
            exp["bonus"] += 1
        else:
            exp["breached"] += 1
            if deducting:
                exp["deducted"] += 1
            else:
                exp["no_line"] += 1
    return exp


def setup(registry, env, args):
    n = max(100, round(SUBJECTS * args.scale))
    nc = max(2, round(COMMUNITIES * args.scale))
    t_start = time.perf_counter()

    def step(label, t0):
        log(f"   {label:<60} {time.perf_counter() - t0:8.1f} s")

    t0 = time.perf_counter()
    data = create_config(env, nc)
    env.cr.commit()
    step(f"{nc} communities, rules, events, template via the ORM", t0)
    log(
        f"   (the period: {data['date_from']} ~ {data['date_to']}; "
        f"{sum(not deducts(k) for k in range(nc))} of {nc} communities do not deduct)"
    )
    t0 = time.perf_counter()
    insert_subjects(env, data, n)
    env.cr.commit()
    step(f"{n:,} residents via SQL", t0)
    t0 = time.perf_counter()
    registrations, services = insert_services(env, data, n)
    env.cr.commit()
    step(f"{registrations:,} registrations and {services:,} services via SQL", t0)
    maintenance(
        registry.db_name,
        [f"VACUUM (ANALYZE) {t}" for t in ("res_partner", "credit_place", "credit_balance")],
    )
    t0 = time.perf_counter()
    posted, elapsed = post_activity(env, data, n, nc)
    step(f"{posted:,} ledger lines via _post ({posted / elapsed:,.0f}/s)", t0)
    t0 = time.perf_counter()
    commitments, lines = insert_commitments(env, data)
    env.cr.commit()
    step(f"{commitments:,} signed commitments, {lines:,} obligation lines via SQL", t0)
    t0 = time.perf_counter()
    maintenance(
        registry.db_name,
        [
            f"VACUUM (ANALYZE) {table}"
            for table in (
                "res_partner",
                "credit_ledger_line",
                "credit_balance",
                "credit_volunteer_service",
                "event_registration",
                "credit_commitment",
                "credit_commitment_line",
                "mail_followers",
            )
        ],
    )
    step("VACUUM (ANALYZE)", t0)
    data.update(n=n, nc=nc, posted=posted, setup_s=time.perf_counter() - t_start)
    return data


# ------------------------------------------------------------ measurement
def ledger_figures(cr):
    cr.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM credit_ledger_line")
    return cr.fetchone()


def state_counts(cr, template_id):
    cr.execute(
        "SELECT state, COUNT(*) FROM credit_commitment WHERE template_id = %s GROUP BY state",
        [template_id],
    )
    return dict(cr.fetchall())


def run_cron(registry, limit):
    """Call _cron_evaluate() until it returns nothing, committing after each call
    like the cron worker (one cursor, the cache cleared by each commit)."""
    import odoo

    calls = []
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        Commitment = env["credit.commitment"]
        while True:
            t0 = time.perf_counter()
            batch = Commitment._cron_evaluate(limit=limit)
            cr.commit()
            calls.append((len(batch), time.perf_counter() - t0))
            if not batch:
                break
    return calls


def reevaluate(registry, template_id, chunk):
    """Evaluate every commitment again (the council's re-evaluation, without its
    chatter message): the outcome is unchanged, nothing may be posted."""
    import odoo

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        ids = env["credit.commitment"].search([("template_id", "=", template_id)], order="id").ids
        cr.commit()
        for start in range(0, len(ids), chunk):
            env["credit.commitment"].browse(ids[start : start + chunk])._evaluate()
            cr.commit()
    return len(ids)


def check(registry, data, exp):
    """Outcomes, obligations, contract lines and balances: a list of failures."""
    import odoo

    failures = []

    def expect(label, got, want):
        status = "ok" if got == want else "WRONG"
        log(f"   {label:<52} {got!s:>14}  expected {want!s:>14}  {status}")
        if got != want:
            failures.append(f"{label}: {got} instead of {want}")

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        states = state_counts(cr, data["template"])
        expect("commitments fulfilled", states.get("fulfilled", 0), exp["fulfilled"])
        expect("commitments breached", states.get("breached", 0), exp["breached"])
        expect("commitments left signed", states.get("signed", 0), 0)
        cr.execute(
            """
            SELECT l.kind, COUNT(*) FILTER (WHERE l.result = 'met'),
                   COUNT(*) FILTER (WHERE l.result = 'pending'), SUM(l.value)
              FROM credit_commitment_line l
              JOIN credit_commitment c ON c.id = l.commitment_id
             WHERE c.template_id = %s
          GROUP BY l.kind
            """,
            [data["template"]],
        )
        by_kind = {kind: (met, pending, value) for kind, met, pending, value in cr.fetchall()}
        for kind in ("points", "no_deduction", "services"):
            met, pending, _value = by_kind.get(kind, (0, 0, 0))
            expect(f"obligations '{kind}' met", met, exp["met"][kind])
            expect(f"obligations '{kind}' pending", pending, 0)
        expect("points measured (sum)", round(by_kind["points"][2]), exp["points_value"])
        expect("services measured (sum)", round(by_kind["services"][2]), exp["services_value"])
        expect(
            "deductions measured (sum)", round(by_kind["no_deduction"][2]), exp["deductions_value"]
        )
        # (scores are rounded to one decimal each: compare the sums to one decimal)
        cr.execute(
            "SELECT ROUND(SUM(score)::numeric, 1) FROM credit_commitment WHERE template_id = %s",
            [data["template"]],
        )
        expect("scores (sum)", float(cr.fetchone()[0]), round(exp["score"], 1))

        cr.execute(
            """
            SELECT COUNT(*) FILTER (WHERE l.rule_id = %(bonus)s),
                   COUNT(*) FILTER (WHERE l.rule_id = %(breach)s),
                   COUNT(*) FILTER (WHERE l.rule_id NOT IN (%(bonus)s, %(breach)s)),
                   COALESCE(SUM(l.points), 0)
              FROM credit_ledger_line l
             WHERE l.origin = 'contract'
            """,
            {"bonus": data["bonus"], "breach": data["breach"]},
        )
        bonuses, deductions, other, points = cr.fetchone()
        expect("contract lines: bonuses", bonuses, exp["bonus"])
        expect("contract lines: deductions", deductions, exp["deducted"])
        expect("contract lines: other rules", other, 0)
        expect(
            "contract lines = fulfilled + breached deducting",
            bonuses + deductions,
            states.get("fulfilled", 0) + exp["deducted"],
        )
        expect("contract points (sum)", points, BONUS * exp["bonus"] + BREACH * exp["deducted"])
        # each outcome line belongs to its commitment: subject, rule, reference, date
        cr.execute(
            """
            SELECT COUNT(*) FILTER (WHERE l.id IS NULL AND c.state = 'fulfilled'),
                   COUNT(*) FILTER (WHERE l.id IS NULL AND c.state = 'breached'),
                   COUNT(*) FILTER (WHERE l.id IS NOT NULL AND (
                        l.partner_id <> c.partner_id
                        OR l.origin_ref <> 'credit.commitment,' || c.id
                        OR l.date <> c.date_to OR l.state <> 'posted'
                        OR l.rule_id <> CASE WHEN c.state = 'fulfilled'
                                             THEN %(bonus)s ELSE %(breach)s END))
              FROM credit_commitment c
         LEFT JOIN credit_ledger_line l ON l.id = c.ledger_line_id
             WHERE c.template_id = %(template)s
            """,
            {"bonus": data["bonus"], "breach": data["breach"], "template": data["template"]},
        )
        fulfilled_without, breached_without, mismatched = cr.fetchone()
        expect("fulfilled without a bonus line", fulfilled_without, 0)
        expect("breached without a line (no-deduction places)", breached_without, exp["no_line"])
        expect("outcome lines not matching their commitment", mismatched, 0)
        cr.execute(
            "SELECT COUNT(*) FROM credit_commitment WHERE template_id = %s "
            "AND (post_error IS NOT NULL OR evaluated_on IS NULL)",
            [data["template"]],
        )
        expect("commitments with a post error or no date", cr.fetchone()[0], 0)

        sample = random.Random(data["n"]).sample(
            range(data["first_partner"], data["last_partner"] + 1), min(SAMPLE, data["n"])
        )
        cr.execute(
            """
            SELECT COUNT(*) FILTER (WHERE b.balance IS DISTINCT FROM l.total
                                       OR b.line_count IS DISTINCT FROM l.n
                                       OR b.total_earned IS DISTINCT FROM l.earned
                                       OR b.total_spent IS DISTINCT FROM l.spent),
                   COUNT(*)
              FROM unnest(%(sample)s::int[]) AS s(partner_id)
         LEFT JOIN credit_balance b ON b.partner_id = s.partner_id
         LEFT JOIN (SELECT partner_id, SUM(points) AS total, COUNT(*) AS n,
                           SUM(GREATEST(points, 0)) AS earned,
                           SUM(GREATEST(-points, 0)) AS spent
                      FROM credit_ledger_line WHERE partner_id = ANY(%(sample)s)
                  GROUP BY partner_id) l ON l.partner_id = s.partner_id
            """,
            {"sample": sample},
        )
        wrong, sampled = cr.fetchone()
        expect(f"balances of {sampled:,} sampled subjects not = ledger", wrong, 0)
        t0 = time.perf_counter()
        mismatches = env["credit.balance"]._check_consistency()
        expect("balances not = ledger (_check_consistency)", len(mismatches), 0)
        log(f"   (_check_consistency over the whole ledger: {time.perf_counter() - t0:.1f} s)")
        cr.rollback()
    return failures


def main():
    parser = bench_parser(__doc__, "1.0 = 350,000 commitments")
    parser.add_argument(
        "--limit", type=int, default=EVAL_LIMIT, help="commitments per _cron_evaluate() call"
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also trace Python allocations during the evaluation (peak; slows it down)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="profile the evaluation with cProfile: save the stats to FILE and print the "
        "functions that take the most time (slows it down)",
    )
    parser.add_argument(
        "--no-reevaluate",
        dest="reevaluate",
        action="store_false",
        help="skip the re-evaluation of every commitment",
    )
    args, registry = open_bench(parser)
    dbname = registry.db_name

    import odoo

    results = Results(args.scale)

    with registry.cursor() as cr:
        env = odoo.api.Environment(
            cr,
            odoo.SUPERUSER_ID,
            {
                "tracking_disable": True,
                "mail_create_nolog": True,
                "mail_notrack": True,
                "mail_create_nosubscribe": True,
            },
        )
        if env["credit.place"].search_count([("code", "=like", f"{PREFIX}-%")]):
            log("This database already holds the commitments bench: run without REUSE=1.")
            return 2
        cr.execute("SHOW server_version")
        log(f"PostgreSQL {cr.fetchone()[0]}; scale {args.scale}\n\nSet-up (not measured):")
        data = setup(registry, env, args)
    n = data["n"]
    log(f"Set-up took {data['setup_s']:.1f} s")
    results.add("commitments: set-up (not a measurement)", data["setup_s"], "s")

    differences = check_signed_rows(registry, data)
    log(
        "Rows signed through action_sign() and inserted rows: "
        + ("the same" if not differences else "DIFFERENT\n   " + "\n   ".join(differences))
    )
    exp = expected_outcomes(data, n, data["nc"])
    log(
        f"\n{n:,} signed commitments of {data['date_from']} ~ {data['date_to']} in "
        f"{data['nc']} communities; expected {exp['fulfilled']:,} fulfilled, "
        f"{exp['breached']:,} breached ({exp['deducted']:,} with a deduction)"
    )
    checkpoint(dbname)

    # -- the cron's evaluation
    with registry.cursor() as cr:
        lines_before, max_line = ledger_figures(cr)
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sampler = RssSampler()
    if args.tracemalloc:
        tracemalloc.start()
    profiler = cProfile.Profile() if args.profile else None
    sampler.start()
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    calls = run_cron(registry, args.limit)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - t0
    peak = sampler.stop()
    if profiler:
        profiler.dump_stats(args.profile)
        log(f"   (profile saved to {args.profile}; the evaluation's time includes its overhead)")
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
    traced_peak = None
    if args.tracemalloc:
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if maxrss_after > maxrss_before:  # the process's peak was reached during the evaluation
        peak = max(peak, maxrss_after)
    with registry.cursor() as cr:
        lines_after, _max = ledger_figures(cr)
        cr.execute("SELECT COUNT(*) FROM credit_ledger_line WHERE id > %s", [max_line])
        posted = cr.fetchone()[0]
        states = state_counts(cr, data["template"])
    evaluated = sum(count for count, _s in calls)
    log(
        f"   {len(calls)} calls of _cron_evaluate(limit={args.limit:,}) evaluated {evaluated:,} "
        f"commitments in {elapsed:.1f} s (slowest call {max(s for _c, s in calls):.1f} s), "
        f"posted {posted:,} lines"
    )
    log("   seconds per call: " + ", ".join(f"{seconds:.1f}" for _count, seconds in calls))
    results.add("commitments: evaluate (cron, all)", elapsed, "s")
    results.add("commitments: evaluation rate", evaluated / elapsed, "commitments/s")
    results.add("commitments: lines posted", posted, "lines")
    results.add("commitments: peak RSS during evaluation", mb(peak), "MB")
    results.add("commitments: RSS growth during evaluation", mb(peak - sampler.start_rss), "MB")
    log(
        f"   (RSS {mb(sampler.start_rss):,.0f} MB before, peak {mb(peak):,.0f} MB; getrusage "
        f"maxrss {mb(maxrss_before):,.0f} MB before, {mb(maxrss_after):,.0f} MB after)"
    )
    if traced_peak is not None:
        results.add("commitments: Python allocations peak (tracemalloc)", mb(traced_peak), "MB")

    # -- the cron again: nothing left
    t0 = time.perf_counter()
    calls_again = run_cron(registry, args.limit)
    rerun_s = time.perf_counter() - t0
    with registry.cursor() as cr:
        lines_rerun, _max = ledger_figures(cr)
        states_rerun = state_counts(cr, data["template"])
    results.add("commitments: cron again (nothing to do)", rerun_s, "s")
    rerun_ok = (
        lines_rerun == lines_after
        and states_rerun == states
        and sum(c for c, _s in calls_again) == 0
    )
    log(f"   cron again: {lines_rerun - lines_after} lines posted, states unchanged: {rerun_ok}")

    # -- the re-evaluation of every commitment: same outcome, nothing posted
    reeval_ok = True
    if args.reevaluate:
        t0 = time.perf_counter()
        count = reevaluate(registry, data["template"], 2000)
        reeval_s = time.perf_counter() - t0
        with registry.cursor() as cr:
            lines_reeval, _max = ledger_figures(cr)
            states_reeval = state_counts(cr, data["template"])
            cr.execute(
                "SELECT MIN(evaluation_count), MAX(evaluation_count) FROM credit_commitment "
                "WHERE template_id = %s",
                [data["template"]],
            )
            counts = cr.fetchone()
        results.add("commitments: re-evaluate all (same outcome)", reeval_s, "s")
        log(f"   re-evaluation: {count / reeval_s:,.0f} commitments/s")
        reeval_ok = lines_reeval == lines_after and states_reeval == states and counts == (2, 2)
        log(
            f"   re-evaluation: {lines_reeval - lines_after} lines posted, states unchanged "
            f"{states_reeval == states}, evaluation counts {counts}"
        )

    log("\nChecks:")
    failures = check(registry, data, exp)
    if differences:
        failures.append("inserted signed rows differ from action_sign()'s")
    if evaluated != n:
        failures.append(f"the cron evaluated {evaluated} commitments, not {n}")
    if posted != exp["bonus"] + exp["deducted"] or lines_after - lines_before != posted:
        failures.append(f"{posted} lines posted, not {exp['bonus'] + exp['deducted']}")
    if not rerun_ok:
        failures.append("the cron's second run changed something")
    if not reeval_ok:
        failures.append("the re-evaluation posted lines or changed outcomes")

    log(f"\nResults at scale {args.scale} ({n:,} commitments)")
    log(results.table())
    for failure in failures:
        log(f"FAIL: {failure}")
    log("PASS" if not failures else "FAIL")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
