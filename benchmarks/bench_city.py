"""The whole city: Community Credit next to Odoo's loyalty module and raw SQL.

    python bench_city.py [--scale 1.0] [options] -- -d DB --addons-path=... --db_host=...

Run it through ``BENCH=city bash benchmarks/run.sh [SCALE]``: its own database
(community_credit_bench_city) with community_credit and loyalty installed,
without demo data.

1. Generates the city at SCALE (1.0: 53 communities, 350,000 residents in
   households, 10,000,000 ledger lines over three years -- daily good deeds and
   deductions, attendance of volunteer events and reward redemptions -- 70
   merchants per community with a reward each and 30,000 vouchers a month over
   the last twelve months, two past volunteer events a month per community with
   150 attendees each, and every resident's signed commitment for last year,
   ready to evaluate). bench_ledger.generate() builds places, rules, residents
   and the daily lines; the rest is bulk SQL here, except what is configuration
   (merchants, rewards, events, the commitment template: the ORM). Balances are
   then proven equal to the ledger (credit.balance._check_consistency()).
2. Builds the loyalty baseline over the same data, in SQL: one loyalty program
   (program_type 'loyalty'), one loyalty.card per resident whose points are the
   resident's balance, one loyalty.history row (issued / used) per ledger line.
3. Measures, as Community Credit / loyalty / raw SQL floor where each has one:
   posting a batch of 10,000 lines, one resident's balance, a community's top
   100, the year-end evaluation of one community's commitments, the monthly
   settlement of one community's 70 merchants, the statistics and credit index
   of a month for every community, and the resident's portal page over HTTP on
   a real Odoo (/my/credit against loyalty's /my/loyalty_card/<id>/history).
   Each result is checked against SQL where it can be.

Prints every step's time, a table, a Markdown comparison table for the README
and, for machines, ``BENCH name value unit`` lines. Exits 1 when the balances do
not equal the ledger at the end (or another check fails), 2 on unusable data.
"""

import json
import random
import statistics
import sys
import time
from collections import Counter
from datetime import date, timedelta

from bench_commitments import insert_commitments
from bench_index import (
    check_index,
    compute_index,
    fmt_times,
    index_sql_floor,
    median_of,
    period_end,
    previous_periods,
)
from bench_ledger import (
    COMMUNITIES,
    DAYS,
    PARAM,
    SUBJECTS,
    Results,
    bench_info,
    bench_parser,
    checkpoint,
    generate,
    log,
    maintenance,
    measure_post,
    next_id,
    open_bench,
    percentile,
    timed,
)
from bench_load import Resident, start_server, wait_for

LINES = 10_000_000  # every ledger line at SCALE=1: daily, event and redemption lines
MERCHANTS = 70  # per community
VOUCHERS_MONTH = 566  # per community and month (30,000 a month over the city)
VOUCHER_MONTHS = 12
EVENTS_MONTH = 2  # past volunteer events per community and month, over the three years
ATTENDEES = 150  # per event
EVENT_POINTS = 2
SERVICE_HOURS = 2.5
POINTS_TARGET, SERVICES_TARGET = 5, 1  # the yearly commitment's obligations
BONUS, BREACH = 10, -5
PORTAL_RESIDENTS = 10
PREFIX = "BCITY"


def shares(scale):
    """The city's sizes at SCALE: communities, residents, every kind of line."""
    nc = max(1, round(COMMUNITIES * scale))
    events = nc * EVENTS_MONTH * 36
    return {
        "communities": nc,
        "subjects": max(1, round(SUBJECTS * scale)),
        "lines": max(1, round(LINES * scale)),
        "events": events,
        "attendance": events * ATTENDEES,
        "vouchers": nc * VOUCHERS_MONTH * VOUCHER_MONTHS,
    }


# ----------------------------------------------------------------- the city
def create_config(env, info):
    """What a city configures through its forms (the ORM): the event rule, the
    merchants and their rewards, the pledges, the finance user, the events and
    the yearly commitment template."""
    from odoo import Command, fields

    communities = env["credit.place"].browse(info["community_ids"])
    category = env["credit.rule.category"].create(
        {"name": "城市 City bench", "code": f"{PREFIX}-CAT", "period": "year"}
    )
    Rule = env["credit.rule"]
    event_rule, bonus, breach = (
        Rule.create(
            {"code": f"{PREFIX}-{code}", "name": name, "category_id": category.id, "points": pts}
        )
        for code, name, pts in [
            ("EVENT", "Volunteer service (event)", EVENT_POINTS),
            ("BONUS", "Commitment kept", BONUS),
            ("BREACH", "Commitment broken", BREACH),
        ]
    )
    merchants = env["res.partner"].create(
        [
            {"name": f"Merchant {c.code[-3:]}-{m:02d}", "is_company": True}
            for c in communities
            for m in range(MERCHANTS)
        ]
    )
    products = env["product.template"].create(
        [
            {
                "name": f"Reward of {merchant.name}",
                "credit_is_reward": True,
                "credit_points_price": 6 + k % MERCHANTS % 10,
                "credit_donated_value": float(6 + k % MERCHANTS % 10),
                "credit_merchant_id": merchant.id,
                "credit_stock_ids": [
                    Command.create(
                        {
                            "collection_point": merchant.name,
                            "community_id": communities[k // MERCHANTS].id,
                            "quantity": 1000,
                        }
                    )
                ],
            }
            for k, merchant in enumerate(merchants)
        ]
    )
    today = fields.Date.context_today(category)
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    env["credit.merchant.pledge"].create(
        [
            {
                "merchant_id": merchant.id,
                "community_id": communities[k // MERCHANTS].id,
                "month": last_month,
                "value": 3000.0,
            }
            for k, merchant in enumerate(merchants)
        ]
    )
    finance = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": "Bench City Finance",
                "login": "bench_city_finance",
                "groups_id": [Command.set([env.ref("community_credit.group_credit_finance").id])],
            }
        )
    )
    start = today - timedelta(days=DAYS - 1)
    per_community = EVENTS_MONTH * 36
    days = [
        start + timedelta(days=round((i + 0.5) * (DAYS - 1) / per_community))
        for i in range(per_community)
    ]
    events = env["event.event"].create(
        [
            {
                "name": f"Volunteer service {c.code[-3:]} {day}",
                "date_begin": f"{day} 01:00:00",
                "date_end": f"{day} 04:00:00",
                "credit_community_id": c.id,
                "credit_rule_id": event_rule.id,
                "credit_hours": SERVICE_HOURS,
            }
            for c in communities
            for day in days
        ]
    )
    year = today.year - 1
    template = env["credit.commitment.template"].create(
        {
            "name": "Resident's yearly commitment (city bench)",
            "role_id": env.ref("community_credit.role_resident").id,
            "period": "year",
            "text": f"<p>I will earn at least {POINTS_TARGET} points, serve at least once "
            "and keep clear of deductions this year.</p>",
            "bonus_rule_id": bonus.id,
            "deduction_rule_id": breach.id,
            "obligation_ids": [
                Command.create(
                    {"sequence": 1, "name": "Earn points", "kind": "points",
                     "target": POINTS_TARGET}
                ),
                Command.create({"sequence": 2, "name": "No deduction", "kind": "no_deduction"}),
                Command.create(
                    {"sequence": 3, "name": "Serve the community", "kind": "services",
                     "target": SERVICES_TARGET}
                ),
            ],
        }
    )  # fmt: skip
    env.flush_all()
    return {
        "event_rule_id": event_rule.id,
        "merchant_ids": merchants.ids,
        "stock_ids": [p.credit_stock_ids.id for p in products],
        "product_ids": products.ids,
        "finance_id": finance.id,
        "event_ids": events.ids,
        "template_id": template.id,
        "last_month": str(last_month),
        "date_from": str(date(year, 1, 1)),
        "date_to": str(date(year, 12, 31)),
    }


