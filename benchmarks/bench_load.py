"""Load test: concurrent residents on a real multi-worker Odoo.

    python bench_load.py [--scale 1.0] [--users 50] [--seconds 120] [--workers 4]
                         [--restart-db-at SECONDS] -- -d DB --addons-path=... --db_host=...

Run it through ``BENCH=load bash benchmarks/run.sh``. It prepares a community
with USERS resident portal users (30 points each), a reward of 1 point with a
limited stock and ten good deeds residents may declare; starts Odoo with WORKERS
worker processes on loopback; and for SECONDS lets every resident, in their own
thread, loop: open the declare page, declare a good deed, open the rewards and
redeem one. Afterwards it stops Odoo and reconciles, in SQL: every balance
equals its ledger, no balance is negative, every acknowledged redemption has
its voucher and ledger line and no voucher exists that was not acknowledged
(zero lost or duplicated points), the stock taken equals the vouchers, and one
claim per acknowledged declaration. It prints requests per second and latency
percentiles per kind of request (``BENCH name value unit`` lines).

With --restart-db-at N the PostgreSQL cluster is restarted N seconds into the
run (root on Debian only: it uses pg_ctlcluster): requests fail while it is
down, Odoo reconnects, and the reconciliation must still hold: a redemption
acknowledged before the restart is never lost.
"""

import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict

from bench_ledger import Results, bench_parser, log, open_bench, percentile

PREFIX = "BLD"
POINTS_EACH = 30
DEEDS = 10


def setup(env, users):
    from odoo import Command

    community = env["credit.place"].create(
        {
            "name": "Load test community",
            "code": f"{PREFIX}-C",
            "place_type": "community",
            "claim_daily_limit": 100000,
            "claim_publication": False,
        }
    )
    category = env["credit.rule.category"].create({"name": "Load test"})
    earn = env["credit.rule"].create(
        {
            "code": f"{PREFIX}0",
            "name": "Load test grant",
            "category_id": category.id,
            "points": POINTS_EACH,
            "community_id": community.id,
        }
    )
    # one claim per subject, rule and day: ten deeds to declare
    deeds = env["credit.rule"].create(
        [
            {
                "code": f"{PREFIX}D{n}",
                "name": f"Load test good deed {n}",
                "category_id": category.id,
                "points": 1,
                "self_declare": True,
                "community_id": community.id,
            }
            for n in range(DEEDS)
        ]
    )
    role = env.ref("community_credit.role_resident")
    groups = [
        env.ref("base.group_portal").id,
        env.ref("community_credit.group_credit_resident").id,
    ]
    logins = [f"{PREFIX.lower()}_{n:03d}" for n in range(users)]
    residents = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            [
                {
                    "name": f"Load resident {n:03d}",
                    "login": login,
                    "password": login,
                    "groups_id": [Command.set(groups)],
                }
                for n, login in enumerate(logins)
            ]
        )
    )
    residents.partner_id.write(
        {"credit_place_id": community.id, "credit_role_ids": [Command.set(role.ids)]}
    )
    env["credit.ledger.line"]._post(
        [
            {
                "partner_id": p.id,
                "rule_id": earn.id,
                "origin": "manual",
                "idempotency_key": f"{PREFIX}-earn-{p.id}",
            }
            for p in residents.partner_id
        ],
        check_rights=False,
    )
    shop = env["res.partner"].create({"name": "Load test shop", "is_company": True})
    # fewer units than the residents could buy: the last ones run out under load
    quantity = users * POINTS_EACH // 2
    reward = env["product.template"].create(
        {
            "name": "Load test bun",
            "credit_is_reward": True,
            "credit_points_price": 1,
            "credit_donated_value": 1.0,
            "credit_merchant_id": shop.id,
            "credit_stock_ids": [
                Command.create(
                    {
                        "collection_point": "Load test shop",
                        "community_id": community.id,
                        "quantity": quantity,
                    }
                )
            ],
        }
    )
    return {
        "logins": logins,
        "partners": residents.partner_id.ids,
        "deeds": deeds.ids,
        "stock": reward.credit_stock_ids.id,
        "quantity": quantity,
    }


