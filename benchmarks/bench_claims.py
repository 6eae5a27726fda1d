"""Claims benchmark: certify and post a month of claims for a community the size
of Longhai (35,000 residents, 6 estates, 6 review groups): 20,000 claims.

    python bench_claims.py [--scale 1.0] [options] -- -d DB --addons-path=... --db_host=...

Run it through ``BENCH=claims bash benchmarks/run.sh``, which prepares the database.
Every step goes through the addon's own methods, as the users who do it:

1. the grid worker creates the month's claims (ORM create) and submits them
   (one request per thousand claims);
2. each estate's review group loads and certifies its claims in a review batch;
3. the council re-checks the whole month in one batch: the claims are published;
4. the publication closes (its last day is moved to yesterday) and the cron posts
   every claim's points through the ledger's posting path.

Residents are bulk-inserted with SQL (their creation is not what is measured).
Between the steps the tables are analysed, as autovacuum does while a month passes.
Checks at the end that the ledger holds exactly one line per claimed subject and
that the balances equal the ledger. Prints ``BENCH name value unit`` lines.
"""

import sys
import time
import tracemalloc
from datetime import timedelta

from bench_ledger import Results, bench_parser, log, maintenance, next_id, open_bench

RESIDENTS = 35_000
CLAIMS = 20_000
ESTATES = 6
BUILDINGS_PER_ESTATE = 9
GROUP_CLAIMS = 200  # claims for a group of GROUP_SIZE residents (a stairwell cleaned together)
GROUP_SIZE = 10
PREFIX = "BCL"
CHUNK = 1000
TARGET_TOTAL_S = 600  # the whole month, declare to posted, at most


def setup(env, scale):
    """Community, estates, buildings, residents, rules, users, review groups."""
    from odoo import Command, fields

    Place = env["credit.place"]
    community = Place.create(
        {
            "name": "龙海社区 Longhai (bench)",
            "code": f"{PREFIX}-C",
            "place_type": "community",
            "claim_publication_days": 7,
        }
    )
    estates = Place.create(
        [
            {
                "name": f"Estate {e}",
                "code": f"{PREFIX}-E{e}",
                "place_type": "estate",
                "parent_id": community.id,
            }
            for e in range(1, ESTATES + 1)
        ]
    )
    buildings = Place.create(
        [
            {
                "name": f"Building {e.code}-{b}",
                "code": f"{e.code}-B{b}",
                "place_type": "building",
                "parent_id": e.id,
            }
            for e in estates
            for b in range(1, BUILDINGS_PER_ESTATE + 1)
        ]
    )
    category = env["credit.rule.category"].create({"name": "睦邻 (bench)", "period": "month"})
    rules = env["credit.rule"].create(
        [
            {
                "code": f"{PREFIX}-{n}",
                "name": name,
                "category_id": category.id,
                "points": points,
                "self_declare": True,
                "community_id": community.id,
                "cap_month": cap,
            }
            for n, (name, points, cap) in enumerate(
                [
                    ("清理楼道", 2, 0),
                    ("邻里互助", 3, 30),
                    ("垃圾分类", 1, 20),
                    ("看望独居老人", 3, 0),
                    ("志愿服务", 5, 0),
                ]
            )
        ]
    )
    Users = env["res.users"].with_context(no_reset_password=True)
    group = env.ref
    council = Users.create(
        {
            "name": "Bench Council",
            "login": "bench_claims_council",
            "groups_id": [Command.set([group("community_credit.group_credit_manager").id])],
        }
    )
    grid = Users.create(
        {
            "name": "Bench Claims Grid Worker",
            "login": "bench_claims_grid",
            "groups_id": [Command.set([group("community_credit.group_credit_grid_worker").id])],
            "credit_place_ids": [Command.set(community.ids)],
        }
    )
    reviewers = Users.create(
        [
            {
                "name": f"Bench Reviewer {e.code}",
                "login": f"bench_claims_reviewer_{e.code}",
                "groups_id": [Command.set([group("community_credit.group_credit_reviewer").id])],
                "credit_place_ids": [Command.set(e.ids)],
            }
            for e in estates
        ]
    )
    community.claim_council_user_id = council
    groups = env["credit.review.group"].create(
        [
            {
                "name": f"Review group {e.code}",
                "community_id": community.id,
                "place_ids": [Command.set(e.ids)],
                "user_ids": [Command.set(r.ids)],
                "leader_id": r.id,
            }
            for e, r in zip(estates, reviewers, strict=True)
        ]
    )
    env.flush_all()

    # residents: SQL, spread evenly over the buildings
    cr = env.cr
    n_residents = max(GROUP_SIZE * 2, round(RESIDENTS * scale))
    base = next_id(cr, "res_partner")
    cr.execute(
        """
        INSERT INTO res_partner (id, name, complete_name, commercial_partner_id, type, active,
               is_company, employee, partner_share, lang, color, message_bounce,
               credit_place_id, credit_community_id, credit_is_subject,
               create_uid, create_date, write_uid, write_date)
        SELECT %(base)s + n, 'Bench Resident ' || n, 'Bench Resident ' || n, %(base)s + n,
               'contact', true, false, false, true, 'zh_CN', 0, 0,
               (%(buildings)s::int[])[1 + (n %% %(nb)s)], %(community)s, true,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM generate_series(1, %(n)s) AS n
        """,
        {
            "base": base,
            "n": n_residents,
            "buildings": buildings.ids,
            "nb": len(buildings),
            "community": community.id,
            "uid": env.uid,
        },
    )
    cr.execute("SELECT setval('res_partner_id_seq', %s)", [base + n_residents])
    roles = env["res.partner"]._fields["credit_role_ids"]
    cr.execute(
        f"INSERT INTO {roles.relation} ({roles.column1}, {roles.column2}) "
        "SELECT %s + n, %s FROM generate_series(1, %s) AS n",
        [base, env.ref("community_credit.role_resident").id, n_residents],
    )
    env.invalidate_all()
    residents = list(range(base + 1, base + n_residents + 1))
    today = fields.Date.context_today(community)
    return {
        "community": community,
        "rules": rules,
        "council": council,
        "grid": grid,
        "reviewers": reviewers,
        "groups": groups,
        "residents": residents,
        "buildings": len(buildings),
        "month_start": (today.replace(day=1) - timedelta(days=1)).replace(day=1),
    }


