"""Settlement benchmark: a month of 70 merchants and 30,000 vouchers.

    python bench_settlement.py [--scale 1.0] -- -d DB --addons-path=... --db_host=...

Run it through ``BENCH=settlement bash benchmarks/run.sh``. The month's vouchers
(three quarters handed over) are bulk-inserted with SQL; what is measured is the
finance user's work: computing the 70 merchants' settlements, confirming them,
and exporting the largest one to XLSX. Checks that the settlements add up to
the vouchers and prints ``BENCH name value unit`` lines.
"""

import sys
import time

from bench_ledger import Results, bench_parser, log, maintenance, next_id, open_bench

MERCHANTS = 70
VOUCHERS = 30_000
RESIDENTS = 5_000
PREFIX = "BST"


def setup(env, n_merchants, n_vouchers):
    from odoo import Command, fields

    community = env["credit.place"].create(
        {"name": "Settlement bench community", "code": f"{PREFIX}-C", "place_type": "community"}
    )
    merchants = env["res.partner"].create(
        [{"name": f"Merchant {m:02d}", "is_company": True} for m in range(n_merchants)]
    )
    products = env["product.template"].create(
        [
            {
                "name": f"Reward of {merchant.name}",
                "credit_is_reward": True,
                "credit_points_price": 6 + m % 10,
                "credit_donated_value": float(6 + m % 10),
                "credit_merchant_id": merchant.id,
                "credit_stock_ids": [
                    Command.create(
                        {
                            "collection_point": merchant.name,
                            "community_id": community.id,
                            "quantity": 1000,
                        }
                    )
                ],
            }
            for m, merchant in enumerate(merchants)
        ]
    )
    finance = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": "Bench Finance",
                "login": "bench_settlement_finance",
                "groups_id": [Command.set([env.ref("community_credit.group_credit_finance").id])],
            }
        )
    )
    today = fields.Date.context_today(community)
    start = today.replace(day=1)
    env["credit.merchant.pledge"].create(
        [
            {
                "merchant_id": merchant.id,
                "community_id": community.id,
                "month": start,
                "value": 3000.0,
            }
            for merchant in merchants
        ]
    )
    env.flush_all()
    cr = env.cr
    base = next_id(cr, "res_partner")
    cr.execute(
        """
        INSERT INTO res_partner (id, name, complete_name, commercial_partner_id, type, active,
               is_company, employee, partner_share, lang, color, message_bounce,
               credit_community_id, credit_is_subject,
               create_uid, create_date, write_uid, write_date)
        SELECT %(base)s + n, 'Bench Resident ' || n, 'Bench Resident ' || n, %(base)s + n,
               'contact', true, false, false, true, 'zh_CN', 0, 0, %(community)s, true,
               %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
          FROM generate_series(1, %(n)s) AS n
        """,
        {"base": base, "n": RESIDENTS, "community": community.id, "uid": env.uid},
    )
    cr.execute("SELECT setval('res_partner_id_seq', %s)", [base + RESIDENTS])
    stock_ids = [p.credit_stock_ids.id for p in products]
    cr.execute(
        """
        INSERT INTO credit_voucher (code, partner_id, product_tmpl_id, stock_id, merchant_id,
               points, donated_value, state, issue_date, expiry_date, community_id,
               company_id, create_uid, create_date, write_uid, write_date)
        SELECT 'B' || lpad(n::text, 9, '0'), %(base)s + 1 + n %% %(residents)s,
               (%(products)s::int[])[1 + n %% %(m)s], (%(stocks)s::int[])[1 + n %% %(m)s],
               (%(merchants)s::int[])[1 + n %% %(m)s],
               6 + (n %% %(m)s) %% 10, 6 + (n %% %(m)s) %% 10,
               CASE WHEN n %% 4 = 0 THEN 'issued' ELSE 'honoured' END,
               %(start)s::date + (n %% 28), %(start)s::date + (n %% 28) + 30,
               %(community)s, %(company)s, %(uid)s, now() at time zone 'UTC',
               %(uid)s, now() at time zone 'UTC'
          FROM generate_series(1, %(n)s) AS n
        """,
        {
            "base": base,
            "residents": RESIDENTS,
            "products": products.ids,
            "stocks": stock_ids,
            "merchants": merchants.ids,
            "m": n_merchants,
            "start": start,
            "community": community.id,
            "company": community.company_id.id,
            "uid": env.uid,
            "n": n_vouchers,
        },
    )
    return {
        "community": community.id,
        "merchants": merchants.ids,
        "finance": finance.id,
        "start": start,
    }


def main():
    parser = bench_parser(__doc__)
    args, registry = open_bench(parser)
    dbname = registry.db_name

    import odoo

    results = Results(args.scale)
    n_merchants = max(2, round(MERCHANTS * args.scale))
    n_vouchers = max(20, round(VOUCHERS * args.scale))
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        if env["credit.place"].search_count([("code", "=", f"{PREFIX}-C")]):
            log("This database already holds the settlement bench: run without REUSE=1.")
            return 2
        data = setup(env, n_merchants, n_vouchers)
        cr.commit()
    maintenance(dbname, ["VACUUM (ANALYZE) credit_voucher"])
    log(f"{n_merchants} merchants, {n_vouchers:,} vouchers in one month")

    from dateutil.relativedelta import relativedelta

    end = data["start"] + relativedelta(months=1, days=-1)

    def step(name, func):
        with registry.cursor() as cr:
            env = odoo.api.Environment(cr, data["finance"], {})
            t0 = time.perf_counter()
            out = func(env)
            env.flush_all()
            cr.commit()
            results.add(name, time.perf_counter() - t0, "s")
            return out

    def create_and_compute(env):
        settlements = env["credit.settlement"].create(
            [
                {
                    "merchant_id": merchant,
                    "community_id": data["community"],
                    "date_from": data["start"],
                    "date_to": end,
                }
                for merchant in data["merchants"]
            ]
        )
        settlements.action_compute()
        return settlements.ids

    ids = step(f"settlement: compute {n_merchants} merchants", create_and_compute)
    step(
        "settlement: confirm all", lambda env: env["credit.settlement"].browse(ids).action_confirm()
    )

    def totals(env):
        settlements = env["credit.settlement"].browse(ids)
        return (
            sum(settlements.mapped("issued_count")),
            sum(settlements.mapped("honoured_count")),
            sum(settlements.mapped("value_honoured")),
        )

    issued, honoured, value = step("settlement: read the totals of all", totals)
    step(
        "settlement: XLSX of one merchant",
        lambda env: env["credit.settlement"].browse(ids[0]).action_export_xlsx(),
    )
    with registry.cursor() as cr:
        cr.execute(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE state = 'honoured'), "
            "COALESCE(SUM(donated_value) FILTER (WHERE state = 'honoured'), 0) "
            "FROM credit_voucher WHERE community_id = %s",
            [data["community"]],
        )
        floor = cr.fetchone()
    log("\n" + results.table())
    ok = (issued, honoured) == floor[:2] and abs(value - float(floor[2])) < 0.01
    log(
        f"\nSettlements: {issued:,} vouchers, {honoured:,} handed over, value {value:,.2f}; "
        f"vouchers table: {floor[0]:,} / {floor[1]:,} / {float(floor[2]):,.2f}"
    )
    log("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
