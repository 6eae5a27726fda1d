#!/usr/bin/env bash
# Odoo's own tests of the modules this addon extends, with the addon installed:
# they must pass as they do without it. Fresh database; prints Odoo's counts.
# ODOO_TEST_MODULES overrides the list (default: contacts event product portal mail;
# mail alone takes the longest).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

find_odoo
check_postgres
prepare_venv
ensure_chromium
link_addon

MODULES="${ODOO_TEST_MODULES:-contacts event product portal mail}"
DB="community_credit_odoo_tests_$$"
LOG="$(mktemp "${TMPDIR:-/tmp}/community_credit_odoo_tests.XXXXXX.log")"
trap 'drop_db "$DB"; rm -rf "$ADDONS_LINK_DIR"' EXIT
tags="$(for m in $MODULES; do printf '/%s,' "$m"; done)"
tags="${tags%,}"
drop_db "$DB"
info "Installing $ADDON_NAME and running Odoo's own tests of: $MODULES"
info "full log: $LOG"
set +e
odoo_bin -d "$DB" --addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" \
    --db_user="$PGUSER" -i "$ADDON_NAME" --test-enable --test-tags "$tags" \
    --stop-after-init --http-port="${TEST_HTTP_PORT:-8199}" --workers=0 \
    --max-cron-threads=0 --log-level=info >"$LOG" 2>&1
rc=$?
set -e
grep -E 'odoo\.tests\.result: ' "$LOG" | tail -n 1 || true
if grep -qE '^(FAIL|ERROR):' "$LOG" || [ "$rc" -ne 0 ]; then
    grep -E '^(FAIL|ERROR):' "$LOG" | head -n 40 || true
    die "Odoo's own tests failed with $ADDON_NAME installed (exit $rc); see $LOG"
fi
info "Odoo's own tests of $MODULES pass with $ADDON_NAME installed"
