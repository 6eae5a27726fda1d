#!/usr/bin/env bash
# Export the addon's translatable terms to i18n/community_credit.pot and merge
# them into i18n/zh_CN.po (new terms arrive untranslated; the test
# tests/test_i18n.py fails until every term has a Chinese translation).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

find_odoo
check_postgres
prepare_venv
link_addon

DB="community_credit_i18n_$$"
trap 'drop_db "$DB"; rm -rf "$ADDONS_LINK_DIR"' EXIT
common=(--addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER")
info "Installing $ADDON_NAME in a scratch database to read its terms"
odoo_bin -d "$DB" "${common[@]}" -i "$ADDON_NAME" --without-demo=all --stop-after-init --log-level=warn
odoo_bin -d "$DB" "${common[@]}" --i18n-export="$ADDON_DIR/i18n/$ADDON_NAME.pot" \
    --modules="$ADDON_NAME" --stop-after-init --log-level=warn
"$VENV/bin/python" - "$ADDON_DIR/i18n" <<'PY'
import os, sys
import polib
folder = sys.argv[1]
pot = polib.pofile(os.path.join(folder, "community_credit.pot"))
path = os.path.join(folder, "zh_CN.po")
po = polib.pofile(path) if os.path.exists(path) else polib.POFile()
po.merge(pot)
po.metadata.update({
    "Project-Id-Version": "Odoo Server 18.0",
    "Language": "zh_CN",
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "",
    "Plural-Forms": "nplurals=1; plural=0;",
})
obsolete = [e for e in po if e.obsolete]
for entry in obsolete:
    po.remove(entry)
po.save(path)
missing = [e.msgid for e in po if not e.msgstr]
print(f"{len(po)} terms, {len(missing)} untranslated")
PY
