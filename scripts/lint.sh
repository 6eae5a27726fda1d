#!/usr/bin/env bash
# ruff and the OCA's mandatory pylint-odoo checks on the addon.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
find_odoo
prepare_venv
if ! "$VENV/bin/python" -m pip show -q ruff pylint-odoo >/dev/null 2>&1; then
    info "Installing lint tools"
    "$VENV/bin/python" -m pip install -q -r "$ADDON_DIR/requirements-dev.txt"
fi
cd "$ADDON_DIR"
info "ruff"
"$VENV/bin/ruff" check .
info "pylint-odoo (mandatory checks)"
PYTHONPATH="$ODOO_SRC" "$VENV/bin/pylint" --rcfile=.pylintrc --recursive=y \
    --ignore=benchmarks,scripts . 
info "lint passed"
