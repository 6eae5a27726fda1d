"""Scale-out benchmark: one Odoo node on the primary, then two nodes, a streaming
replica and a load balancer, all on this machine (loopback).

    python bench_cluster.py [--scale 1.0] [--users 40] [--seconds 60] [--workers 2]
                            [--phases a,b,c] -- -d DB --addons-path=... --db_host=...

Run it through ``BENCH=cluster bash benchmarks/run.sh`` (root on Debian: the
replica is a second PostgreSQL cluster that scripts/cluster.sh makes and removes).
Each phase starts its topology with scripts/cluster.sh, prepares a community of
its own (USERS residents with 30 points each, ten good deeds, a reward with a
limited stock, as bench_load.py does), and for SECONDS lets every resident, in
their own thread, loop over the portal: their credit page, the declare page,
declare a good deed, the rewards, redeem one; and right after each redemption,
look the new voucher up with a read-only request (``search_count`` through
/web/dataset/call_kw, which Odoo 18 serves from the replica when there is one):
not finding it is a stale read.

    a   one node, WORKERS workers, on the primary only; requests straight to the node
    b   two nodes of WORKERS workers, the replica, haproxy; requests through haproxy
    c   one node with 2 x WORKERS workers on the primary only (as many workers as b)

Per phase it prints requests per second, p50/p95 per kind of request, server
errors, stale reads, the replica's lag (pg_stat_replication, every second), the
transactions each PostgreSQL cluster ran for the database (pg_stat_database) and
where the nodes' queries ran (pg_stat_activity sampled), the CPU seconds of each
process (Odoo masters, workers, gevent; haproxy; the PostgreSQL backends serving
the nodes, replication, and the rest; this client) and the machine's. Afterwards
it reconciles in SQL exactly as bench_load.py does: every balance equals its
ledger, every acknowledged redemption has one voucher, one ledger line and one
unit of stock, one claim per acknowledged declaration. REPLICA_DELAY=2s in the
environment makes the replica apply WAL that late (recovery_min_apply_delay).
"""

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict

import bench_load
import psutil
import psycopg2
from bench_ledger import Results, bench_parser, log, open_bench, percentile
from bench_load import CSRF, DEEDS, Resident, reconcile, report_server_errors, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER_SH = os.path.join(HERE, "..", "scripts", "cluster.sh")
CACHE = os.environ.get("COMMUNITY_CREDIT_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "community_credit"
)
STATE = os.environ.get("CLUSTER_STATE") or os.path.join(CACHE, "cluster")
SLOT = "cc_cluster_replica"

PHASES = {
    "a": {"nodes": 1, "workers": 1, "replica": False, "label": "1 node, primary only"},
    "b": {"nodes": 2, "workers": 1, "replica": True, "label": "2 nodes + replica + haproxy"},
    "c": {"nodes": 1, "workers": 2, "replica": False, "label": "1 node, twice the workers"},
}


# ------------------------------------------------------------------ residents
def drive(resident, data, until, stats, acknowledged, reads, failures):
    """One resident's loop until the deadline; every request timed."""

    def timed(kind, path, form=None, json_body=None):
        start = time.perf_counter()
        try:
            status, body, headers = resident.request(path, form, json_body)
        except OSError as exc:  # no answer: refused, reset, closed, timed out
            status, body, headers = 0, "", {}
            failures[kind, type(exc).__name__] += 1
        if status >= 500:
            failures[kind, f"HTTP {status}"] += 1
        stats[kind].append((time.perf_counter() - start, status))
        return status, body, headers or {}

    declared = 0
    while time.monotonic() < until:
        timed("GET /my/credit", "/my/credit")
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
        timed("GET /my/credit/rewards", "/my/credit/rewards")
        status, _b, headers = timed(
            "POST redeem",
            "/my/credit/rewards/redeem",
            {"csrf_token": token.group(1), "stock_id": data["stock"]},
        )
        voucher = re.search(r"/my/credit/rewards/vouchers/(\d+)", headers.get("Location", ""))
        if status not in (302, 303) or not voucher:
            continue
        voucher_id = int(voucher.group(1))
        acknowledged["vouchers"].append(voucher_id)
        # read your own write at once, through a read-only route
        status, body, _h = timed(
            "POST search_count (read-only)",
            "/web/dataset/call_kw/credit.voucher/search_count",
            json_body={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {
                    "model": "credit.voucher",
                    "method": "search_count",
                    "args": [[["id", "=", voucher_id]]],
                    "kwargs": {},
                },
            },
        )
        try:
            found = json.loads(body).get("result") if status == 200 else None
        except ValueError:
            found = None
        reads["checked"] += 1
        if found is None:
            reads["failed"] += 1
        elif found == 0:
            reads["stale"] += 1


