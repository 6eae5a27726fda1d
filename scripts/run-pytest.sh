#!/usr/bin/env bash
# Run the addon's non-browser tests with pytest-odoo, as integrators do while they
# work: against a database where community_credit is installed. Without PYTEST_DB a
# fresh one is created (with demo data) and dropped afterwards. Browser tours
# (HttpCase) need Odoo's own runner on 18.0 (`make test`) and are deselected here.
# Extra arguments go to pytest (e.g. -k ledger, -x).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

find_odoo
check_postgres
prepare_venv
link_addon

DB="${PYTEST_DB:-}"
if [ -z "$DB" ]; then
    DB="community_credit_pytest_$$"
    trap 'drop_db "$DB"; rm -rf "$ADDONS_LINK_DIR"' EXIT
    info "Installing $ADDON_NAME in a fresh database '$DB'"
    drop_db "$DB"
    odoo_bin -d "$DB" --addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" \
        --db_user="$PGUSER" -i "$ADDON_NAME" --stop-after-init --workers=0 \
        --max-cron-threads=0 --log-level=warn --http-port="${TEST_HTTP_PORT:-8189}" \
        >"$ADDONS_LINK_DIR/install.log" 2>&1 \
        || { tail -n 40 "$ADDONS_LINK_DIR/install.log"; die "installing $ADDON_NAME failed"; }
fi

# Load-style tests (1,000-claim batches, 300-subject fault runs, concurrent
# attendance, import fuzzing) are tagged cc_slow: left out of a developer's run
# unless CC_SLOW=1; `make test` (Odoo's runner, what CI runs) always runs them.
select=()
if [ -z "${CC_SLOW:-}" ]; then
    slow="$(grep -h -A1 '"cc_slow"' "$ADDON_DIR"/tests/test_*.py | sed -n 's/^class \([A-Za-z0-9_]*\).*/\1/p' | paste -sd' ' | sed 's/ / or /g')"
    [ -z "$slow" ] || select=(-k "not ($slow)")
    info "Leaving out the slow tests (CC_SLOW=1 runs them): $slow"
fi

info "pytest-odoo on '$DB'"
# pytest-odoo names test modules after the addon's directory: give pytest the
# linked path (community_credit), not the checkout's own directory name.
cd "$ADDONS_LINK_DIR"
TZ=UTC PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" -m pytest \
    -p no:cacheprovider --odoo-database="$DB" --odoo-addons-path="$ADDONS_PATH" \
    --odoo-log-level=critical -q --rootdir="$ADDONS_LINK_DIR/$ADDON_NAME" \
    "$ADDONS_LINK_DIR/$ADDON_NAME/tests" "${select[@]}" "$@"