def insert_attendance(env, info, city):
    """Every event's attendees (a block of the community's residents, moving from
    event to event): registration, volunteer service and the event's ledger line."""
    cr = env.cr
    cr.execute(
        """
        CREATE TEMP TABLE city_resident AS
        SELECT id AS partner_id, credit_community_id AS community_id,
               row_number() OVER (PARTITION BY credit_community_id ORDER BY id) AS rn,
               COUNT(*) OVER (PARTITION BY credit_community_id) AS n
          FROM res_partner WHERE id BETWEEN %s AND %s
        """,
        [info["first_partner_id"], info["last_partner_id"]],
    )
    cr.execute("CREATE INDEX ON city_resident (community_id, rn)")
    cr.execute(
        """
        CREATE TEMP TABLE city_event AS
        SELECT id AS event_id, credit_community_id AS community_id, date_end, company_id,
               row_number() OVER (PARTITION BY credit_community_id ORDER BY id) - 1 AS k
          FROM event_event WHERE id = ANY(%s)
        """,
        [city["event_ids"]],
    )
    cr.execute(
        """
        INSERT INTO event_registration (event_id, partner_id, name, state, active, barcode,
               company_id, date_closed, create_uid, create_date, write_uid, write_date)
        SELECT e.event_id, r.partner_id, 'Attendee ' || r.partner_id, 'done', true,
               %(prefix)s || e.event_id || '-' || r.partner_id, e.company_id, e.date_end,
               %(uid)s, e.date_end, %(uid)s, e.date_end
          FROM city_event e
          JOIN (SELECT DISTINCT community_id, n FROM city_resident) c
            ON c.community_id = e.community_id
         CROSS JOIN LATERAL generate_series(0, LEAST(%(attendees)s, c.n) - 1) AS j
          JOIN city_resident r ON r.community_id = e.community_id
                              AND r.rn = 1 + (e.k * 1913 + j) %% c.n
      ORDER BY e.event_id, r.partner_id
        """,
        {"prefix": PREFIX, "uid": info["grid_worker_id"], "attendees": ATTENDEES},
    )
    registrations = cr.rowcount
    cr.execute(
        """
        INSERT INTO credit_volunteer_service (registration_id, event_id, partner_id, date,
               hours, state, community_id, company_id,
               create_uid, create_date, write_uid, write_date)
        SELECT r.id, r.event_id, r.partner_id, e.date_end::date, %(hours)s, 'done',
               e.community_id, r.company_id, %(uid)s, e.date_end, %(uid)s, e.date_end
          FROM event_registration r JOIN city_event e ON e.event_id = r.event_id
      ORDER BY r.id
        """,
        {"hours": SERVICE_HOURS, "uid": info["grid_worker_id"]},
    )
    cr.execute("SELECT category_id FROM credit_rule WHERE id = %s", [city["event_rule_id"]])
    category = cr.fetchone()[0]
    cr.execute(
        """
        INSERT INTO credit_ledger_line (partner_id, rule_id, category_id, points, date,
               origin, origin_ref, idempotency_key, state, place_id, community_id,
               household_id, company_id, is_deduction, granted_by_id,
               create_uid, create_date, write_uid, write_date)
        SELECT r.partner_id, %(rule)s, %(category)s, %(points)s, e.date_end::date,
               'event', 'event.registration,' || r.id, 'cityevent:' || r.id, 'posted',
               p.credit_place_id, p.credit_community_id, p.credit_household_id, r.company_id,
               false, %(uid)s, %(uid)s, e.date_end, %(uid)s, e.date_end
          FROM event_registration r
          JOIN city_event e ON e.event_id = r.event_id
          JOIN res_partner p ON p.id = r.partner_id
      ORDER BY e.date_end, r.id
        """,
        {"rule": city["event_rule_id"], "category": category, "points": EVENT_POINTS,
         "uid": info["grid_worker_id"]},
    )  # fmt: skip
    return registrations, cr.rowcount