# ------------------------------------------------------------------ PostgreSQL
def connect(host, port, user, password):
    conn = psycopg2.connect(
        dbname="postgres",
        host=host,
        port=port,
        user=user,
        password=password or None,
        application_name="bench_cluster",
    )
    conn.autocommit = True
    return conn


def query(conn, sql, params=None):
    with conn.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall()


def xacts(conn, dbname):
    rows = query(
        conn,
        "SELECT xact_commit + xact_rollback, tup_returned + tup_fetched"
        " FROM pg_stat_database WHERE datname = %s",
        [dbname],
    )
    return rows[0] if rows else (0, 0)


class Sampler(threading.Thread):
    """Every 0.25 s: what the nodes' connections run on each cluster; every
    second: the replica's lag as the primary sees it."""

    def __init__(self, clusters):
        super().__init__(daemon=True)
        self.clusters = clusters  # {name: (conn, datadir)}
        self.stop = threading.Event()
        self.active = {name: Counter() for name in clusters}
        self.samples = 0
        self.lag = []  # (bytes, replay seconds)

    def run(self):
        tick = 0
        while not self.stop.wait(0.25):
            self.samples += 1
            for name, (conn, _datadir) in self.clusters.items():
                try:
                    rows = query(
                        conn,
                        "SELECT query FROM pg_stat_activity"
                        " WHERE application_name LIKE 'cc-node%%' AND state = 'active'",
                    )
                except psycopg2.Error:
                    continue
                for (sql,) in rows:
                    self.active[name][(sql.split() or ["?"])[0].upper()[:12]] += 1
            tick += 1
            if "replica" in self.clusters and tick % 4 == 0:
                rows = query(
                    self.clusters["primary"][0],
                    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn),"
                    "       EXTRACT(epoch FROM r.replay_lag)"
                    "  FROM pg_stat_replication r"
                    "  JOIN pg_replication_slots s ON s.active_pid = r.pid"
                    " WHERE s.slot_name = %s",
                    [SLOT],
                )
                if rows:
                    self.lag.append((float(rows[0][0] or 0), float(rows[0][1] or 0)))


# ------------------------------------------------------------------ CPU
def processes(nodes, clusters):
    """{pid: label} of the processes of this topology."""
    found = {}
    for n in range(1, nodes + 1):
        try:
            with open(os.path.join(STATE, f"node{n}.pid")) as fh:
                master = psutil.Process(int(fh.read().strip()))
        except (OSError, ValueError, psutil.Error):
            continue
        found[master.pid] = f"odoo node{n} master"
        for child in master.children(recursive=True):
            try:
                gevent = "gevent" in child.cmdline()
            except psutil.Error:
                continue
            found[child.pid] = f"odoo node{n} {'gevent' if gevent else 'workers (http, cron)'}"
    try:
        with open(os.path.join(STATE, "haproxy.pid")) as fh:
            for pid in fh.read().split():
                found[int(pid)] = "haproxy"
    except OSError:
        pass
    for name, (conn, datadir) in clusters.items():
        try:
            with open(os.path.join(datadir, "postmaster.pid")) as fh:
                postmaster = psutil.Process(int(fh.readline()))
        except (OSError, ValueError, psutil.Error):
            continue
        kinds = {
            pid: (backend_type or "", app or "")
            for pid, backend_type, app in query(
                conn, "SELECT pid, backend_type, application_name FROM pg_stat_activity"
            )
        }
        found[postmaster.pid] = f"pg {name}: other (other clients, background)"
        for child in postmaster.children():
            backend_type, app = kinds.get(child.pid, ("", ""))
            if app.startswith("cc-node"):
                label = f"pg {name}: backends of the Odoo nodes"
            elif backend_type in ("walsender", "walreceiver", "startup"):
                label = f"pg {name}: replication ({backend_type})"
            else:
                label = f"pg {name}: other (other clients, background)"
            found[child.pid] = label
    found[os.getpid()] = "bench client (this process)"
    return found


def cpu_seconds(pids):
    seconds = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        seconds[pid] = times.user + times.system
    return seconds


def machine_busy():
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0), sum(times)


# ------------------------------------------------------------------ phases
def cluster(command, env):
    log(f"$ scripts/cluster.sh {command}")
    subprocess.run(["bash", CLUSTER_SH, command], env=env, check=True)


def balancer_counts():
    """Requests each node's HTTP port got from haproxy (its statistics socket)."""
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(os.path.join(STATE, "haproxy.sock"))
            sock.sendall(b"show stat\n")
            lines = b"".join(iter(lambda: sock.recv(65536), b"")).decode().splitlines()
    except OSError:
        return {}
    counts = {}
    for line in lines:
        fields = line.split(",")
        if len(fields) > 8 and fields[0] == "odoo_http" and fields[1].startswith("node"):
            counts[fields[1]] = int(fields[7] or 0)
    return counts