def claim_values(data, n_claims):
    """A month of claims: most for one resident, some for a group of ten; no
    subject is claimed twice for one rule on one day."""
    from odoo import Command

    residents, rules = data["residents"], data["rules"]
    start = data["month_start"]
    nb = data["buildings"]
    # at small scales a building may not hold ten residents for every group claim
    groups_per_building = len(residents) // nb // GROUP_SIZE
    n_group = min(round(GROUP_CLAIMS * n_claims / CLAIMS), n_claims // 10, nb * groups_per_building)
    vals_list = []
    # residents[i] lives in building (i + 1) % nb: a group is ten residents of one
    # building, taken from the end of the list; single claims take it from the start
    by_building = [residents[(b - 1) % nb :: nb] for b in range(nb)]
    for n in range(n_claims):
        if n < n_group:
            building = by_building[n % nb]
            first = (n // nb) * GROUP_SIZE
            partners = [building[-1 - first - k] for k in range(GROUP_SIZE)]
        else:
            partners = [residents[(n - n_group) % len(residents)]]
        vals_list.append(
            {
                "rule_id": rules[n % len(rules)].id,
                "date": start + timedelta(days=(n // len(rules)) % 28),
                "partner_ids": [Command.set(partners)],
                "description": "bench",
            }
        )
    return vals_list


def timed(results, name, func, count=None, unit_name="claims"):
    t0 = time.perf_counter()
    out = func()
    elapsed = time.perf_counter() - t0
    results.add(name, elapsed, "s")
    if count:
        log(f"   {count:,} {unit_name} in {elapsed:.1f} s = {count / elapsed:,.0f} {unit_name}/s")
    return out


def main():
    parser = bench_parser(__doc__, "1.0 = Longhai's month")
    args, registry = open_bench(parser)
    dbname = registry.db_name

    import odoo

    results = Results(args.scale)
    n_claims = max(20, round(CLAIMS * args.scale))
    tracemalloc.start()

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        if env["credit.place"].search_count([("code", "=", f"{PREFIX}-C")]):
            log("This database already holds the claims bench: run without REUSE=1.")
            return 2
        t0 = time.perf_counter()
        data = setup(env, args.scale)
        cr.commit()
        log(
            f"Set-up: {len(data['residents']):,} residents, {ESTATES} estates, "
            f"{len(data['rules'])} rules in {time.perf_counter() - t0:.1f} s"
        )
    maintenance(dbname, ["VACUUM (ANALYZE) res_partner"])

    analyze = [
        f"ANALYZE {table}"
        for table in (
            "credit_claim",
            "credit_claim_line",
            "credit_claim_res_partner_rel",
            "mail_activity",
            "mail_followers",
            "mail_message",
            "credit_ledger_line",
            "credit_balance",
        )
    ]

    def step(name, func, count=None, unit_name="claims"):
        # a month of claims arrives over weeks, while autovacuum keeps the planner's
        # statistics current: do the same between the steps (not timed)
        maintenance(dbname, analyze)
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
            out = timed(results, name, lambda: func(env), count, unit_name)
            cr.commit()
            return out

    vals_list = claim_values(data, n_claims)
    n_subjects = sum(len(v["partner_ids"][0][2]) for v in vals_list)
    log(f"\n{n_claims:,} claims for {n_subjects:,} subjects, dated in {data['month_start']:%Y-%m}")

    def declare(env):
        Claim = env["credit.claim"].with_user(data["grid"].id)
        ids = []
        for start in range(0, len(vals_list), CHUNK):
            ids += Claim.create(vals_list[start : start + CHUNK]).ids
            env.cr.commit()  # one request per thousand claims
        return ids

    claim_ids = step("claims: create (grid worker)", declare, n_claims)

    def submit(env):
        Claim = env["credit.claim"].with_user(data["grid"].id)
        for start in range(0, len(claim_ids), CHUNK):
            Claim.browse(claim_ids[start : start + CHUNK]).action_submit()
            env.cr.commit()  # one request per thousand claims

    step("claims: submit (grid worker)", submit, n_claims)

    def certify(env):
        for group, reviewer in zip(data["groups"], data["reviewers"], strict=True):
            batch = (
                env["credit.review.batch"]
                .with_user(reviewer.id)
                .create(
                    {
                        "stage": "review",
                        "review_group_id": group.id,
                        "community_id": data["community"].id,
                        "date_to": data["month_start"] + timedelta(days=31),
                    }
                )
            )
            batch.action_load_claims()
            batch.action_certify()

    step("claims: certify, 6 review groups", certify, n_claims)

    def council(env):
        batch = (
            env["credit.review.batch"]
            .with_user(data["council"].id)
            .create(
                {
                    "stage": "council",
                    "community_id": data["community"].id,
                    "date_to": data["month_start"] + timedelta(days=31),
                }
            )
        )
        batch.action_load_claims()
        batch.action_certify()

    step("claims: council re-check and publish", council, n_claims)

    with registry.cursor() as cr:
        # the publication's last day was yesterday
        cr.execute(
            "UPDATE credit_claim SET publish_until = CURRENT_DATE - 1 WHERE id = ANY(%s)",
            [claim_ids],
        )

    def close(env):
        return len(env["credit.claim"]._cron_close_publications(limit=len(claim_ids)))

    posted = step("claims: close publication, post points", close, n_subjects, "lines")

    _current, peak = tracemalloc.get_traced_memory()
    results.add("python peak memory (traced)", peak / 2**20, "MiB")
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        cr.execute(
            "SELECT state, COUNT(*) FROM credit_claim WHERE id = ANY(%s) GROUP BY state",
            [claim_ids],
        )
        states = dict(cr.fetchall())
        cr.execute(
            "SELECT COUNT(*), COUNT(DISTINCT idempotency_key), COALESCE(SUM(points), 0) "
            "FROM credit_ledger_line WHERE origin = 'claim' AND community_id = %s",
            [data["community"].id],
        )
        lines, keys, points = cr.fetchone()
        expected_points = sum(
            len(v["partner_ids"][0][2]) * env["credit.rule"].browse(v["rule_id"]).points
            for v in vals_list
        )
        mismatches = env["credit.balance"]._check_consistency()
    total = sum(r[1] for r in results.rows if r[2] == "s")
    results.add(
        "claims: whole month, declare to posted",
        total,
        "s",
        f"<= {TARGET_TOTAL_S}",
        total <= TARGET_TOTAL_S,
    )
    log("\n" + results.table())
    ok = (
        states == {"done": n_claims}
        and posted == n_claims
        and lines == keys == n_subjects
        and points == expected_points
        and not mismatches
    )
    log(
        f"\nClaims by state: {states}; ledger: {lines:,} lines ({keys:,} keys) for "
        f"{n_subjects:,} subjects, {points:,} points (expected {expected_points:,}); "
        f"balance mismatches: {len(mismatches)}"
    )
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