def insert_vouchers(env, info, city, today):
    """Vouchers of the last twelve months, each with its redemption line: spent by
    residents who can afford them (at most a fifteenth of their balance each), at
    the community's merchants in turn; handed over, except a quarter of the last
    two months' (still issued)."""
    cr = env.cr
    ncs = len(info["community_ids"])
    # the k-th merchant of community c is merchant_ids[c * MERCHANTS + k], as created
    cr.execute(
        """
        CREATE TEMP TABLE city_merchant AS
        SELECT (u.i - 1) / %(m)s AS c, (u.i - 1) %% %(m)s AS k, u.merchant_id, s.stock_id,
               s.product_id, 6 + (u.i - 1) %% %(m)s %% 10 AS price, t.community_id
          FROM unnest(%(merchants)s::int[]) WITH ORDINALITY AS u(merchant_id, i)
          JOIN unnest(%(stocks)s::int[], %(products)s::int[]) WITH ORDINALITY
               AS s(stock_id, product_id, i) ON s.i = u.i
          JOIN unnest(%(communities)s::int[]) WITH ORDINALITY AS t(community_id, i)
            ON t.i - 1 = (u.i - 1) / %(m)s
        """,
        {"m": MERCHANTS, "merchants": city["merchant_ids"], "stocks": city["stock_ids"],
         "products": city["product_ids"], "communities": info["community_ids"]},
    )  # fmt: skip
    cr.execute(
        """
        CREATE TEMP TABLE city_slot AS
        SELECT b.community_id, b.partner_id,
               row_number() OVER (PARTITION BY b.community_id ORDER BY random()) AS rn
          FROM credit_balance b
         CROSS JOIN LATERAL generate_series(1, LEAST(6, b.balance / 15)) AS g
         WHERE b.partner_id BETWEEN %s AND %s AND b.balance >= 15
        """,
        [info["first_partner_id"], info["last_partner_id"]],
    )
    first_month = date(today.year, today.month, 1)
    for _ in range(VOUCHER_MONTHS - 1):
        first_month = (first_month - timedelta(days=1)).replace(day=1)
    base_voucher = next_id(cr, "credit_voucher")
    base_line = next_id(cr, "credit_ledger_line")
    cr.execute(
        """
        CREATE TEMP TABLE city_voucher AS
        SELECT row_number() OVER (ORDER BY v.day, v.community_id, v.rn) AS seq, v.*
          FROM (SELECT s.community_id, s.partner_id, s.rn, m.merchant_id, m.stock_id,
                       m.product_id, m.price,
                       LEAST(%(first)s::date + ((s.rn - 1) * %(span)s / %(per)s)::int,
                             %(today)s::date) AS day
                  FROM city_slot s
                  JOIN city_merchant m ON m.community_id = s.community_id
                                      AND m.k = (s.rn - 1) %% %(m)s
                 WHERE s.rn <= %(per)s) v
        """,
        {"first": first_month, "span": (today - first_month).days + 1, "today": today,
         "per": VOUCHERS_MONTH * VOUCHER_MONTHS, "m": MERCHANTS},
    )  # fmt: skip
    recent = (first_month + timedelta(days=330)).replace(day=1)  # the last two months
    cr.execute(
        """
        INSERT INTO credit_ledger_line (id, partner_id, points, date, origin, origin_ref,
               idempotency_key, description, state, place_id, community_id, household_id,
               company_id, is_deduction, create_uid, create_date, write_uid, write_date)
        SELECT %(base_line)s + v.seq, v.partner_id, -v.price, v.day, 'redemption',
               'credit.voucher,' || (%(base_voucher)s + v.seq),
               'redeem:C' || lpad((%(base_voucher)s + v.seq)::text, 9, '0'),
               'Redeemed: reward ' || v.product_id, 'posted', p.credit_place_id,
               p.credit_community_id, p.credit_household_id, %(company)s, false,
               %(uid)s, v.day + time '15:00', %(uid)s, v.day + time '15:00'
          FROM city_voucher v JOIN res_partner p ON p.id = v.partner_id
      ORDER BY v.seq
        """,
        {"base_line": base_line, "base_voucher": base_voucher, "company": env.company.id,
         "uid": env.uid},
    )  # fmt: skip
    lines = cr.rowcount
    cr.execute("SELECT setval('credit_ledger_line_id_seq', %s)", [base_line + lines])
    cr.execute(
        """
        INSERT INTO credit_voucher (id, code, partner_id, product_tmpl_id, stock_id,
               merchant_id, points, donated_value, ledger_line_id, state, issue_date,
               expiry_date, honoured_by_id, honoured_date, community_id, company_id,
               create_uid, create_date, write_uid, write_date)
        SELECT %(base_voucher)s + v.seq, 'C' || lpad((%(base_voucher)s + v.seq)::text, 9, '0'),
               v.partner_id, v.product_id, v.stock_id, v.merchant_id, v.price, v.price,
               %(base_line)s + v.seq, s.state, v.day, v.day + 30,
               CASE WHEN s.state = 'honoured' THEN %(uid)s END,
               CASE WHEN s.state = 'honoured' THEN v.day + time '16:00' END,
               v.community_id, %(company)s,
               %(uid)s, v.day + time '15:00', %(uid)s, v.day + time '15:00'
          FROM city_voucher v
         CROSS JOIN LATERAL (SELECT CASE WHEN v.day >= %(recent)s AND v.seq %% 4 = 0
                                         THEN 'issued' ELSE 'honoured' END AS state) s
      ORDER BY v.seq
        """,
        {"base_voucher": base_voucher, "base_line": base_line, "uid": env.uid,
         "recent": recent, "company": env.company.id},
    )  # fmt: skip
    vouchers = cr.rowcount
    cr.execute("SELECT setval('credit_voucher_id_seq', %s)", [base_voucher + vouchers])
    return vouchers, lines, ncs


def rebalance(env, info, since_line):
    """The balances of the residents with lines after since_line, from the ledger
    (what _post keeps line by line)."""
    env.cr.execute(
        """
        INSERT INTO credit_balance (partner_id, company_id, place_id, community_id,
               household_id, balance, total_earned, total_spent, line_count,
               create_uid, create_date, write_uid, write_date)
        SELECT p.id, %(company)s, p.credit_place_id, p.credit_community_id,
               p.credit_household_id, 0, 0, 0, 0,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM res_partner p
         WHERE p.id IN (SELECT DISTINCT partner_id FROM credit_ledger_line WHERE id > %(since)s)
           AND NOT EXISTS (SELECT 1 FROM credit_balance b WHERE b.partner_id = p.id)
        """,
        {"company": env.company.id, "uid": env.uid, "since": since_line},
    )
    env.cr.execute(
        """
        UPDATE credit_balance b
           SET balance = l.balance, total_earned = l.earned, total_spent = l.spent,
               line_count = l.n, last_date = l.last_date
          FROM (SELECT partner_id, SUM(points) AS balance, SUM(GREATEST(points, 0)) AS earned,
                       SUM(GREATEST(-points, 0)) AS spent, COUNT(*) AS n, MAX(date) AS last_date
                  FROM credit_ledger_line
                 WHERE partner_id IN (SELECT DISTINCT partner_id FROM credit_ledger_line
                                       WHERE id > %s)
              GROUP BY partner_id) l
         WHERE b.partner_id = l.partner_id
        """,
        [since_line],
    )
    return env.cr.rowcount


