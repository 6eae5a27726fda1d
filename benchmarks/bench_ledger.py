"""Ledger benchmark for community_credit at Rongcheng scale.

    python bench_ledger.py [--scale 1.0] [options] -- -d DB --addons-path=... --db_host=...

Everything after ``--`` is passed to Odoo's configuration parser. Run it through
benchmarks/run.sh, which finds Odoo, prepares the database and passes those.

1. Generates (once per database) Rongcheng's volume times SCALE: 53 communities
   of 10 grids each, 350,000 resident subjects and 5,000,000 ledger lines over
   three years, plus a rule book of 26 rules. Places, rules and users go through
   the ORM; subjects, ledger lines and balances are bulk-inserted with SQL, then
   the balances are proven equal to the ledger with credit.balance._check_consistency().
2. Measures posting through credit.ledger.line._post, one subject's balance,
   a community's balances and levels, and a community's top-100 leaderboard,
   each next to the raw SQL floor over the ledger.
3. Checks the balances against the ledger again and prints PASS or FAIL.

Prints a table and, for machines, one ``BENCH name value unit`` line per result.
Exits 1 when the final consistency check fails.
"""

import argparse
import json
import math
import random
import statistics
import sys
import time
from datetime import timedelta

# Rongcheng (荣成): figures the scale multiplies
COMMUNITIES = 53
GRIDS_PER_COMMUNITY = 10
BUILDINGS_PER_GRID = 12
SUBJECTS = 350_000
LINES = 5_000_000
DAYS = 3 * 365

PARAM = "community_credit.bench_data"
CODE_PREFIX = "BENCH"
MANAGER_LOGIN = "bench_manager"
GRID_WORKER_LOGIN = "bench_grid_worker"

DEDUCTION_RULE = "RJ05"  # Family dispute, -5

# Targets, meaningful at full scale
TARGET_POST = 2000  # lines per second, at least
TARGET_BALANCE_MS = 5  # one subject's balance, at most
TARGET_LEADERBOARD_MS = 1000  # a community's leaderboard, at most

# (code, name, category, points, caps {period: cap}, weight in the generated ledger)
CATEGORIES = [
    ("XS", "修身 Self-cultivation", "day"),
    ("RJ", "润家 Family", "week"),
    ("ML", "睦邻 Neighbourliness", "month"),
    ("YC", "怡城 City", "year"),
]
RULES = [
    ("XS01", "Morning exercise group", "XS", 1, {"day": 1, "month": 20}, 60),
    ("XS02", "Reading club session", "XS", 2, {"day": 2}, 40),
    ("XS03", "Blood donation", "XS", 10, {"year": 20}, 3),
    ("XS04", "Study session attended", "XS", 1, {"week": 3}, 40),
    ("XS05", "Bench posting rule (uncapped)", "XS", 1, {}, 5),
    (
        "XS06",
        "Bench posting rule (capped)",
        "XS",
        1,
        {"day": 50, "week": 100, "month": 200, "year": 1000},
        5,
    ),
    ("RJ01", "Care for elderly parents", "RJ", 3, {"week": 6}, 50),
    ("RJ02", "Model family", "RJ", 20, {}, 2),
    ("RJ03", "Clean courtyard inspection", "RJ", 2, {}, 40),
    ("RJ04", "Garbage sorting", "RJ", 1, {"day": 1}, 80),
    ("RJ05", "Family dispute", "RJ", -5, {}, 4),
    ("ML01", "Help a neighbour", "ML", 3, {"month": 9}, 60),
    ("ML02", "Volunteer hour", "ML", 2, {}, 120),
    ("ML03", "Elder care visit", "ML", 3, {}, 60),
    ("ML04", "Mediate a dispute", "ML", 5, {}, 15),
    ("ML05", "Stairwell cleaning", "ML", 2, {}, 60),
    ("ML06", "Noise complaint upheld", "ML", -3, {}, 6),
    ("ML07", "Blocking the fire lane", "ML", -5, {}, 5),
    ("YC01", "Civilised traffic", "YC", 2, {}, 30),
    ("YC02", "Good Samaritan deed", "YC", 20, {}, 2),
    ("YC03", "Return lost property", "YC", 5, {}, 10),
    ("YC04", "Public charity donation", "YC", 5, {"month": 10}, 20),
    ("YC05", "Littering", "YC", -2, {}, 15),
    ("YC06", "Illegal parking", "YC", -3, {}, 15),
    ("YC07", "Unsafe electric bike charging", "YC", -5, {}, 5),
    ("YC08", "Environmental protection activity", "YC", 3, {}, 40),
]
UNCAPPED_RULE = "XS05"
# caps high enough for repeated runs the same day: the batch pays for the caps query
CAPPED_RULE = "XS06"
SLOTS = 1000  # rule weights are spread over this many slots for the SQL generator


