#!/usr/bin/env bash
# Create a fresh database, install community_credit (with its demo data) and run
# every test of the addon. Prints "N passed, N failed" and exits non-zero on any
# failure. Set KEEP_DB=1 to keep the database, TEST_TAGS to run a subset.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

find_odoo
check_postgres
prepare_venv
ensure_chromium
ensure_wkhtmltopdf
link_addon

DB="${TEST_DB:-community_credit_test_$$}"
LOG="$(mktemp "${TMPDIR:-/tmp}/community_credit_tests.XXXXXX.log")"
TAGS="${TEST_TAGS:-/$ADDON_NAME}"
drop_db "$DB"
[ -n "${KEEP_DB:-}" ] || trap 'drop_db "$DB"; rm -rf "$ADDONS_LINK_DIR"' EXIT

info "Installing $ADDON_NAME in a fresh database '$DB' and running tests ($TAGS)"
info "Odoo: $ODOO_SRC   full log: $LOG"
set +e
odoo_bin -d "$DB" --addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" \
    --db_user="$PGUSER" -i "$ADDON_NAME" --test-enable --test-tags "$TAGS" \
    --stop-after-init --http-port="${TEST_HTTP_PORT:-8169}" --workers=0 \
    --max-cron-threads=0 --log-level=info >"$LOG" 2>&1
rc=$?
set -e

# Odoo's own summary: "odoo.tests.result: F failed, E error(s) of N tests ..."
summary="$(grep -E 'odoo\.tests\.result: [0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests' "$LOG" | tail -n 1 || true)"
total=0 failed=0 errors=0
if [ -n "$summary" ]; then
    read -r failed errors total < <(echo "$summary" | sed -E 's/.*: ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/')
fi
ran="$(grep -cE 'odoo\.addons\.[a-z_]+\.tests\.[a-z_0-9]+: Starting ' "$LOG" || true)"
skipped="$(grep -cE '(: SKIP|skipped|SkipTest|Chrome executable not found|websocket-client)' "$LOG" || true)"
problems="$(grep -E ' (ERROR|CRITICAL) |demo data failed to install|ParseError' "$LOG" | grep -vE 'odoo\.tests\.result' || true)"

if [ -n "$problems" ]; then
    echo "---- errors from the log ----"
    echo "$problems" | cut -c1-400 | head -n 60 || true
    # show the failing tests' tracebacks in full
    grep -nE '^(FAIL|ERROR):|Traceback' "$LOG" | head -n 20 || true
fi
if [ "$skipped" -gt 0 ]; then
    echo "---- skipped tests (a skipped test counts as a failure) ----"
    grep -E '(: SKIP|skipped|SkipTest|Chrome executable not found|websocket-client)' "$LOG" | cut -c1-300 | head -n 20 || true
fi

[ "$total" -gt 0 ] || total="$ran"
bad=$((failed + errors))
passed=$((total - bad))
if [ "$rc" -ne 0 ] || [ -n "$problems" ] || [ "$skipped" -gt 0 ]; then
    [ "$bad" -gt 0 ] || bad=1
fi
if [ "$total" -eq 0 ]; then
    echo "No test ran: the addon did not install, or its tests were not found. See $LOG"
    bad=1
fi
echo
echo "$passed passed, $bad failed"
[ "$bad" -eq 0 ]