def insert_loyalty(env, info):
    """The loyalty baseline: one program, a card per resident with the balance as
    its points, and a history row per ledger line (issued or used)."""
    cr = env.cr
    program = env["loyalty.program"].create(
        {"name": "City credit (loyalty baseline)", "program_type": "loyalty"}
    )
    env.flush_all()
    cr.execute(
        """
        INSERT INTO loyalty_card (program_id, company_id, partner_id, points, code, active,
               create_uid, create_date, write_uid, write_date)
        SELECT %(program)s, %(company)s, p.id, COALESCE(b.balance, 0), 'CITY' || p.id, true,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM res_partner p LEFT JOIN credit_balance b ON b.partner_id = p.id
         WHERE p.id BETWEEN %(first)s AND %(last)s
      ORDER BY p.id
        """,
        {"program": program.id, "company": program.company_id.id or env.company.id,
         "uid": env.uid, "first": info["first_partner_id"], "last": info["last_partner_id"]},
    )  # fmt: skip
    cards = cr.rowcount
    cr.execute(
        """
        INSERT INTO loyalty_history (card_id, description, issued, used,
               create_uid, create_date, write_uid, write_date)
        SELECT c.id, COALESCE(l.description, r.name, l.origin),
               GREATEST(l.points, 0), GREATEST(-l.points, 0),
               l.create_uid, l.create_date, l.write_uid, l.write_date
          FROM credit_ledger_line l
          JOIN loyalty_card c ON c.partner_id = l.partner_id AND c.program_id = %s
     LEFT JOIN credit_rule r ON r.id = l.rule_id
      ORDER BY l.id
        """,
        [program.id],
    )
    return program.id, cards, cr.rowcount


def bulk_mode(cr):
    """For the bulk inserts of this transaction: more sort memory and, as a
    database superuser, no per-row foreign key triggers (the rows are built from
    existing keys), as bench_ledger.generate does."""
    cr.execute("SET LOCAL work_mem = '256MB'")
    cr.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if cr.fetchone()[0]:
        cr.execute("SET LOCAL session_replication_role = replica")


def build_city(env, registry, args):
    """Generate everything in one transaction per part; return the bench info."""
    cr = env.cr
    size = shares(args.scale)
    t_start = time.perf_counter()
    steps = []

    def step(label, t0):
        steps.append((label, time.perf_counter() - t0))
        log(f"   {label:<52} {time.perf_counter() - t0:8.1f} s")

    daily = size["lines"] - size["attendance"] - size["vouchers"]
    if daily < size["lines"] // 2:
        raise SystemExit(f"SCALE {args.scale} is too small for the city's events and vouchers")
    log(
        f"The city at scale {args.scale}: {size['communities']} communities, "
        f"{size['subjects']:,} residents, {size['lines']:,} ledger lines "
        f"(~{daily:,} daily, {size['attendance']:,} event attendance, "
        f"up to {size['vouchers']:,} redemptions)\n"
        "bench_ledger.generate():"
    )
    t0 = time.perf_counter()
    info = generate(env, args.scale, args.seed, lines=daily / args.scale, households=True)
    steps.append(("residents, households and daily lines (bench_ledger)", info["generation_s"]))
    log(f"   {'(bench_ledger.generate in all)':<52} {info['generation_s']:8.1f} s")

    cr.execute("SELECT COALESCE(MAX(id), 0) FROM credit_ledger_line")
    since_line = cr.fetchone()[0]
    t0 = time.perf_counter()
    city = create_config(env, info)
    cr.commit()
    step(
        f"{len(city['merchant_ids']):,} merchants, rewards, {len(city['event_ids']):,} "
        "events, template (ORM)",
        t0,
    )
    from odoo import fields

    today = fields.Date.context_today(env["credit.ledger.line"])
    bulk_mode(cr)
    t0 = time.perf_counter()
    registrations, event_lines = insert_attendance(env, info, city)
    step(f"{registrations:,} attendances: registrations, services, lines", t0)
    t0 = time.perf_counter()
    rebalance(env, info, since_line)
    vouchers, redemption_lines, _ncs = insert_vouchers(env, info, city, today)
    step(f"{vouchers:,} vouchers with their redemption lines", t0)
    t0 = time.perf_counter()
    rebalanced = rebalance(env, info, since_line)
    step(f"balances of {rebalanced:,} residents from the ledger", t0)
    t0 = time.perf_counter()
    data = {
        "template": city["template_id"],
        "date_from": city["date_from"],
        "date_to": city["date_to"],
        "office": info["grid_worker_id"],
        "first_partner": info["first_partner_id"],
        "last_partner": info["last_partner_id"],
    }
    commitments, _obligation_lines = insert_commitments(env, data)
    step(f"{commitments:,} signed commitments for {city['date_from'][:4]}", t0)
    cr.commit()
    bulk_mode(cr)
    t0 = time.perf_counter()
    program_id, cards, history = insert_loyalty(env, info)
    step(f"loyalty: {cards:,} cards, {history:,} history rows", t0)
    info.update(
        city=city,
        loyalty_program_id=program_id,
        registrations=registrations,
        vouchers=vouchers,
        commitments=commitments,
        lines=info["lines"] + event_lines + redemption_lines,
    )
    env["ir.config_parameter"].sudo().set_param(PARAM, json.dumps(info))
    cr.commit()
    t0 = time.perf_counter()
    tables = [
        "res_partner",
        "credit_household",
        "credit_ledger_line",
        "credit_balance",
        "event_registration",
        "credit_volunteer_service",
        "credit_voucher",
        "credit_commitment",
        "credit_commitment_line",
        "mail_followers",
        "loyalty_card",
        "loyalty_history",
    ]
    maintenance(registry.db_name, [f"VACUUM (ANALYZE) {t}" for t in tables])
    step("VACUUM (ANALYZE)", t0)
    checkpoint(registry.db_name)
    info["city_generation_s"] = time.perf_counter() - t_start
    info["city_steps"] = steps
    return info


# ------------------------------------------------------------ measurements
class Comparison:
    """Rows of Community Credit / loyalty / SQL floor, printed side by side."""

    def __init__(self):
        self.rows = []

    def add(self, label, unit, credit, loyalty=None, floor=None, note=""):
        self.rows.append((label, unit, credit, loyalty, floor, note))

    @staticmethod
    def fmt(value):
        if value is None:
            return "—"
        if isinstance(value, str):
            return value
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.2f}" if abs(value) >= 0.1 else f"{value:.2g}"

    def markdown(self):
        out = [
            "| Measurement | Community Credit | Odoo loyalty (baseline) | Raw SQL (floor) "
            "| Notes |",
            "|---|---:|---:|---:|---|",
        ]
        for label, unit, credit, loyalty, floor, note in self.rows:
            out.append(
                f"| {label} ({unit}) | {self.fmt(credit)} | {self.fmt(loyalty)} "
                f"| {self.fmt(floor)} | {note} |"
            )
        return "\n".join(out)


