#!/usr/bin/env bash
# make lint: the OCA's checks that fit this addon, through pre-commit
# (.pre-commit-config.yaml): ruff, ruff format, pylint-odoo's mandatory checks,
# oca-checks-odoo-module and oca-checks-po, all with the tools of the project's
# virtualenv (no hook is fetched from the network).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
find_odoo
prepare_venv
if ! "$VENV/bin/python" -m pip show -q pre-commit ruff pylint-odoo oca-odoo-pre-commit-hooks >/dev/null 2>&1; then
    info "Installing lint tools"
    "$VENV/bin/python" -m pip install -q -r "$ADDON_DIR/requirements-dev.txt"
fi
cd "$ADDON_DIR"
export PATH="$VENV/bin:$PATH" PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}"
# pre-commit keeps its cache with the project's virtualenv
export PRE_COMMIT_HOME="${PRE_COMMIT_HOME:-$CACHE_DIR/pre-commit}"
pre-commit run --all-files --show-diff-on-failure
info "lint passed"
