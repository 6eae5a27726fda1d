#!/usr/bin/env bash
# Build the wheel odoo-addon-community_credit from a clean checkout of HEAD with the
# OCA's whool, install it into a fresh virtualenv beside Odoo, and install the addon
# from it into a new database with no addons-path entry of its own.
# Prints the wheel's name and "wheel install ok", or fails.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

find_odoo
check_postgres
prepare_venv

WORK="$(mktemp -d "${TMPDIR:-/tmp}/community_credit_wheel.XXXXXX")"
DB="community_credit_wheel_$$"
trap 'drop_db "$DB"; rm -rf "$WORK"' EXIT

# whool names the distribution after the addon's directory and packs the files git
# tracks: build from a clone named community_credit (committed work only).
info "Clean checkout of HEAD in $WORK/community_credit"
git clone -q --no-local "$ADDON_DIR" "$WORK/community_credit"
info "Building the wheel with whool"
"$VENV/bin/python" -m pip wheel -q --no-deps -w "$WORK/dist" "$WORK/community_credit"
WHEEL="$(ls "$WORK"/dist/odoo_addon_community_credit-*.whl)"
info "Built $(basename "$WHEEL")"

# A fresh venv "beside Odoo": Odoo and its requirements come from the project's
# venv (a .pth file), the addon only from the wheel.
info "Installing it into a fresh virtualenv"
"$PYTHON" -m venv "$WORK/venv"
site="$("$WORK/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
deps="$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
printf '%s\n%s\n' "$ODOO_SRC" "$deps" > "$site/odoo_beside.pth"
"$WORK/venv/bin/python" -m pip install -q --no-deps "$WHEEL"
where="$("$WORK/venv/bin/python" -c 'import importlib.util as u; print(u.find_spec("odoo.addons.community_credit").submodule_search_locations[0])')"
case "$where" in
    "$site"/*) info "odoo.addons.community_credit is $where" ;;
    *) die "the addon was imported from $where, not from the wheel" ;;
esac

info "Installing community_credit from the wheel into a new database '$DB'"
drop_db "$DB"
set +e
TZ=UTC "$WORK/venv/bin/python" -m odoo -d "$DB" --addons-path="$ODOO_ADDONS" \
    --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" \
    -i community_credit --without-demo=all --stop-after-init --http-port="${WHEEL_HTTP_PORT:-8179}" \
    --workers=0 --max-cron-threads=0 --log-level=warn >"$WORK/install.log" 2>&1
rc=$?
set -e
state="$(psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$DB" -tAc \
    "SELECT state FROM ir_module_module WHERE name = 'community_credit'" 2>/dev/null || true)"
if [ "$rc" -ne 0 ] || [ "$state" != "installed" ] || grep -qE ' (ERROR|CRITICAL) ' "$WORK/install.log"; then
    grep -E ' (ERROR|CRITICAL) |Traceback' -A5 "$WORK/install.log" | head -n 40 || true
    die "installing from the wheel failed (exit $rc, module state '${state:-none}')"
fi
echo "$(basename "$WHEEL"): wheel install ok (module state: $state)"