def loyalty_post(env, card_of, subjects, points, batch):
    """Add points the way loyalty's 'Update Balance' wizard does, batched: the
    history rows created, every card's points written (tracking as shipped)."""
    from odoo import SUPERUSER_ID, api

    cr = env.cr
    lenv = api.Environment(cr, SUPERUSER_ID, {})
    partners = [subjects[i % len(subjects)] for i in range(batch)]
    lenv.invalidate_all()
    t0 = time.perf_counter()
    lenv["loyalty.history"].create(
        [
            {"card_id": card_of[p], "description": "benchmark", "issued": points, "used": 0}
            for p in partners
        ]
    )
    for partner, count in Counter(partners).items():
        card = lenv["loyalty.card"].browse(card_of[partner])
        card.points = card.points + points * count
    lenv.flush_all()
    cr.commit()
    return time.perf_counter() - t0


def sql_post_floor(env, info, subjects, batch, run_id):
    """The floor: the same lines and balances in two statements (rolled back, so
    that the three ledgers stay equal: no commit in the time)."""
    cr = env.cr
    partners = [subjects[i % len(subjects)] for i in range(batch)]
    t0 = time.perf_counter()
    cr.execute(
        """
        INSERT INTO credit_ledger_line (partner_id, rule_id, points, date, origin,
               idempotency_key, state, place_id, community_id, company_id, is_deduction,
               create_uid, create_date, write_uid, write_date)
        SELECT p.id, %(rule)s, 1, CURRENT_DATE, 'manual', %(key)s || u.i, 'posted',
               p.credit_place_id, p.credit_community_id, %(company)s, false,
               %(uid)s, now(), %(uid)s, now()
          FROM unnest(%(partners)s::int[]) WITH ORDINALITY AS u(partner_id, i)
          JOIN res_partner p ON p.id = u.partner_id
        """,
        {"rule": info["uncapped_rule_id"], "key": f"benchfloor:{run_id}:",
         "company": env.company.id, "uid": env.uid, "partners": partners},
    )  # fmt: skip
    inserted = cr.rowcount
    cr.execute(
        """
        UPDATE credit_balance b SET balance = b.balance + u.n, total_earned = b.total_earned + u.n,
               line_count = b.line_count + u.n
          FROM (SELECT partner_id, COUNT(*) AS n FROM unnest(%s::int[]) AS partner_id
                GROUP BY partner_id) u
         WHERE b.partner_id = u.partner_id
        """,
        [partners],
    )
    elapsed = time.perf_counter() - t0
    cr.rollback()
    assert inserted == batch, inserted
    return elapsed


