"""Volunteer-event benchmark: an event with 1,000 attendees marked attended at once.

    python bench_events.py [--scale 1.0] -- -d DB --addons-path=... --db_host=...

Run it through ``BENCH=events bash benchmarks/run.sh``, which prepares the database.
As the organiser (an event user who is not credit staff): 1,000 registrations
through Odoo's event module, the whole list marked attended in one action (points
and hours posted through the ledger's posting path), marked again (nothing posted),
then undone (every line reversed). Residents are bulk-inserted with SQL.
Checks the ledger and the balances at the end and prints ``BENCH name value unit``.
"""

import sys
import time
from datetime import datetime, timedelta

from bench_ledger import Results, bench_parser, log, maintenance, next_id, open_bench

ATTENDEES = 1000
PREFIX = "BEV"


def setup(env, n):
    from odoo import Command, fields

    community = env["credit.place"].create(
        {"name": "Event bench community", "code": f"{PREFIX}-C", "place_type": "community"}
    )
    building = env["credit.place"].create(
        {
            "name": "Building 1",
            "code": f"{PREFIX}-B1",
            "place_type": "building",
            "parent_id": community.id,
        }
    )
    category = env["credit.rule.category"].create({"name": "Volunteering (bench)"})
    rule = env["credit.rule"].create(
        {
            "code": f"{PREFIX}-1",
            "name": "Volunteer service",
            "category_id": category.id,
            "points": 2,
            "cap_month": 20,
            "community_id": community.id,
        }
    )
    organiser = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": "Bench Organiser",
                "login": "bench_events_organiser",
                "groups_id": [
                    Command.set(
                        [
                            env.ref("base.group_user").id,
                            env.ref("event.group_event_registration_desk").id,
                        ]
                    )
                ],
            }
        )
    )
    yesterday = fields.Date.context_today(community) - timedelta(days=1)
    event = env["event.event"].create(
        {
            "name": "Community clean-up (bench)",
            "date_begin": datetime.combine(yesterday, datetime.min.time()) + timedelta(hours=1),
            "date_end": datetime.combine(yesterday, datetime.min.time()) + timedelta(hours=4),
            "credit_rule_id": rule.id,
            "credit_community_id": community.id,
        }
    )
    env.flush_all()
    cr = env.cr
    base = next_id(cr, "res_partner")
    cr.execute(
        """
        INSERT INTO res_partner (id, name, complete_name, commercial_partner_id, type, active,
               is_company, employee, partner_share, lang, color, message_bounce,
               credit_place_id, credit_community_id, credit_is_subject,
               create_uid, create_date, write_uid, write_date)
        SELECT %(base)s + n, 'Bench Volunteer ' || n, 'Bench Volunteer ' || n, %(base)s + n,
               'contact', true, false, false, true, 'zh_CN', 0, 0,
               %(building)s, %(community)s, true,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM generate_series(1, %(n)s) AS n
        """,
        {"base": base, "n": n, "building": building.id, "community": community.id, "uid": env.uid},
    )
    cr.execute("SELECT setval('res_partner_id_seq', %s)", [base + n])
    roles = env["res.partner"]._fields["credit_role_ids"]
    cr.execute(
        f"INSERT INTO {roles.relation} ({roles.column1}, {roles.column2}) "
        "SELECT %s + n, %s FROM generate_series(1, %s) AS n",
        [base, env.ref("community_credit.role_volunteer").id, n],
    )
    env.invalidate_all()
    return {
        "event": event.id,
        "organiser": organiser.id,
        "partners": list(range(base + 1, base + n + 1)),
        "community": community.id,
    }


def main():
    parser = bench_parser(__doc__, "1.0 = 1,000 attendees")
    args, registry = open_bench(parser)
    dbname = registry.db_name

    import odoo

    results = Results(args.scale)
    n = max(10, round(ATTENDEES * args.scale))

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        if env["credit.place"].search_count([("code", "=", f"{PREFIX}-C")]):
            log("This database already holds the events bench: run without REUSE=1.")
            return 2
        data = setup(env, n)
        cr.commit()
    maintenance(dbname, ["VACUUM (ANALYZE) res_partner"])
    log(f"{n:,} volunteers registered for one event, as the organiser")

    def step(name, func, unit_count=None):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, data["organiser"], {})
            t0 = time.perf_counter()
            func(env)
            env.flush_all()
            cr.commit()
            elapsed = time.perf_counter() - t0
        results.add(name, elapsed, "s")
        if unit_count:
            log(f"   {unit_count:,} attendees in {elapsed:.2f} s = {unit_count / elapsed:,.0f}/s")

    def register(env):
        env["event.registration"].create(
            [{"event_id": data["event"], "partner_id": p} for p in data["partners"]]
        )

    def registrations(env):
        return env["event.registration"].search([("event_id", "=", data["event"])])

    step("events: register the attendees", register, n)
    maintenance(dbname, ["ANALYZE event_registration"])
    step(
        "events: mark all attended (points and hours)",
        lambda env: registrations(env).action_credit_mark_attended(),
        n,
    )
    step(
        "events: mark all attended again (nothing posted)",
        lambda env: registrations(env).sudo()._credit_post_attendance(),
        n,
    )
    step(
        "events: undo the attendance (reversals)",
        lambda env: registrations(env).action_confirm(),
        n,
    )
    step(
        "events: mark all attended once more",
        lambda env: registrations(env).action_credit_mark_attended(),
        n,
    )

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        cr.execute(
            "SELECT COUNT(*), COALESCE(SUM(points), 0), COUNT(*) FILTER (WHERE state = 'posted') "
            "FROM credit_ledger_line WHERE partner_id = ANY(%s)",
            [data["partners"]],
        )
        lines, points, posted = cr.fetchone()
        cr.execute(
            "SELECT state, COUNT(*), SUM(hours) FROM credit_volunteer_service "
            "WHERE event_id = %s GROUP BY state",
            [data["event"]],
        )
        services = {state: (count, hours) for state, count, hours in cr.fetchall()}
        mismatches = env["credit.balance"]._check_consistency()
    log("\n" + results.table())
    # attended, undone (a reversal each), attended again: 3 lines and 2 points per attendee
    ok = (
        lines == 3 * n
        and points == 2 * n
        and posted == 2 * n  # the second attendance and the reversals of the first
        and services == {"done": (n, 3.0 * n), "cancelled": (n, 3.0 * n)}
        and not mismatches
    )
    log(
        f"\nLedger: {lines:,} lines, {points:,} points, {posted:,} posted; services: {services}; "
        f"balance mismatches: {len(mismatches)}"
    )
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