def log(msg):
    print(msg, flush=True)


def percentile(values, pct):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


# ------------------------------------------------------------- command line
def bench_parser(doc, scale_help=None):
    """The parser of a benchmark's own options; every benchmark has --scale."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help=scale_help)
    return parser


def open_bench(parser):
    """Parse the command line: the benchmark's options, then after `--` Odoo's
    (`-d DB --addons-path=...`, kept as args.odoo_argv). Returns (args, registry)."""
    argv, odoo_argv = sys.argv[1:], []
    if "--" in argv:
        cut = argv.index("--")
        argv, odoo_argv = argv[:cut], argv[cut + 1 :]
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if getattr(args, "repeat", 1) < 1:
        parser.error("--repeat must be at least 1")

    import odoo
    from odoo.modules.registry import Registry

    odoo.tools.config.parse_config(
        [*odoo_argv, "--log-level=warn", "--workers=0", "--max-cron-threads=0"],
        setup_logging=True,
    )
    dbname = (odoo.tools.config["db_name"] or "").split(",")[0]
    if not dbname:
        parser.error("give the database after --: -- -d DB --addons-path=...")
    t0 = time.perf_counter()
    registry = Registry(dbname)
    log(f"Registry of '{dbname}' loaded in {time.perf_counter() - t0:.1f} s")
    args.odoo_argv = odoo_argv
    return args, registry


# ---------------------------------------------------------------- data set
def bench_info(env):
    raw = env["ir.config_parameter"].sudo().get_param(PARAM)
    return json.loads(raw) if raw else None


def create_places(env, n_communities):
    Place = env["credit.place"]
    city = Place.create(
        {"name": "荣成市 Rongcheng (bench)", "code": f"{CODE_PREFIX}-CITY", "place_type": "city"}
    )
    communities = Place.create(
        [
            {
                "name": f"Community {c:02d}",
                "code": f"{CODE_PREFIX}-C{c:02d}",
                "place_type": "community",
                "parent_id": city.id,
            }
            for c in range(1, n_communities + 1)
        ]
    )
    grids = Place.create(
        [
            {
                "name": f"Grid {g:02d}",
                "code": f"{community.code}-G{g:02d}",
                "place_type": "grid",
                "parent_id": community.id,
            }
            for community in communities
            for g in range(1, GRIDS_PER_COMMUNITY + 1)
        ]
    )
    buildings = Place.create(
        [
            {
                "name": f"Building {b:02d}",
                "code": f"{grid.code}-B{b:02d}",
                "place_type": "building",
                "parent_id": grid.id,
            }
            for grid in grids
            for b in range(1, BUILDINGS_PER_GRID + 1)
        ]
    )
    env.flush_all()
    return city, communities, grids, buildings


def create_rules(env):
    categories = {
        code: env["credit.rule.category"].create(
            {"name": name, "code": f"{CODE_PREFIX}-{code}", "period": period}
        )
        for code, name, period in CATEGORIES
    }
    rules = env["credit.rule"].create(
        [
            {
                "code": f"{CODE_PREFIX}-{code}",
                "name": name,
                "category_id": categories[cat].id,
                "points": points,
                "behaviour": f"bench-{code.lower()}",
                **{f"cap_{period}": cap for period, cap in caps.items()},
            }
            for code, name, cat, points, caps, _weight in RULES
        ]
    )
    env.flush_all()
    return rules


def create_users(env, communities):
    Users = env["res.users"].with_context(no_reset_password=True)
    base_user = env.ref("base.group_user").id
    manager = Users.create(
        {
            "name": "Bench Council Manager",
            "login": MANAGER_LOGIN,
            "groups_id": [(6, 0, [base_user, env.ref("community_credit.group_credit_manager").id])],
        }
    )
    grid_worker = Users.create(
        {
            "name": "Bench Grid Worker",
            "login": GRID_WORKER_LOGIN,
            "groups_id": [
                (6, 0, [base_user, env.ref("community_credit.group_credit_grid_worker").id])
            ],
            "credit_place_ids": [(6, 0, communities.ids)],
        }
    )
    env.flush_all()
    return manager, grid_worker


def next_id(cr, table):
    cr.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    max_id = cr.fetchone()[0]
    cr.execute(f"SELECT last_value FROM {table}_id_seq")
    return max(max_id, cr.fetchone()[0])


def drop_indexes(cr, table):
    """Drop the secondary indexes of table (to bulk-load it); return what re-creates them."""
    cr.execute(
        """
        SELECT ic.relname, pg_get_indexdef(i.indexrelid), c.conname, pg_get_constraintdef(c.oid)
          FROM pg_index i
          JOIN pg_class ic ON ic.oid = i.indexrelid
     LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                              AND c.contype IN ('u', 'x')
         WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
        """,
        [table],
    )
    recreate = []
    for index, indexdef, constraint, constraintdef in cr.fetchall():
        if constraint:
            cr.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')
            recreate.append(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {constraintdef}')
        else:
            cr.execute(f'DROP INDEX "{index}"')
            recreate.append(indexdef)
    return recreate


def required_defaults(env, model, columns):
    """The NOT NULL columns of model's table without a database default that
    columns leaves out (other installed modules', e.g. account's
    res_partner.autopost_bills), with their ORM defaults: (", col ...", ", %(param)s ...",
    {param: value}), to add to a bulk INSERT's column list, values and parameters."""
    table = env[model]._table
    env.cr.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "AND is_nullable = 'NO' AND column_default IS NULL",
        [table],
    )
    missing = sorted({row[0] for row in env.cr.fetchall()} - set(columns) - {"id"})
    defaults = env[model].default_get(missing)
    unknown = [col for col in missing if defaults.get(col) is None]
    if unknown:
        raise RuntimeError(f"no default for the required columns {unknown} of {table}")
    return (
        "".join(f", {col}" for col in missing),
        "".join(f", %(bench_default_{col})s" for col in missing),
        {f"bench_default_{col}": defaults[col] for col in missing},
    )


