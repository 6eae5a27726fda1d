# shellcheck shell=bash
# Shared set-up for scripts/run-demo.sh and scripts/run-tests.sh.
# Finds Odoo 18 the way users have it, checks PostgreSQL, prepares a virtualenv
# with Odoo's requirements and links this addon into an addons path.
set -euo pipefail

ADDON_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ADDON_NAME="community_credit"
CACHE_DIR="${COMMUNITY_CREDIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/community_credit}"
PYTHON="${PYTHON:-python3}"

die() {
    printf '\n\033[1;31mERROR:\033[0m %b\n\n' "$1" >&2
    exit 2
}

info() { printf '\033[1;34m==>\033[0m %s\n' "$1"; }

odoo_help() {
    cat <<'MSG'
Odoo 18.0 was not found. This addon runs inside Odoo; get Odoo 18 from upstream git and
point ODOO_SRC at it (or pip-install that source so that `import odoo` works):

    git clone --depth 1 --branch 18.0 https://github.com/odoo/odoo.git ~/odoo18
    export ODOO_SRC=~/odoo18

then run this command again.
MSG
}

find_odoo() {
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found: install Python 3.10-3.12."
    if [ -z "${ODOO_SRC:-}" ]; then
        # An importable odoo (pip-installed source): locate it without importing it.
        ODOO_SRC="$("$PYTHON" - <<'PY' 2>/dev/null || true
import importlib.util, os
spec = importlib.util.find_spec("odoo")
if spec and spec.submodule_search_locations:
    pkg = os.path.realpath(list(spec.submodule_search_locations)[0])
    print(os.path.dirname(pkg))
PY
)"
    fi
    if [ -z "${ODOO_SRC:-}" ] || [ ! -f "$ODOO_SRC/odoo/release.py" ]; then
        odoo_help >&2
        exit 2
    fi
    ODOO_SRC="$(cd "$ODOO_SRC" && pwd)"
    local version
    version="$(sed -n "s/^version_info = (\([0-9]*\), .*/\1/p" "$ODOO_SRC/odoo/release.py")"
    if [ "$version" != "18" ]; then
        odoo_help >&2
        die "Odoo found at $ODOO_SRC is version ${version:-unknown}, not 18."
    fi
    ODOO_ADDONS="$ODOO_SRC/odoo/addons"
    if [ -d "$ODOO_SRC/addons/event" ]; then
        ODOO_ADDONS="$ODOO_SRC/addons,$ODOO_ADDONS"
    elif [ ! -d "$ODOO_SRC/odoo/addons/event" ]; then
        die "Odoo at $ODOO_SRC has no 'event' addon: use a full Odoo 18 community source tree."
    fi
    export ODOO_SRC ODOO_ADDONS
}

# PostgreSQL connection, as libpq understands it (PGHOST/PGPORT/PGUSER are honoured).
check_postgres() {
    export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-$(id -un)}"
    if command -v pg_isready >/dev/null && ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
        die "PostgreSQL is not running on $PGHOST:$PGPORT.\nStart it (Debian: pg_ctlcluster 15 main start) or set PGHOST/PGPORT, then run this again."
    fi
    if ! psql -d postgres -Atc 'select 1' >/dev/null 2>&1; then
        # root on Debian: use the postgres superuser role
        if [ "$PGUSER" = root ] && psql -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
            PGUSER=postgres
        else
            die "Cannot connect to PostgreSQL on $PGHOST:$PGPORT as '$PGUSER'.\nCreate that role (createuser -s $PGUSER) or set PGUSER/PGPASSWORD."
        fi
    fi
}

# A virtualenv with Odoo's requirements and ours, rebuilt only when they change.
prepare_venv() {
    VENV="${COMMUNITY_CREDIT_VENV:-$CACHE_DIR/venv}"
    mkdir -p "$CACHE_DIR"
    local reqs="$CACHE_DIR/requirements.txt"
    # python-ldap (auth_ldap only) needs system headers and is not used here;
    # cbor2 5.4.2 does not build on recent toolchains, 5.6.5 is compatible.
    sed -e '/^python-ldap/d' -e 's/^cbor2==5\.4\.2/cbor2==5.6.5/' \
        "$ODOO_SRC/requirements.txt" > "$reqs"
    cat "$ADDON_DIR/requirements.txt" >> "$reqs"
    local stamp
    stamp="$(cat "$reqs" | sha1sum | cut -c1-16)"
    if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.cc-stamp" 2>/dev/null)" != "$stamp" ]; then
        info "Preparing the Python environment in $VENV (first time: a few minutes)"
        "$PYTHON" -m venv "$VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip wheel "setuptools<81"
        "$VENV/bin/python" -m pip install -q -r "$reqs"
        echo "$stamp" > "$VENV/.cc-stamp"
    fi
    export PATH="$VENV/bin:$PATH"
}

# Odoo finds addons by directory name: link this checkout as community_credit.
link_addon() {
    ADDONS_LINK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/community_credit_addons.XXXXXX")"
    ln -s "$ADDON_DIR" "$ADDONS_LINK_DIR/$ADDON_NAME"
    ADDONS_PATH="$ODOO_ADDONS,$ADDONS_LINK_DIR"
    trap 'rm -rf "$ADDONS_LINK_DIR"' EXIT
}

# Odoo restarts itself by re-running its own command line (sys.argv): started as
# `python -m odoo` that line is odoo/__main__.py, which cannot be run as a script,
# and the restart dies with an import error. odoo-bin restarts cleanly; a
# pip-installed odoo without it is started with -m.
odoo_bin() {
    local start=(-m odoo)
    [ ! -f "$ODOO_SRC/odoo-bin" ] || start=("$ODOO_SRC/odoo-bin")
    TZ=UTC PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}" "$VENV/bin/python" "${start[@]}" "$@"
}

drop_db() {
    dropdb --if-exists --force "$1" >/dev/null 2>&1 || true
}

# Odoo's browser tours need Chromium; without it Odoo would skip them (the test
# script counts a skipped test as a failure). Installed from Debian when missing.
ensure_chromium() {
    if command -v chromium >/dev/null || command -v chromium-browser >/dev/null \
        || command -v google-chrome >/dev/null; then
        return
    fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        info "Installing Chromium for the browser tests (Debian's chromium package)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        die "The browser tests need Chromium: install it (Debian: apt-get install chromium), then run this again."
    fi
}

# Odoo prints PDFs (passbook, commitment, certificate, exchange record) with
# Debian's wkhtmltopdf; Chinese text needs a CJK font, or it prints as empty boxes.
# Installed from Debian when missing.
has_cjk_font() {
    if command -v fc-list >/dev/null; then
        [ -n "$(fc-list :lang=zh family 2>/dev/null)" ]
    else
        compgen -G "/usr/share/fonts/*/*/*CJK*" >/dev/null
    fi
}

ensure_wkhtmltopdf() {
    local missing=()
    command -v wkhtmltopdf >/dev/null || missing+=(wkhtmltopdf)
    has_cjk_font || missing+=(fonts-noto-cjk)
    [ "${#missing[@]}" -gt 0 ] || return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        info "Installing ${missing[*]} for PDF reports (Debian packages)"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    elif [ "${missing[0]}" = wkhtmltopdf ]; then
        die "PDF reports need wkhtmltopdf: install it (Debian: apt-get install ${missing[*]}), then run this again."
    else
        info "No Chinese font: PDFs will show empty boxes for Chinese text (Debian: apt-get install fonts-noto-cjk)."
    fi
}
