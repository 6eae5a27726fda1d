#!/usr/bin/env bash
# Ledger benchmark at Rongcheng scale (53 communities, 350,000 subjects,
# 5,000,000 ledger lines over 3 years), times SCALE.
#
#   bash benchmarks/run.sh            # full scale (SCALE=1.0)
#   bash benchmarks/run.sh 0.01       # quick run
#   REUSE=1 bash benchmarks/run.sh    # keep the database and its generated data
#
# Without REUSE the database is dropped and created again: Odoo installs
# community_credit without demo data, then benchmarks/bench_ledger.py generates
# the data (skipped when REUSE finds it already there) and measures posting,
# one balance, a community's balances and a community's leaderboard.
# BENCH_DB names the database (default community_credit_bench); with REUSE=1,
# UPDATE=1 also updates the addon in it first (-u) after code changes.
# Everything after SCALE is passed to bench_ledger.py (see --help).
#
#   BENCH=claims bash benchmarks/run.sh      # the claims benchmark (bench_claims.py)
#   BENCH=events bash benchmarks/run.sh      # 1,000 attendees of one event (bench_events.py)
#   BENCH=settlement bash benchmarks/run.sh  # 70 merchants, 30,000 vouchers (bench_settlement.py)
#   BENCH=commitments bash benchmarks/run.sh # year-end evaluation of 350,000 commitments (bench_commitments.py)
#   REUSE=1 BENCH=index bash benchmarks/run.sh # index, boards, passbook on the ledger data (bench_index.py)
#   BENCH=load bash benchmarks/run.sh       # 50 residents on a 4-worker Odoo for 2 minutes (bench_load.py)
#   BENCH=city bash benchmarks/run.sh       # the whole city, 10,000,000 lines, next to Odoo's
#                                           # loyalty module (bench_city.py; installs loyalty too)
#   BENCH=cluster bash benchmarks/run.sh    # one Odoo node, then two nodes, a streaming replica and
#                                           # haproxy (scripts/cluster.sh; root; bench_cluster.py)
#
# runs the month of claims of a 35,000-resident community instead, in its own
# database (community_credit_bench_claims).
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_common.sh"

SCALE="${1:-1.0}"
[ $# -eq 0 ] || shift
case "$SCALE" in
    '' | *[!0-9.]* | *.*.* | .) die "SCALE must be a positive number such as 1.0 or 0.01, not '$SCALE'." ;;
esac

find_odoo
check_postgres
prepare_venv
link_addon

BENCH="${BENCH:-ledger}"
case "$BENCH" in
    ledger) DB="${BENCH_DB:-community_credit_bench}" ;;
    claims) DB="${BENCH_DB:-community_credit_bench_claims}" ;;
    events) DB="${BENCH_DB:-community_credit_bench_events}" ;;
    settlement) DB="${BENCH_DB:-community_credit_bench_settlement}" ;;
    commitments) DB="${BENCH_DB:-community_credit_bench_commitments}" ;;
    index) DB="${BENCH_DB:-community_credit_bench}" ;;
    load) DB="${BENCH_DB:-community_credit_bench_load}" ;;
    city) DB="${BENCH_DB:-community_credit_bench_city}" ;;
    cluster) DB="${BENCH_DB:-community_credit_bench_cluster}" ;;
    *) die "BENCH must be 'ledger', 'claims', 'events', 'settlement', 'commitments', 'index', 'load', 'city' or 'cluster', not '$BENCH'." ;;
esac
# the city compares with Odoo's loyalty module: install it too
INSTALL="$ADDON_NAME"
[ "$BENCH" != city ] || INSTALL="$ADDON_NAME,loyalty"
common=(--addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER")
[ -z "${PGPASSWORD:-}" ] || common+=(--db_password="$PGPASSWORD")

db_exists() {
    psql -d postgres -Atc "select 1 from pg_database where datname = '$DB'" | grep -q 1
}

if [ -z "${REUSE:-}" ]; then
    drop_db "$DB"
    db_exists && die "Could not drop the database '$DB' (is an Odoo still connected to it?)."
fi
if db_exists; then
    info "Reusing the database '$DB' (drop REUSE=1 to start from scratch)"
    if [ -n "${UPDATE:-}" ]; then
        info "Updating $ADDON_NAME in '$DB'"
        odoo_bin -d "$DB" "${common[@]}" -u "$ADDON_NAME" --stop-after-init \
            --workers=0 --max-cron-threads=0 --log-level=warn
    fi
else
    info "Creating '$DB' with $INSTALL installed, without demo data"
    t0=$SECONDS
    odoo_bin -d "$DB" "${common[@]}" -i "$INSTALL" --without-demo=all --stop-after-init \
        --workers=0 --max-cron-threads=0 --log-level=warn
    info "Installed in $((SECONDS - t0)) s"
fi

info "Running benchmarks/bench_$BENCH.py at SCALE=$SCALE (Odoo: $ODOO_SRC)"
TZ=UTC PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" \
    "$ADDON_DIR/benchmarks/bench_$BENCH.py" --scale "$SCALE" "$@" -- \
    -d "$DB" "${common[@]}"