class Resident:
    """One resident's phone: a cookie jar and the pages they use."""

    def __init__(self, base, login):
        self.base = base
        self.login = login
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def request(self, path, data=None, json_body=None):
        if json_body is not None:
            body, headers = json.dumps(json_body).encode(), {"Content-Type": "application/json"}
        elif data is not None:
            body, headers = urllib.parse.urlencode(data).encode(), {}
        else:
            body, headers = None, {}
        req = urllib.request.Request(self.base + path, body, headers)
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.read().decode(), resp.headers
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace"), exc.headers

    def authenticate(self, dbname):
        status, body, _headers = self.request(
            "/web/session/authenticate",
            json_body={"params": {"db": dbname, "login": self.login, "password": self.login}},
        )
        if status != 200 or '"uid"' not in body:
            raise RuntimeError(f"{self.login} could not log in: {status} {body[:200]}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def drive(resident, data, until, stats, acknowledged):
    """One resident's loop until the deadline; every request timed."""

    def timed(kind, path, form=None):
        start = time.perf_counter()
        try:
            status, body, headers = resident.request(path, form)
        except OSError:  # connection refused or reset: Odoo or PostgreSQL restarting
            status, body, headers = 0, "", {}
        stats[kind].append((time.perf_counter() - start, status))
        return status, body, headers

    declared = 0
    while time.monotonic() < until:
        status, page, _h = timed("GET /my/credit/declare", "/my/credit/declare")
        token = CSRF.search(page) if status == 200 else None
        if not token:
            time.sleep(0.2)
            continue
        declared += 1
        status, _b, headers = timed(
            "POST declare",
            "/my/credit/declare",
            {
                "csrf_token": token.group(1),
                "rule_id": data["deeds"][declared % DEEDS],
                "date": time.strftime("%Y-%m-%d", time.gmtime()),
                "description": f"{resident.login} helped, #{declared}",
            },
        )
        if status in (302, 303) and "/my/credit/claims/" in headers.get("Location", ""):
            acknowledged["claims"].append(resident.login)
        status, _b, _h = timed("GET /my/credit/rewards", "/my/credit/rewards")
        status, _b, headers = timed(
            "POST redeem",
            "/my/credit/rewards/redeem",
            {"csrf_token": token.group(1), "stock_id": data["stock"]},
        )
        location = headers.get("Location", "") if headers else ""
        voucher = re.search(r"/my/credit/rewards/vouchers/(\d+)", location)
        if status in (302, 303) and voucher:
            acknowledged["vouchers"].append(int(voucher.group(1)))


def reconcile(cr, data, acknowledged, restarted):
    partners = data["partners"]
    problems = []
    cr.execute(
        """
        SELECT COUNT(*) FROM credit_balance b
          LEFT JOIN (SELECT partner_id, SUM(points) s FROM credit_ledger_line
                      WHERE partner_id = ANY(%(p)s) GROUP BY partner_id) l
                 ON l.partner_id = b.partner_id
         WHERE b.partner_id = ANY(%(p)s) AND b.balance IS DISTINCT FROM COALESCE(l.s, 0)
        """,
        {"p": partners},
    )
    drift = cr.fetchone()[0]
    if drift:
        problems.append(f"{drift} balances differ from their ledger")
    cr.execute(
        "SELECT COUNT(*) FROM credit_balance WHERE partner_id = ANY(%s) AND balance < 0",
        [partners],
    )
    if cr.fetchone()[0]:
        problems.append("a balance went below zero")
    cr.execute(
        "SELECT id FROM credit_voucher WHERE partner_id = ANY(%s) AND stock_id = %s",
        [partners, data["stock"]],
    )
    vouchers = {row[0] for row in cr.fetchall()}
    acked = set(acknowledged["vouchers"])
    if len(acked) != len(acknowledged["vouchers"]):
        problems.append("the same voucher was acknowledged twice")
    lost = acked - vouchers
    if lost:
        problems.append(f"{len(lost)} acknowledged redemptions have no voucher (lost)")
    unacked = vouchers - acked
    if unacked and not restarted:
        problems.append(f"{len(unacked)} vouchers were never acknowledged (duplicated)")
    cr.execute(
        "SELECT COUNT(*), COALESCE(-SUM(points), 0) FROM credit_ledger_line"
        " WHERE partner_id = ANY(%s) AND origin = 'redemption'",
        [partners],
    )
    lines, points = cr.fetchone()
    if (lines, points) != (len(vouchers), len(vouchers)):
        problems.append(f"{lines} redemption lines ({points} points) for {len(vouchers)} vouchers")
    cr.execute("SELECT quantity FROM credit_reward_stock WHERE id = %s", [data["stock"]])
    left = cr.fetchone()[0]
    if data["quantity"] - left != len(vouchers):
        problems.append(f"stock taken {data['quantity'] - left} != vouchers {len(vouchers)}")
    cr.execute(
        "SELECT COUNT(*) FROM credit_claim c JOIN credit_claim_res_partner_rel r"
        " ON r.claim_id = c.id WHERE r.partner_id = ANY(%s)",
        [partners],
    )
    claims = cr.fetchone()[0]
    if claims < len(acknowledged["claims"]) or (
        claims != len(acknowledged["claims"]) and not restarted
    ):
        problems.append(f"{claims} claims for {len(acknowledged['claims'])} acknowledged")
    return problems, len(vouchers), claims, len(unacked)


def report_server_errors(path):
    """What the server logged as errors during the run, grouped by message."""
    seen = defaultdict(int)
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if " ERROR " in line or " CRITICAL " in line:
                seen[line.split(": ", 1)[-1].strip()[:160]] += 1
    log(f"Odoo's log of the run: {path} ({sum(seen.values())} errors logged)")
    for message, count in sorted(seen.items(), key=lambda kv: -kv[1])[:5]:
        log(f"  {count:>4} x {message}")


def wait_for(url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.5)
    return False


def start_server(odoo_argv, dbname, workers, port, name="load"):
    """Start Odoo with WORKERS worker processes on 127.0.0.1:PORT, serving DBNAME
    only, its log in a temporary file: (process, base URL, log path). The caller
    waits for it (wait_for) and terminates it."""
    odoo_bin = os.path.join(os.environ["ODOO_SRC"], "odoo-bin")
    server_log = tempfile.NamedTemporaryFile(
        prefix=f"community_credit_{name}.", suffix=".log", delete=False
    ).name
    server = subprocess.Popen(
        [
            sys.executable,
            odoo_bin,
            *odoo_argv,
            f"--db-filter=^{dbname}$",
            f"--workers={workers}",
            "--max-cron-threads=0",
            "--http-interface=127.0.0.1",
            f"--http-port={port}",
            "--limit-time-real=120",
            "--log-level=warn",
            f"--logfile={server_log}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, f"http://127.0.0.1:{port}", server_log


def main():
    parser = bench_parser(__doc__, "users and seconds times SCALE")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOAD_PORT", 8269)))
    parser.add_argument("--restart-db-at", type=float, default=None)
    args, registry = open_bench(parser)
    odoo_argv = args.odoo_argv
    dbname = registry.db_name
    users = max(2, round(args.users * min(args.scale, 1)))
    seconds = max(5.0, args.seconds * args.scale)

    import odoo

    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        if env["credit.place"].search_count([("code", "=", f"{PREFIX}-C")]):
            log("This database already holds the load test: run without REUSE=1.")
            return 2
        data = setup(env, users)
        cr.commit()
    log(f"{users} residents with {POINTS_EACH} points each, {data['quantity']} buns in stock")

    server, base, server_log = start_server(odoo_argv, dbname, args.workers, args.port)
    stats = defaultdict(list)
    acknowledged = {"vouchers": [], "claims": []}
    restarted = False
    try:
        if not wait_for(base + "/web/login", 120):
            raise SystemExit("Odoo did not start")
        residents = [Resident(base, login) for login in data["logins"]]
        for resident in residents:
            resident.authenticate(dbname)
        log(f"Odoo with {args.workers} workers; {users} residents for {seconds:.0f} s")
        start = time.monotonic()
        until = start + seconds
        threads = [
            threading.Thread(target=drive, args=(r, data, until, stats, acknowledged))
            for r in residents
        ]
        for thread in threads:
            thread.start()
        if args.restart_db_at is not None:
            time.sleep(args.restart_db_at)
            cluster = subprocess.run(
                ["ls", "/etc/postgresql"], capture_output=True, text=True, check=True
            ).stdout.split()[0]
            log(f"restarting PostgreSQL {cluster} at {args.restart_db_at:.0f} s")
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
                check=True,
            )
            restarted = True
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
    finally:
        server.terminate()
        server.wait(60)

    results = Results(args.scale)
    total = sum(len(v) for v in stats.values())
    results.add("load: requests", total, "requests")
    results.add("load: requests per second", total / elapsed, "req/s")
    for kind, samples in sorted(stats.items()):
        times = [t for t, _status in samples]
        errors = sum(1 for _t, status in samples if status == 0 or status >= 500)
        results.add(f"load: {kind} p50", percentile(times, 50) * 1000, "ms")
        results.add(f"load: {kind} p95", percentile(times, 95) * 1000, "ms")
        results.add(f"load: {kind} server errors", errors, "requests")
    with registry.cursor() as cr:
        problems, vouchers, claims, unacked = reconcile(cr, data, acknowledged, restarted)
    results.add("load: vouchers issued", vouchers, "vouchers")
    results.add("load: claims declared", claims, "claims")
    if restarted:
        results.add("load: committed but unacknowledged (restart)", unacked, "vouchers")
    print()
    print(results.table())
    print()
    report_server_errors(server_log)
    if problems:
        for problem in problems:
            log(f"RECONCILIATION FAILED: {problem}")
        return 1
    log(
        "Reconciled: every balance equals its ledger, none below zero; every acknowledged "
        "redemption has one voucher, one ledger line and one unit of stock; one claim per "
        "acknowledged declaration."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