def generate(env, scale, seed, lines=LINES, households=False):
    """Create the bench data set in one transaction; return its description.

    lines: ledger lines at SCALE=1 (times scale); households: also group the
    subjects of each building into households of 2.6 members on average."""
    cr = env.cr
    t_start = time.perf_counter()
    steps = []

    def step(label, t0):
        steps.append((label, time.perf_counter() - t0))
        log(f"   {label:<52} {time.perf_counter() - t0:8.1f} s")

    n_communities = max(1, round(COMMUNITIES * scale))
    n_subjects = max(1, round(SUBJECTS * scale))
    n_lines = max(1, round(lines * scale))
    company = env.company
    uid = env.uid
    from odoo import fields

    today = fields.Date.context_today(env["credit.ledger.line"])
    start = today - timedelta(days=DAYS - 1)
    log(
        f"Generating: {n_communities} communities x {GRIDS_PER_COMMUNITY} grids x "
        f"{BUILDINGS_PER_GRID} buildings, {n_subjects:,} subjects, {n_lines:,} ledger lines "
        f"from {start} to {today}"
    )

    t0 = time.perf_counter()
    _city, communities, _grids, buildings = create_places(env, n_communities)
    step(f"places via the ORM ({len(buildings) + 1 + 11 * n_communities:,})", t0)
    t0 = time.perf_counter()
    rules = create_rules(env)
    manager, grid_worker = create_users(env, communities)
    step(f"rule book ({len(rules)} rules) and users via the ORM", t0)

    cr.execute("SET LOCAL work_mem = '256MB'")
    cr.execute("SET LOCAL maintenance_work_mem = '1GB'")
    cr.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    superuser = cr.fetchone()[0]
    if superuser:
        # rows are generated from existing keys: skip the per-row foreign key triggers
        cr.execute("SET LOCAL session_replication_role = replica")
    cr.execute("SELECT setseed(%s)", [(seed % 1000) / 1000.0])

    # -- subjects: contiguous blocks of ids per building, community by community
    t0 = time.perf_counter()
    cr.execute(
        "CREATE TEMP TABLE bench_building (idx int PRIMARY KEY, place_id int, community_id int)"
    )
    cr.execute(
        "INSERT INTO bench_building SELECT u.i - 1, u.place_id, p.community_id "
        "FROM unnest(%s::int[]) WITH ORDINALITY AS u(place_id, i) "
        "JOIN credit_place p ON p.id = u.place_id",
        [buildings.ids],
    )
    base_partner = next_id(cr, "res_partner")
    base_household = next_id(cr, "credit_household")
    # subject n lives in building idx; with households, in household hh of that building
    cr.execute(
        """
        CREATE TEMP TABLE bench_subject AS
        SELECT n, idx, CASE WHEN %(households)s THEN dense_rank() OVER (ORDER BY idx, hk) END AS hh
          FROM (SELECT n, idx,
                       ((row_number() OVER (PARTITION BY idx ORDER BY n) - 1) * 5) / 13 AS hk
                  FROM (SELECT n, ((n - 1)::bigint * %(nb)s) / %(n)s AS idx
                          FROM generate_series(1, %(n)s) AS n) s) s
        """,
        {"n": n_subjects, "nb": len(buildings), "households": households},
    )
    n_households = 0
    if households:
        cr.execute(
            """
            INSERT INTO credit_household (id, name, place_id, community_id, head_id, company_id,
                   active, create_uid, create_date, write_uid, write_date)
            SELECT %(base_hh)s + s.hh, 'Household ' || lpad(s.hh::text, 6, '0'), b.place_id,
                   b.community_id, %(base)s + MIN(s.n), %(company)s, true,
                   %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
              FROM bench_subject s JOIN bench_building b ON b.idx = s.idx
          GROUP BY s.hh, b.place_id, b.community_id
          ORDER BY s.hh
            """,
            {"base_hh": base_household, "base": base_partner, "company": company.id, "uid": uid},
        )
        n_households = cr.rowcount
        cr.execute("SELECT setval('credit_household_id_seq', %s)", [base_household + n_households])
    partner_columns = (
        "id, name, complete_name, commercial_partner_id, type, active, is_company, employee, "
        "partner_share, lang, color, message_bounce, credit_place_id, credit_community_id, "
        "credit_household_id, credit_is_subject, create_uid, create_date, write_uid, write_date"
    )
    more_columns, more_values, more_params = required_defaults(
        env, "res.partner", partner_columns.split(", ")
    )
    cr.execute(
        f"""
        INSERT INTO res_partner ({partner_columns}{more_columns})
        SELECT %(base)s + s.n, name, name, %(base)s + s.n, 'contact', true,
               false, false, true, 'en_US', 0, 0,
               b.place_id, b.community_id, %(base_hh)s + s.hh, true,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'{more_values}
          FROM bench_subject s
         CROSS JOIN LATERAL (SELECT 'Bench Resident ' || lpad(s.n::text, 6, '0') AS name) AS nm
          JOIN bench_building b ON b.idx = s.idx
         ORDER BY s.n
        """,
        {"base": base_partner, "base_hh": base_household, "uid": uid, **more_params},
    )
    cr.execute("SELECT setval('res_partner_id_seq', %s)", [base_partner + n_subjects])
    roles = env["res.partner"]._fields["credit_role_ids"]
    resident = env.ref("community_credit.role_resident").id
    volunteer = env.ref("community_credit.role_volunteer").id
    cr.execute(
        f"""
        INSERT INTO {roles.relation} ({roles.column1}, {roles.column2})
        SELECT %(base)s + n, %(resident)s FROM generate_series(1, %(n)s) AS n
         UNION ALL
        SELECT %(base)s + n, %(volunteer)s FROM generate_series(1, %(n)s) AS n WHERE n %% 10 = 3
        """,
        {"base": base_partner, "n": n_subjects, "resident": resident, "volunteer": volunteer},
    )
    step(
        f"subjects via SQL ({n_subjects:,}, with roles"
        + (f", in {n_households:,} households)" if households else ")"),
        t0,
    )

    # -- ledger lines: ids follow the date, subjects drawn at random, a tenth of
    #    them (every 10th id) three to four times as active as the others
    t0 = time.perf_counter()
    cr.execute(
        "CREATE TEMP TABLE bench_rule_slot (slot int PRIMARY KEY, rule_id int, "
        "category_id int, points int)"
    )
    weights = {f"{CODE_PREFIX}-{r[0]}": r[5] for r in RULES}
    total = sum(weights.values())
    slots, slot = [], 1
    cumulative = 0
    for rule in rules:
        cumulative += weights[rule.code]
        upto = round(cumulative * SLOTS / total)
        for s in range(slot, upto + 1):
            slots.append((s, rule.id, rule.category_id.id, rule.points))
        slot = upto + 1
    cr.execute(
        "INSERT INTO bench_rule_slot "
        "SELECT * FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[])",
        [[s[i] for s in slots] for i in range(4)],
    )
    recreate = drop_indexes(cr, "credit_ledger_line")
    base_line = next_id(cr, "credit_ledger_line")
    active = max(1, n_subjects // 10)
    cr.execute(
        """
        INSERT INTO credit_ledger_line (id, partner_id, rule_id, category_id, points, date,
               origin, idempotency_key, state, place_id, community_id, household_id,
               company_id, is_deduction, granted_by_id,
               create_uid, create_date, write_uid, write_date)
        SELECT %(base_line)s + g.n, p.id, s.rule_id, s.category_id, s.points, g.date,
               'manual', 'bench:' || g.n, 'posted', p.credit_place_id, p.credit_community_id,
               p.credit_household_id, %(company)s, s.points < 0, %(granter)s,
               %(granter)s, g.date + time '10:00', %(granter)s, g.date + time '10:00'
          FROM (SELECT n,
                       %(start)s::date + ((n - 1) * %(days)s / %(lines)s)::int AS date,
                       1 + floor(random() * %(slots)s)::int AS slot,
                       CASE WHEN random() < 0.3
                            THEN 10 * (1 + floor(random() * %(active)s)::int)
                            ELSE 1 + floor(random() * %(subjects)s)::int
                       END AS pidx
                  FROM generate_series(1::bigint, %(lines)s) AS n) AS g
          JOIN bench_rule_slot s ON s.slot = g.slot
          JOIN res_partner p ON p.id = %(base_partner)s + g.pidx
        """,
        {
            "base_line": base_line,
            "base_partner": base_partner,
            "company": company.id,
            "granter": manager.id,
            "start": start,
            "days": DAYS,
            "lines": n_lines,
            "slots": SLOTS,
            "active": active,
            "subjects": n_subjects,
        },
    )
    inserted = cr.rowcount
    cr.execute("SELECT setval('credit_ledger_line_id_seq', %s)", [base_line + n_lines])
    step(f"ledger lines via SQL ({inserted:,})", t0)
    t0 = time.perf_counter()
    for statement in recreate:
        cr.execute(statement)
    step(f"ledger indexes re-created ({len(recreate)})", t0)

    # -- balances: one aggregate, what _post would have kept line by line
    t0 = time.perf_counter()
    cr.execute(
        """
        INSERT INTO credit_balance (partner_id, company_id, place_id, community_id,
               household_id, balance, total_earned, total_spent, line_count, last_date,
               create_uid, create_date, write_uid, write_date)
        SELECT p.id, l.company_id, p.credit_place_id, p.credit_community_id,
               p.credit_household_id, l.balance, l.earned, l.spent, l.n, l.last_date,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM (SELECT partner_id, company_id, SUM(points) AS balance,
                       SUM(GREATEST(points, 0)) AS earned, SUM(GREATEST(-points, 0)) AS spent,
                       COUNT(*) AS n, MAX(date) AS last_date
                  FROM credit_ledger_line
                 WHERE id > %(base_line)s
              GROUP BY partner_id, company_id) AS l
          JOIN res_partner p ON p.id = l.partner_id
         ORDER BY p.id
        """,
        {"uid": uid, "base_line": base_line},
    )
    step(f"balances via one INSERT ... SELECT ({cr.rowcount:,})", t0)
    if superuser:
        cr.execute("SET LOCAL session_replication_role = DEFAULT")

    info = {
        "scale": scale,
        "seed": seed,
        "communities": n_communities,
        "subjects": n_subjects,
        "households": n_households,
        "lines": inserted,
        "first_partner_id": base_partner + 1,
        "last_partner_id": base_partner + n_subjects,
        "community_ids": communities.ids,
        "uncapped_rule_id": rules.filtered(lambda r: r.code == f"{CODE_PREFIX}-{UNCAPPED_RULE}").id,
        "capped_rule_id": rules.filtered(lambda r: r.code == f"{CODE_PREFIX}-{CAPPED_RULE}").id,
        "manager_id": manager.id,
        "grid_worker_id": grid_worker.id,
        "generated_on": str(today),
    }
    env["ir.config_parameter"].sudo().set_param(PARAM, json.dumps(info))
    env.invalidate_all()
    t0 = time.perf_counter()
    cr.commit()
    step("commit", t0)
    info["generation_s"] = time.perf_counter() - t_start
    return info


def maintenance(dbname, statements):
    """Run statements outside a transaction (VACUUM, CHECKPOINT) on their own connection.

    Returns False when PostgreSQL refused one (CHECKPOINT needs a superuser or
    pg_checkpoint), True otherwise.
    """
    import psycopg2

    from odoo.sql_db import connection_info_for

    _db, params = connection_info_for(dbname)
    cnx = psycopg2.connect(**params)
    done = True
    try:
        cnx.autocommit = True
        with cnx.cursor() as cur:
            for statement in statements:
                try:
                    cur.execute(statement)
                except psycopg2.errors.InsufficientPrivilege:
                    done = False
    finally:
        cnx.close()
    return done


def checkpoint(dbname):
    """Write out the dirty buffers left by a bulk write, so that the next
    measurements do not pay for them (best effort)."""
    t0 = time.perf_counter()
    if maintenance(dbname, ["CHECKPOINT"]):
        log(f"   (CHECKPOINT: {time.perf_counter() - t0:.1f} s)")


# ------------------------------------------------------------ measurements
class Results:
    def __init__(self, scale):
        self.scale = scale
        self.rows = []

    def add(self, name, value, unit, target=None, ok=None, note=""):
        self.rows.append((name, value, unit, target, ok, note))
        log(f"BENCH {name} {value:.3f} {unit}")

    def table(self):
        width = max(len(r[0]) for r in self.rows)
        lines = [
            f"{'measurement':<{width}}  {'value':>12}  {'unit':<8}  {'target':<10}  result",
            "-" * (width + 50),
        ]
        for name, value, unit, target, ok, note in self.rows:
            verdict = "" if ok is None else ("OK" if ok else "MISSED")
            if ok is not None and self.scale < 1:
                verdict += " (scale<1)"
            lines.append(
                f"{name:<{width}}  {value:>12,.3f}  {unit:<8}  {target or '':<10}  {verdict}"
                + (f"  {note}" if note else "")
            )
        return "\n".join(lines)


def timed(fn, repeat):
    times = []
    for arg in repeat:
        t0 = time.perf_counter()
        fn(arg)
        times.append(time.perf_counter() - t0)
    return times


def measure_post(
    env, results, name, user_id, check_rights, subjects, rule_id, batch, run_id, target=True
):
    from odoo import api

    cr = env.cr
    uenv = api.Environment(cr, user_id, {})
    vals_list = [
        {
            "partner_id": subjects[i % len(subjects)],
            "rule_id": rule_id,
            "origin": "manual",
            "idempotency_key": f"benchpost:{run_id}:{name}:{i}",
            "description": "benchmark",
        }
        for i in range(batch)
    ]
    env.invalidate_all()
    t0 = time.perf_counter()
    lines = uenv["credit.ledger.line"]._post(vals_list, check_rights=check_rights)
    t_post = time.perf_counter() - t0
    cr.commit()
    elapsed = time.perf_counter() - t0
    assert len(lines) == batch, (len(lines), batch)
    if results is None:  # warm-up
        return elapsed
    rate = batch / elapsed
    distinct = len(set(subjects[: min(batch, len(subjects))]))
    results.add(
        name,
        rate,
        "lines/s",
        f">= {TARGET_POST:,}" if target else None,
        rate >= TARGET_POST if target else None,
        f"{batch:,} lines, {distinct:,} subjects, {elapsed:.2f} s "
        f"({t_post:.2f} s _post + {elapsed - t_post:.2f} s commit)",
    )
    return elapsed


def run_benchmarks(env, info, args):
    from odoo import api

    cr = env.cr
    results = Results(args.scale)
    rng = random.Random(args.seed)
    partner_ids = list(range(info["first_partner_id"], info["last_partner_id"] + 1))
    community_ids = info["community_ids"]
    run_id = time.strftime("%Y%m%d%H%M%S")

    # ---- posting
    log("\nPosting (credit.ledger.line._post, one batch each, commit included)")
    batch = args.batch
    pool = rng.sample(partner_ids, len(partner_ids))

    def subjects(k):
        # batch-sized slices of a shuffled list; repeats when there are fewer subjects
        chosen = [pool[(k * batch + i) % len(pool)] for i in range(min(batch, len(pool)))]
        return chosen

    # warm-up: the first call of a method pays for loading and caches
    measure_post(
        env,
        None,
        "warmup",
        env.uid,
        False,
        subjects(0)[:100],
        info["uncapped_rule_id"],
        100,
        run_id,
        target=False,
    )
    measure_post(
        env,
        results,
        "post_superuser_no_rights_check",
        env.uid,
        False,
        subjects(1),
        info["uncapped_rule_id"],
        batch,
        run_id,
    )
    measure_post(
        env,
        results,
        "post_manager_check_rights",
        info["manager_id"],
        True,
        subjects(2),
        info["uncapped_rule_id"],
        batch,
        run_id,
    )
    measure_post(
        env,
        results,
        "post_grid_worker_check_rights",
        info["grid_worker_id"],
        True,
        subjects(3),
        info["uncapped_rule_id"],
        batch,
        run_id,
    )
    try:
        measure_post(
            env,
            results,
            "post_capped_rule_no_rights_check",
            env.uid,
            False,
            subjects(4),
            info["capped_rule_id"],
            batch,
            run_id,
        )
    except Exception as exc:
        cr.rollback()
        log(f"   capped-rule batch refused: {exc}")

    # a deduction batch: each line also gets its notice (a batch this large leaves the
    # sending to the notice cron, measured apart)
    deduction_rule = env["credit.rule"].search([("code", "=", f"{CODE_PREFIX}-{DEDUCTION_RULE}")])
    measure_post(
        env,
        results,
        "post_deductions_with_notices",
        info["manager_id"],
        True,
        subjects(5),
        deduction_rule.id,
        batch,
        run_id,
    )
    t0 = time.perf_counter()
    sent = env["credit.notice"]._cron_send_pending()
    cr.commit()
    elapsed = time.perf_counter() - t0
    results.add(
        "notice_cron_one_run",
        len(sent) / elapsed,
        "notices/s",
        note=f"{len(sent):,} notices in {elapsed:.2f} s (bench subjects have no login or "
        "e-mail: each is marked for hand-over in person)",
    )
    checkpoint(cr.dbname)

    # ---- one subject's balance
    log(f"\nOne subject's balance ({args.samples} random subjects, cache cleared each time)")
    sample = rng.sample(partner_ids, min(args.samples, len(partner_ids)))
    su_partner = env["res.partner"]
    manager_env = api.Environment(cr, info["manager_id"], {})

    def orm_balance(pid, penv=env):
        penv.invalidate_all()
        return penv["res.partner"].browse(pid).credit_balance

    def sql_balance(pid):
        cr.execute("SELECT SUM(points) FROM credit_ledger_line WHERE partner_id = %s", [pid])
        return cr.fetchone()[0]

    # same answer both ways, and a warm-up
    for pid in sample[:5]:
        assert orm_balance(pid) == (sql_balance(pid) or 0), pid
    del su_partner
    for name, fn, target in [
        ("balance_one_orm", orm_balance, True),
        ("balance_one_orm_as_manager", lambda pid: orm_balance(pid, manager_env), False),
        ("balance_one_sql_floor", sql_balance, False),
    ]:
        times = timed(fn, sample)
        med, p95 = statistics.median(times) * 1000, percentile(times, 95) * 1000
        results.add(
            f"{name}_median",
            med,
            "ms",
            f"<= {TARGET_BALANCE_MS} ms" if target else None,
            med <= TARGET_BALANCE_MS if target else None,
        )
        results.add(
            f"{name}_p95",
            p95,
            "ms",
            f"<= {TARGET_BALANCE_MS} ms" if target else None,
            p95 <= TARGET_BALANCE_MS if target else None,
        )

    # ---- every subject of one community: balance and level
    picks = [rng.choice(community_ids) for _ in range(args.community_samples)]
    cr.execute(
        "SELECT AVG(n) FROM (SELECT COUNT(*) AS n FROM credit_balance "
        "WHERE community_id = ANY(%s) GROUP BY community_id) c",
        [community_ids],
    )
    per_community = int(cr.fetchone()[0] or 0)
    log(
        f"\nA community's balances and levels ({len(picks)} random communities, "
        f"~{per_community:,} subjects each)"
    )

    def orm_community(cid, penv=env):
        penv.invalidate_all()
        rows = penv["credit.balance"].search_read(
            [("community_id", "=", cid)], ["partner_id", "balance", "level_id"]
        )
        return len(rows)

    def sql_community(cid):
        cr.execute(
            "SELECT partner_id, SUM(points) FROM credit_ledger_line "
            "WHERE community_id = %s GROUP BY partner_id",
            [cid],
        )
        return len(cr.fetchall())

    orm_community(picks[0])
    sql_community(picks[0])
    for name, fn in [
        ("community_balances_orm", orm_community),
        ("community_balances_sql_floor", sql_community),
    ]:
        times = timed(fn, picks)
        results.add(f"{name}_median", statistics.median(times) * 1000, "ms")
        results.add(f"{name}_max", max(times) * 1000, "ms")

    # ---- top 100 of one community
    log(f"\nA community's top-100 leaderboard ({len(picks)} random communities)")

    def orm_leaderboard(cid, penv=env):
        penv.invalidate_all()
        top = penv["credit.balance"].search(
            [("community_id", "=", cid)], order="balance desc", limit=100
        )
        return [(row.partner_id.name, row.balance) for row in top]

    def sql_leaderboard(cid):
        cr.execute(
            "SELECT partner_id, SUM(points) AS total FROM credit_ledger_line "
            "WHERE community_id = %s GROUP BY partner_id ORDER BY total DESC LIMIT 100",
            [cid],
        )
        return cr.fetchall()

    # the two agree on the scores (names aside, ties may be ordered differently)
    orm_top = [b for _n, b in orm_leaderboard(picks[0])]
    sql_top = [b for _p, b in sql_leaderboard(picks[0])]
    assert orm_top == sql_top, (orm_top[:5], sql_top[:5])
    for name, fn, target in [
        ("leaderboard_orm", orm_leaderboard, True),
        ("leaderboard_orm_as_manager", lambda cid: orm_leaderboard(cid, manager_env), False),
        ("leaderboard_sql_floor", sql_leaderboard, False),
    ]:
        times = timed(fn, picks)
        for stat, value in [("median", statistics.median(times)), ("max", max(times))]:
            ms = value * 1000
            results.add(
                f"{name}_{stat}",
                ms,
                "ms",
                f"<= {TARGET_LEADERBOARD_MS:,} ms" if target else None,
                ms <= TARGET_LEADERBOARD_MS if target else None,
            )
    cr.rollback()  # the measurements wrote nothing; end their snapshot
    return results


# ------------------------------------------------------------------- main
def main():
    parser = bench_parser(__doc__, "1.0 = Rongcheng scale")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--batch", type=int, default=10_000, help="lines per posted batch")
    parser.add_argument("--samples", type=int, default=200, help="subjects timed one by one")
    parser.add_argument(
        "--community-samples", type=int, default=20, help="communities timed one by one"
    )
    args, registry = open_bench(parser)
    dbname = registry.db_name

    import odoo

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        env = env(
            context={
                "tracking_disable": True,
                "mail_create_nolog": True,
                "mail_notrack": True,
                "mail_create_nosubscribe": True,
            }
        )
        cr.execute("SHOW server_version")
        version = cr.fetchone()[0]
        cr.execute("SHOW shared_buffers")
        buffers = cr.fetchone()[0]
        log(f"PostgreSQL {version}, shared_buffers {buffers}; scale {args.scale}")

        info = bench_info(env)
        if info and abs(info["scale"] - args.scale) > 1e-9:
            log(
                f"\nThis database holds bench data at scale {info['scale']}, not {args.scale}: "
                "run without REUSE=1 to start again."
            )
            return 2
        if info:
            log(
                f"\nBench data already there (scale {info['scale']}, "
                f"{info['subjects']:,} subjects, {info['lines']:,} generated lines, "
                f"generated on {info['generated_on']}): "
                "generation skipped"
            )
        else:
            cr.execute("SELECT COUNT(*) FROM credit_ledger_line")
            if cr.fetchone()[0]:
                log("\nThe database already has ledger lines that are not bench data: stopping.")
                return 2
            log("")
            info = generate(env, args.scale, args.seed)
            log(f"Generation took {info['generation_s']:.1f} s")
            t0 = time.perf_counter()
            tables = [
                "res_partner",
                env["res.partner"]._fields["credit_role_ids"].relation,
                "credit_place",
                "credit_ledger_line",
                "credit_balance",
            ]
            maintenance(dbname, [f"VACUUM (ANALYZE) {table}" for table in tables])
            log(f"VACUUM (ANALYZE) took {time.perf_counter() - t0:.1f} s")
            checkpoint(dbname)
            results_gen = info["generation_s"]
            log(f"BENCH generation_total {results_gen:.3f} s")

        t0 = time.perf_counter()
        mismatches = env["credit.balance"]._check_consistency()
        log(
            f"_check_consistency() before the measurements: {mismatches[:10]!r}"
            f"{' ...' if len(mismatches) > 10 else ''} "
            f"({len(mismatches)} mismatches, {time.perf_counter() - t0:.1f} s)"
        )
        cr.rollback()
        if mismatches:
            log("FAIL: the generated balances do not equal the ledger")
            return 1

        cr.execute("SELECT COUNT(*) FROM credit_ledger_line")
        n_lines = cr.fetchone()[0]
        cr.execute("SELECT COUNT(*) FROM credit_balance")
        n_balances = cr.fetchone()[0]
        cr.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('credit_ledger_line')), "
            "pg_size_pretty(pg_total_relation_size('credit_balance'))"
        )
        size_lines, size_balances = cr.fetchone()
        cr.rollback()
        log(
            f"Data: {len(info['community_ids'])} communities, {info['subjects']:,} subjects, "
            f"{n_lines:,} ledger lines ({size_lines}), {n_balances:,} balances ({size_balances})"
        )

        results = run_benchmarks(env, info, args)

        t0 = time.perf_counter()
        mismatches = env["credit.balance"]._check_consistency()
        check_s = time.perf_counter() - t0
        cr.rollback()
        results.add("check_consistency_full_ledger", check_s * 1000, "ms")

    log(
        f"\nResults at scale {args.scale} ({info['subjects']:,} subjects, {n_lines:,} lines"
        " before this run's postings)"
    )
    log(results.table())
    if args.scale < 1:
        log("Targets apply at full scale (1.0); below it they are shown for reference.")
    verdict = "PASS" if not mismatches else "FAIL"
    log(
        f"\n_check_consistency() after the measurements: {mismatches[:10]!r} "
        f"({len(mismatches)} mismatches) -> {verdict}"
    )
    log(f"BENCH consistency_after {len(mismatches)} mismatches")
    return 0 if not mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