def run(env, registry, info, args, odoo_argv):
    from odoo import api

    cr = env.cr
    results = Results(args.scale)
    table = Comparison()
    failures = []
    rng = random.Random(args.seed)
    city = info["city"]
    program = info["loyalty_program_id"]
    first, last = info["first_partner_id"], info["last_partner_id"]
    partner_ids = list(range(first, last + 1))
    communities = info["community_ids"]
    community = communities[len(communities) // 2]
    manager_env = api.Environment(cr, info["manager_id"], {})
    run_id = time.strftime("%Y%m%d%H%M%S")

    def check(label, ok, detail=""):
        log(f"   {'OK  ' if ok else 'FAIL'} {label}{': ' + detail if detail else ''}")
        if not ok:
            failures.append(label)

    cr.execute("SELECT partner_id, id FROM loyalty_card WHERE program_id = %s", [program])
    card_of = dict(cr.fetchall())
    cr.rollback()

    # ---- posting
    batch = args.batch
    pool = rng.sample(partner_ids, len(partner_ids))
    subjects = [pool[i % len(pool)] for i in range(min(batch, len(pool)))]
    log(f"\nPosting a batch of {batch:,} lines (+1 point each, {len(set(subjects)):,} residents)")
    warm = subjects[:100]
    measure_post(env, None, "warmup", env.uid, False, warm, info["uncapped_rule_id"], 100, run_id)
    loyalty_post(env, card_of, warm, 1, 100)
    measure_post(
        env,
        results,
        "post: Community Credit _post (manager, rights checked)",
        info["manager_id"],
        True,
        subjects,
        info["uncapped_rule_id"],
        batch,
        run_id,
    )
    credit_rate = results.rows[-1][1]
    elapsed = loyalty_post(env, card_of, subjects, 1, batch)
    loyalty_rate = batch / elapsed
    results.add(
        "post: loyalty history + card points (ORM)",
        loyalty_rate,
        "lines/s",
        note=f"{batch:,} lines, {elapsed:.2f} s",
    )
    elapsed = sql_post_floor(env, info, subjects, batch, run_id)
    floor_rate = batch / elapsed
    results.add("post: SQL INSERT + UPDATE floor", floor_rate, "lines/s", note=f"{elapsed:.2f} s")
    table.add(
        f"Post a batch of {batch:,} lines",
        "lines/s",
        credit_rate,
        loyalty_rate,
        floor_rate,
        "commit included, except the floor's (rolled back); Community Credit as the "
        "council manager, rights checked; loyalty as superuser, tracking as shipped",
    )
    cr.execute(
        """
        SELECT COUNT(*) FROM loyalty_card c
          LEFT JOIN (SELECT card_id, SUM(issued - used) AS s FROM loyalty_history
                      WHERE card_id = ANY(%s) GROUP BY card_id) h ON h.card_id = c.id
         WHERE c.id = ANY(%s) AND c.points IS DISTINCT FROM COALESCE(h.s, 0)
        """,
        [[card_of[p] for p in set(subjects)]] * 2,
    )
    check("posted cards: loyalty points = sum of their history", cr.fetchone()[0] == 0)
    cr.rollback()

    # ---- one resident's balance
    sample = rng.sample(partner_ids, min(args.samples, len(partner_ids)))
    log(f"\nOne resident's balance ({len(sample)} residents, cache cleared each time)")

    def credit_balance(pid):
        manager_env.invalidate_all()
        return manager_env["res.partner"].browse(pid).credit_balance

    def loyalty_points(pid):
        env.invalidate_all()
        return env["loyalty.card"].browse(card_of[pid]).points

    def sql_balance(pid):
        cr.execute("SELECT SUM(points) FROM credit_ledger_line WHERE partner_id = %s", [pid])
        return cr.fetchone()[0] or 0

    wrong = [
        pid
        for pid in sample
        if not (credit_balance(pid) == sql_balance(pid) == round(loyalty_points(pid)))
    ]
    check(
        f"{len(sample)} balances: Community Credit = loyalty card = SUM(ledger)",
        not wrong,
        f"differing: {wrong[:5]}",
    )
    medians = []
    for name, fn in [
        ("balance: Community Credit (manager)", credit_balance),
        ("balance: loyalty card.points", loyalty_points),
        ("balance: SQL SUM over the ledger", sql_balance),
    ]:
        times = timed(fn, sample)
        med, p95 = statistics.median(times) * 1000, percentile(times, 95) * 1000
        results.add(f"{name} median", med, "ms")
        results.add(f"{name} p95", p95, "ms")
        medians.append((med, p95))
    table.add(
        "One resident's balance, median",
        "ms",
        *(m for m, _p in medians),
        f"{len(sample)} residents; Community Credit as the council manager (record rules), "
        "loyalty as superuser",
    )
    table.add("One resident's balance, p95", "ms", *(p for _m, p in medians))
    cr.rollback()

    # ---- a community's top 100
    picks = [rng.choice(communities) for _ in range(args.community_samples)]
    log(f"\nA community's top-100 leaderboard ({len(picks)} communities)")

    def credit_top(cid):
        manager_env.invalidate_all()
        top = manager_env["credit.balance"].search(
            [("community_id", "=", cid)], order="balance desc", limit=100
        )
        return [(row.partner_id.name, row.balance) for row in top]

    def loyalty_top(cid):
        env.invalidate_all()
        top = env["loyalty.card"].search(
            [("program_id", "=", program), ("partner_id.credit_community_id", "=", cid)],
            order="points desc",
            limit=100,
        )
        return [(card.partner_id.name, card.points) for card in top]

    def sql_top(cid):
        cr.execute(
            "SELECT partner_id, SUM(points) AS total FROM credit_ledger_line "
            "WHERE community_id = %s GROUP BY partner_id ORDER BY total DESC LIMIT 100",
            [cid],
        )
        return cr.fetchall()

    scores = [
        [round(score) for _name, score in fn(picks[0])] for fn in (credit_top, loyalty_top, sql_top)
    ]
    check(
        f"community {picks[0]}: the three top-100 have the same scores",
        scores[0] == scores[1] == scores[2] and len(scores[0]) == min(100, len(scores[2])),
        f"{scores[0][:3]} / {scores[1][:3]} / {scores[2][:3]}",
    )
    values = []
    for name, fn in [
        ("top 100: Community Credit (manager)", credit_top),
        ("top 100: loyalty cards by points", loyalty_top),
        ("top 100: SQL GROUP BY over the ledger", sql_top),
    ]:
        times = timed(fn, picks)
        results.add(f"{name} median", statistics.median(times) * 1000, "ms")
        results.add(f"{name} max", max(times) * 1000, "ms")
        values.append(statistics.median(times) * 1000)
    table.add("A community's top 100, median", "ms", *values, f"{len(picks)} communities")
    cr.rollback()

    # ---- one community's commitments, evaluated at the end of the year
    from odoo.addons.community_credit.models.credit_commitment import COUNTED_ORIGINS

    cr.execute(
        "SELECT COUNT(*) FROM credit_commitment WHERE template_id = %s AND community_id = %s "
        "AND state = 'signed'",
        [city["template_id"], community],
    )
    n_commitments = cr.fetchone()[0]
    log(f"\nYear-end evaluation of community {community}'s {n_commitments:,} commitments")
    floor_query = """
        WITH c AS (SELECT id, partner_id FROM credit_commitment
                    WHERE template_id = %(template)s AND community_id = %(community)s),
             l AS (SELECT partner_id, COALESCE(SUM(points) FILTER (WHERE points > 0), 0) AS pos,
                          COUNT(*) FILTER (WHERE points < 0) AS neg
                     FROM credit_ledger_line
                    WHERE partner_id IN (SELECT partner_id FROM c) AND state = 'posted'
                      AND origin = ANY(%(origins)s) AND date BETWEEN %(start)s AND %(end)s
                 GROUP BY partner_id),
             s AS (SELECT partner_id, COUNT(*) AS n FROM credit_volunteer_service
                    WHERE partner_id IN (SELECT partner_id FROM c) AND state = 'done'
                      AND date BETWEEN %(start)s AND %(end)s
                 GROUP BY partner_id)
        SELECT COUNT(*) FILTER (WHERE COALESCE(l.pos, 0) >= %(points)s AND COALESCE(l.neg, 0) = 0
                                  AND COALESCE(s.n, 0) >= %(services)s),
               COUNT(*)
          FROM c LEFT JOIN l ON l.partner_id = c.partner_id
                 LEFT JOIN s ON s.partner_id = c.partner_id
    """
    floor_params = {
        "template": city["template_id"], "community": community, "origins": COUNTED_ORIGINS,
        "start": city["date_from"], "end": city["date_to"], "points": POINTS_TARGET,
        "services": SERVICES_TARGET,
    }  # fmt: skip

    def evaluate_once():
        cr.rollback()
        env.invalidate_all()
        t0 = time.perf_counter()
        commitments = env["credit.commitment"].search(
            [("template_id", "=", city["template_id"]), ("community_id", "=", community),
             ("state", "=", "signed")], order="id",
        )  # fmt: skip
        for start in range(0, len(commitments), 2000):
            commitments[start : start + 2000]._evaluate()
        env.flush_all()
        elapsed = time.perf_counter() - t0
        cr.execute(
            "SELECT state, COUNT(*) FROM credit_commitment WHERE template_id = %s "
            "AND community_id = %s GROUP BY state",
            [city["template_id"], community],
        )
        states = dict(cr.fetchall())
        cr.execute(
            "SELECT COUNT(*) FILTER (WHERE points > 0), COUNT(*) FILTER (WHERE points < 0) "
            "FROM credit_ledger_line WHERE origin = 'contract' AND community_id = %s",
            [community],
        )
        contract = cr.fetchone()
        cr.rollback()  # keep the commitments signed for the next run
        return elapsed, states, contract

    elapsed, states, contract = evaluate_once()
    t0 = time.perf_counter()
    cr.execute(floor_query, floor_params)
    fulfilled, total = cr.fetchone()
    floor_s = time.perf_counter() - t0
    cr.rollback()
    check(
        "evaluation: fulfilled and breached = SQL over the ledger and services",
        states.get("fulfilled", 0) == fulfilled and states.get("breached", 0) == total - fulfilled,
        f"{states}; SQL: {fulfilled:,} of {total:,} fulfilled",
    )
    check(
        "evaluation: one bonus per fulfilled, one deduction per breached",
        contract == (fulfilled, total - fulfilled),
        f"{contract[0]:,} bonuses, {contract[1]:,} deductions",
    )
    times = [elapsed] + [evaluate_once()[0] for _ in range(args.repeat - 1)]
    results.add(
        "commitments: evaluate one community", statistics.median(times), "s", note=fmt_times(times)
    )
    results.add("commitments: SQL floor (one aggregate)", floor_s, "s")
    table.add(
        f"Year-end evaluation of one community's {n_commitments:,} commitments",
        "s",
        statistics.median(times),
        None,
        floor_s,
        f"{n_commitments / statistics.median(times):,.0f} commitments/s; loyalty has none",
    )

    # ---- monthly settlement of one community's merchants
    month = date.fromisoformat(city["last_month"])
    end = period_end("month", month)
    merchants = [
        m for k, m in enumerate(city["merchant_ids"]) if communities[k // MERCHANTS] == community
    ]
    finance_env = api.Environment(cr, city["finance_id"], {})
    log(f"\nMonthly settlement of community {community}'s {len(merchants)} merchants ({month})")

    def settle_once():
        cr.rollback()
        finance_env.invalidate_all()
        t0 = time.perf_counter()
        settlements = finance_env["credit.settlement"].create(
            [
                {"merchant_id": m, "community_id": community, "date_from": month, "date_to": end}
                for m in merchants
            ]
        )
        settlements.action_compute()
        settlements.filtered("line_ids").action_confirm()
        totals = (
            sum(settlements.mapped("issued_count")),
            sum(settlements.mapped("honoured_count")),
            sum(settlements.mapped("value_honoured")),
        )
        finance_env.flush_all()
        elapsed = time.perf_counter() - t0
        cr.rollback()
        return elapsed, totals

    elapsed, totals = settle_once()
    t0 = time.perf_counter()
    cr.execute(
        "SELECT merchant_id, COUNT(*), COUNT(*) FILTER (WHERE state = 'honoured'), "
        "COALESCE(SUM(donated_value) FILTER (WHERE state = 'honoured'), 0) "
        "FROM credit_voucher WHERE community_id = %s AND merchant_id = ANY(%s) "
        "AND issue_date BETWEEN %s AND %s GROUP BY merchant_id",
        [community, merchants, month, end],
    )
    rows = cr.fetchall()
    floor_s = time.perf_counter() - t0
    cr.rollback()
    floor = (sum(r[1] for r in rows), sum(r[2] for r in rows), sum(float(r[3]) for r in rows))
    check(
        "settlement: vouchers, handed over and value = SQL over the vouchers",
        totals[:2] == floor[:2] and abs(totals[2] - floor[2]) < 0.01 and floor[0] > 0,
        f"{totals[0]:,} / {totals[1]:,} / {totals[2]:,.2f}; SQL {floor[0]:,} / {floor[1]:,} / "
        f"{floor[2]:,.2f}",
    )
    times = [elapsed] + [settle_once()[0] for _ in range(args.repeat - 1)]
    results.add(
        "settlement: compute + confirm one community", statistics.median(times), "s",
        note=fmt_times(times),
    )  # fmt: skip
    results.add("settlement: SQL floor (one GROUP BY)", floor_s, "s")
    table.add(
        f"Monthly settlement of one community's {len(merchants)} merchants",
        "s",
        statistics.median(times),
        None,
        floor_s,
        f"{floor[0]:,} vouchers; loyalty has none",
    )

    # ---- statistics and credit index of a month, every community
    today = date.fromisoformat(info["generated_on"])
    _period, start = previous_periods(today)[0]
    end = period_end("month", start)
    log(f"\nStatistics and credit index of {start:%Y-%m}, every community")
    record, _warm = compute_index(env, "month", start)
    check_index(env, record, start, end, communities, community, check)
    cr.rollback()

    def index_once(penv=manager_env):
        elapsed = compute_index(penv, "month", start)[1]
        cr.rollback()
        return elapsed

    med, times = median_of(index_once, args.repeat)
    results.add("index: a month, every community (manager)", med, "s", note=fmt_times(times))

    def floor_once():
        t0 = time.perf_counter()
        index_sql_floor(cr, start, end)
        return time.perf_counter() - t0

    floor_med, _times = median_of(floor_once, args.repeat)
    results.add("index: SQL floor (one GROUP BY)", floor_med, "s")
    cr.rollback()
    table.add(
        f"Statistics and credit index of a month, {len(communities)} communities",
        "s",
        med,
        None,
        floor_med,
        "loyalty has none",
    )

    # ---- the resident's portal page over HTTP
    portal(env, registry, info, args, odoo_argv, rng, card_of, results, table, check)
    return results, table, failures


def portal(env, registry, info, args, odoo_argv, rng, card_of, results, table, check):
    from odoo import Command

    cr = env.cr
    cr.execute(
        "SELECT partner_id FROM credit_balance WHERE partner_id BETWEEN %s AND %s "
        "AND line_count > 0 ORDER BY partner_id",
        [info["first_partner_id"], info["last_partner_id"]],
    )
    with_lines = [row[0] for row in cr.fetchall()]
    chosen = rng.sample(with_lines, min(PORTAL_RESIDENTS, len(with_lines)))
    groups = [
        env.ref("base.group_portal").id,
        env.ref("community_credit.group_credit_resident").id,
    ]
    Users = env["res.users"].with_context(no_reset_password=True)
    logins = []
    for pid in chosen:
        login = f"bcity_{pid}"
        if not Users.search_count([("login", "=", login)]):
            Users.create(
                {"login": login, "password": login, "partner_id": pid,
                 "groups_id": [Command.set(groups)]}
            )  # fmt: skip
        logins.append((login, pid))
    cr.commit()
    log(
        f"\nPortal pages over HTTP: {args.requests} requests each from {len(logins)} residents, "
        f"Odoo with {args.workers} workers"
    )
    server, base, server_log = start_server(
        odoo_argv, registry.db_name, args.workers, args.port, name="city"
    )
    pages = {
        "credit": lambda pid: "/my/credit",
        "loyalty": lambda pid: f"/my/loyalty_card/{card_of[pid]}/history",
    }
    times = {kind: [] for kind in pages}
    statuses = {kind: Counter() for kind in pages}
    try:
        if not wait_for(base + "/web/login", 180):
            raise SystemExit(f"Odoo did not start (its log: {server_log})")
        residents = []
        for login, pid in logins:
            resident = Resident(base, login)
            resident.authenticate(registry.db_name)
            residents.append((resident, pid))
        for path in pages.values():  # warm-up: every worker loads the pages once
            for resident, pid in residents:
                resident.request(path(pid))
        for i in range(args.requests):
            for kind, path in pages.items():
                resident, pid = residents[i % len(residents)]
                t0 = time.perf_counter()
                status, body, _headers = resident.request(path(pid))
                times[kind].append(time.perf_counter() - t0)
                ok = status == 200 and ("Bench Resident" in body or kind == "loyalty")
                statuses[kind][status if ok else f"{status} (wrong page)"] += 1
    finally:
        server.terminate()
        server.wait(60)
    log(f"   Odoo's log: {server_log}")
    for kind in pages:
        check(
            f"portal {kind}: every request answered 200 with the resident's page",
            set(statuses[kind]) == {200},
            str(dict(statuses[kind])),
        )

    # the floor: the page's queries (lines, balance, repairs) straight in SQL
    def floor_page(pid):
        cr.execute(
            "SELECT id, date, points, origin, description, rule_id FROM credit_ledger_line "
            "WHERE partner_id = %s ORDER BY date DESC, id DESC LIMIT 50",
            [pid],
        )
        cr.fetchall()
        cr.execute(
            "SELECT balance, total_earned, total_spent FROM credit_balance WHERE partner_id = %s",
            [pid],
        )
        cr.fetchall()
        cr.execute(
            "SELECT id FROM credit_repair WHERE partner_id = %s "
            "ORDER BY state, deadline DESC LIMIT 20",
            [pid],
        )
        cr.fetchall()

    floor = timed(floor_page, [logins[i % len(logins)][1] for i in range(args.requests)])
    cr.rollback()
    rows = {}
    for kind, label in [("credit", "/my/credit"), ("loyalty", "loyalty card history")]:
        med, p95 = statistics.median(times[kind]) * 1000, percentile(times[kind], 95) * 1000
        results.add(f"portal: {label} median", med, "ms")
        results.add(f"portal: {label} p95", p95, "ms")
        rows[kind] = (med, p95)
    fmed, fp95 = statistics.median(floor) * 1000, percentile(floor, 95) * 1000
    results.add("portal: SQL floor (the page's queries) median", fmed, "ms")
    note = f"{args.requests} requests, {len(logins)} residents, {args.workers} workers"
    table.add("Portal page, median", "ms", rows["credit"][0], rows["loyalty"][0], fmed, note)
    table.add("Portal page, p95", "ms", rows["credit"][1], rows["loyalty"][1], fp95)


# ------------------------------------------------------------------- main
def main():
    parser = bench_parser(__doc__, "1.0 = the whole city")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--batch", type=int, default=10_000, help="lines per posted batch")
    parser.add_argument("--samples", type=int, default=200, help="residents timed one by one")
    parser.add_argument("--community-samples", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the slow measurements")
    parser.add_argument("--requests", type=int, default=30, help="portal requests per page")
    parser.add_argument("--workers", type=int, default=2, help="Odoo workers for the portal")
    parser.add_argument("--port", type=int, default=8279)
    args, registry = open_bench(parser)
    odoo_argv = args.odoo_argv
    dbname = registry.db_name

    import odoo

    if "loyalty.card" not in registry:
        log(f"'{dbname}' has no loyalty module: run BENCH=city bash benchmarks/run.sh")
        return 2

    with registry.cursor() as cr:
        env = odoo.api.Environment(
            cr,
            odoo.SUPERUSER_ID,
            {"tracking_disable": True, "mail_create_nolog": True, "mail_notrack": True,
             "mail_create_nosubscribe": True},
        )  # fmt: skip
        cr.execute("SHOW server_version")
        version = cr.fetchone()[0]
        cr.execute("SHOW shared_buffers")
        log(f"PostgreSQL {version}, shared_buffers {cr.fetchone()[0]}; scale {args.scale}\n")
        info = bench_info(env)
        if info and ("city" not in info or abs(info["scale"] - args.scale) > 1e-9):
            log("This database holds other bench data: run without REUSE=1.")
            return 2
        if info:
            log(f"The city is already there (generated on {info['generated_on']}): reused")
        else:
            info = build_city(env, registry, args)
            log(f"\nThe city took {info['city_generation_s']:.1f} s to build")
            for label, seconds in info["city_steps"]:
                log(f"BENCH generation: {label} {seconds:.3f} s")
            log(f"BENCH generation_total {info['city_generation_s']:.3f} s")
        t0 = time.perf_counter()
        mismatches = env["credit.balance"]._check_consistency()
        log(
            f"\n_check_consistency() of the generated city: {len(mismatches)} mismatches "
            f"({time.perf_counter() - t0:.1f} s)"
        )
        cr.rollback()
        if mismatches:
            log(f"FAIL: the generated balances do not equal the ledger: {mismatches[:10]!r}")
            return 1
        cr.execute("SELECT COUNT(*), pg_size_pretty(pg_total_relation_size('credit_ledger_line'))"
                   " FROM credit_ledger_line")  # fmt: skip
        n_lines, size = cr.fetchone()
        cr.execute("SELECT COUNT(*) FROM loyalty_history")
        n_history = cr.fetchone()[0]
        cr.execute("SELECT COUNT(*) FROM credit_household")
        n_households = cr.fetchone()[0]
        cr.rollback()
        log(
            f"The city: {len(info['community_ids'])} communities, {info['subjects']:,} residents "
            f"in {n_households:,} households, {n_lines:,} ledger lines ({size}), "
            f"{len(info['city']['merchant_ids']):,} merchants, {info['vouchers']:,} vouchers, "
            f"{len(info['city']['event_ids']):,} events ({info['registrations']:,} attendances), "
            f"{info['commitments']:,} commitments; loyalty: {n_history:,} history rows"
        )
        results, table, failures = run(env, registry, info, args, odoo_argv)

        t0 = time.perf_counter()
        mismatches = env["credit.balance"]._check_consistency()
        results.add("check: balances = ledger, whole city", time.perf_counter() - t0, "s")
        cr.rollback()

    log(f"\nResults at scale {args.scale} ({n_lines:,} ledger lines before this run's postings)")
    log(results.table())
    log(f"\nCommunity Credit, Odoo's loyalty and raw SQL, scale {args.scale}:\n")
    log(table.markdown())
    for failure in failures:
        log(f"FAIL: {failure}")
    verdict = "PASS" if not mismatches and not failures else "FAIL"
    log(
        f"\n_check_consistency() after the measurements: {len(mismatches)} mismatches "
        f"{mismatches[:10]!r} -> {verdict}"
    )
    log(f"BENCH consistency_after {len(mismatches)} mismatches")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