def run_phase(key, rnd, args, registry, odoo_conf, results):
    import odoo

    spec = PHASES[key]
    nodes, workers = spec["nodes"], spec["workers"] * args.workers
    dbname = registry.db_name
    users = max(2, round(args.users * min(args.scale, 1)))
    seconds = max(10.0, args.seconds * args.scale)
    log(f"\n=== phase {key}: {spec['label']} ({nodes} x {workers} workers), {users} residents")

    bench_load.PREFIX = f"BCL{key.upper()}{rnd}"
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {"tracking_disable": True})
        if env["credit.place"].search_count([("code", "=", f"{bench_load.PREFIX}-C")]):
            raise SystemExit("This database already holds this benchmark: run without REUSE=1.")
        data = bench_load.setup(env, users)
        cr.commit()

    env = dict(
        os.environ,
        CLUSTER_DB=dbname,
        NODES=str(nodes),
        WORKERS=str(workers),
        REPLICA="1" if spec["replica"] else "0",
        REPLICA_PORT=str(args.replica_port),
        NODE_PORT=str(args.node_port),
        BALANCER_PORT=str(args.balancer_port),
        CLUSTER_DATA_DIR=odoo_conf["data_dir"],
    )
    stats = defaultdict(list)
    acknowledged = {"vouchers": [], "claims": []}
    reads = Counter()
    failures = Counter()
    primary = connect(
        odoo_conf["db_host"] or None,
        odoo_conf["db_port"] or 5432,
        odoo_conf["db_user"],
        odoo_conf["db_password"],
    )
    clusters = {"primary": (primary, query(primary, "SHOW data_directory")[0][0])}
    try:
        cluster("start", env)
        if spec["replica"]:
            replica = connect("127.0.0.1", args.replica_port, odoo_conf["db_user"], None)
            clusters["replica"] = (replica, query(replica, "SHOW data_directory")[0][0])
        base = f"http://127.0.0.1:{args.balancer_port if nodes > 1 else args.node_port}"
        if not wait_for(base + "/web/health", 60):
            raise SystemExit(f"Nothing answers on {base}")
        residents = [Resident(base, login) for login in data["logins"]]
        for resident in residents:
            resident.authenticate(dbname)
        log(f"{users} residents logged in through {base}; running for {seconds:.0f} s")

        before = {name: xacts(conn, dbname) for name, (conn, _d) in clusters.items()}
        labels = processes(nodes, clusters)
        cpu_before = cpu_seconds(labels)
        busy_before, total_before = machine_busy()
        sampler = Sampler(clusters)
        sampler.start()
        start = time.monotonic()
        until = start + seconds
        threads = [
            threading.Thread(
                target=drive,
                args=(r, data, until, stats, acknowledged, reads, failures),
            )
            for r in residents
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        served = balancer_counts() if nodes > 1 else {}
        sampler.stop.set()
        sampler.join()
        busy_after, total_after = machine_busy()
        labels.update(processes(nodes, clusters))
        cpu_after = cpu_seconds(labels)
        after = {name: xacts(conn, dbname) for name, (conn, _d) in clusters.items()}
        if spec["replica"]:
            # the replica catches up before the books are checked
            for _i in range(60):
                rows = query(
                    primary,
                    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)"
                    " FROM pg_stat_replication r JOIN pg_replication_slots s"
                    " ON s.active_pid = r.pid WHERE s.slot_name = %s",
                    [SLOT],
                )
                if rows and not rows[0][0]:
                    break
                time.sleep(0.5)
    finally:
        for conn, _d in clusters.values():
            conn.close()
        cluster("stop", env)
        for n in range(1, nodes + 1):
            path = os.path.join(STATE, f"node{n}.log")
            if os.path.exists(path):
                report_server_errors(path)

    # ---- figures
    name = key if args.rounds == 1 else f"{key}#{rnd}"
    total = sum(len(v) for v in stats.values())
    every = [t for samples in stats.values() for t, _status in samples]
    results.add(f"{name}: requests per second", total / elapsed, "req/s")
    results.add(f"{name}: p95, every request", percentile(every, 95) * 1000, "ms")
    for kind, samples in sorted(stats.items()):
        times = [t for t, _status in samples]
        results.add(f"{name}: {kind} p50", percentile(times, 50) * 1000, "ms")
        results.add(f"{name}: {kind} p95", percentile(times, 95) * 1000, "ms")
        failed = {reason: n for (k, reason), n in failures.items() if k == kind}
        if failed:
            results.add(
                f"{name}: {kind} failed",
                sum(failed.values()),
                "requests",
                note=", ".join(f"{reason} {n}" for reason, n in sorted(failed.items())),
            )
    results.add(f"{name}: own voucher looked up at once", reads["checked"], "reads")
    results.add(f"{name}: ... not found yet (stale read)", reads["stale"], "reads")
    if reads["failed"]:
        results.add(f"{name}: ... look-up failed", reads["failed"], "reads")
    if sampler.lag:
        lag_bytes = [b for b, _s in sampler.lag]
        lag_seconds = [s for _b, s in sampler.lag]
        results.add(f"{name}: replica replay lag p95", percentile(lag_seconds, 95) * 1000, "ms")
        results.add(f"{name}: replica replay lag max", max(lag_seconds) * 1000, "ms")
        results.add(f"{name}: replica behind p95", percentile(lag_bytes, 95) / 1024, "KiB")
    for cluster_name in clusters:
        done = after[cluster_name][0] - before[cluster_name][0]
        rows = after[cluster_name][1] - before[cluster_name][1]
        results.add(f"{name}: {cluster_name} transactions in the database", done, "xacts")
        results.add(f"{name}: {cluster_name} rows read in the database", rows, "rows")
        seen = sampler.active[cluster_name]
        results.add(
            f"{name}: {cluster_name} nodes' queries running (mean)",
            sum(seen.values()) / max(1, sampler.samples),
            "queries",
            note=", ".join(f"{verb} {count}" for verb, count in seen.most_common(4)),
        )
    for node, count in sorted(served.items()):
        results.add(f"{name}: requests haproxy sent to {node}", count, "requests")
    per_label = defaultdict(float)
    for pid, label in labels.items():
        if pid in cpu_after:
            per_label[label] += cpu_after[pid] - cpu_before.get(pid, 0.0)
    for label, used in sorted(per_label.items()):
        results.add(f"{name}: cpu {label}", used / elapsed * 100, "% of 1 core")
    cores = psutil.cpu_count()
    busy = (busy_after - busy_before) / max(1e-9, total_after - total_before) * 100
    ours = sum(used for label, used in per_label.items() if "other" not in label)
    results.add(
        f"{name}: cpu everything else on the machine",
        busy * cores - ours / elapsed * 100,
        "% of 1 core",
        note="other users of the machine and of the primary",
    )
    results.add(f"{name}: cpu machine busy ({cores} cores)", busy, "%")

    with registry.cursor() as cr:
        problems, vouchers, claims, _unacked = reconcile(cr, data, acknowledged, False)
    results.add(f"{name}: vouchers issued", vouchers, "vouchers")
    results.add(f"{name}: claims declared", claims, "claims")
    for problem in problems:
        log(f"RECONCILIATION FAILED ({key}): {problem}")
    if not problems:
        log(
            f"Reconciled ({key}): every balance equals its ledger, none below zero; every "
            "acknowledged redemption has one voucher, one ledger line and one unit of stock; "
            "one claim per acknowledged declaration."
        )
    return {"rps": total / elapsed, "p95": percentile(every, 95), "problems": problems}


def main():
    parser = bench_parser(__doc__, "users and seconds times SCALE")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2, help="workers per node")
    parser.add_argument("--phases", default="a,b,c")
    parser.add_argument("--rounds", type=int, default=1, help="run the phases this many times")
    parser.add_argument("--node-port", type=int, default=8271)
    parser.add_argument("--balancer-port", type=int, default=8270)
    parser.add_argument("--replica-port", type=int, default=5433)
    args, registry = open_bench(parser)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phases {unknown}: choose among {sorted(PHASES)}")

    import odoo

    odoo_conf = odoo.tools.config
    load = os.getloadavg()
    log(f"{psutil.cpu_count()} cores; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if os.environ.get("REPLICA_DELAY"):
        log(f"The replica applies WAL {os.environ['REPLICA_DELAY']} late (REPLICA_DELAY)")
    results = Results(args.scale)
    outcome = defaultdict(list)
    for rnd in range(1, args.rounds + 1):
        for key in phases:
            outcome[key].append(run_phase(key, rnd, args, registry, odoo_conf, results))
    rps = {key: statistics.median(o["rps"] for o in runs) for key, runs in outcome.items()}
    p95 = {key: statistics.median(o["p95"] for o in runs) for key, runs in outcome.items()}
    for key in phases:
        if args.rounds > 1:
            results.add(f"{key}: requests per second, median of rounds", rps[key], "req/s")
            results.add(f"{key}: p95, median of rounds", p95[key] * 1000, "ms")
        if key != "a" and "a" in rps:
            results.add(f"{key}/a: requests per second", rps[key] / rps["a"], "x")
            results.add(f"{key}/a: p95", p95[key] / p95["a"], "x")
    print()
    print(results.table())
    print()
    return 1 if any(o["problems"] for runs in outcome.values() for o in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
