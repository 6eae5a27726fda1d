#!/usr/bin/env bash
# Upgrade check: install an earlier version of community_credit (a git ref of
# this repository, by default the previous commit on main) with its demo data
# in a fresh database, upgrade that database to this checkout (-u), and check
# that every ledger line, balance, claim, voucher and commitment is still there,
# unchanged, and that balances still equal the ledger.
#   scripts/upgrade-check.sh [REF]      e.g. scripts/upgrade-check.sh 53d49df
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

find_odoo
check_postgres
prepare_venv

REF="${1:-HEAD~1}"
git -C "$ADDON_DIR" rev-parse --verify -q "$REF^{commit}" >/dev/null \
    || die "$REF is not a commit of this repository."
DB="${UPGRADE_DB:-community_credit_upgrade_$$}"
OLD_DIR="$(mktemp -d "${TMPDIR:-/tmp}/community_credit_old.XXXXXX")"
link_addon
LOG="$(mktemp "${TMPDIR:-/tmp}/community_credit_upgrade.XXXXXX.log")"
INSTALL_LOG="${LOG%.log}.install.log"
trap 'drop_db "$DB"; rm -rf "$OLD_DIR" "$ADDONS_LINK_DIR"' EXIT
mkdir "$OLD_DIR/$ADDON_NAME"
git -C "$ADDON_DIR" archive "$REF" | tar -x -C "$OLD_DIR/$ADDON_NAME"
common=(--db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER" --stop-after-init
    --workers=0 --max-cron-threads=0 --log-level=warn)

drop_db "$DB"
info "Installing $ADDON_NAME at $(git -C "$ADDON_DIR" rev-parse --short "$REF") with demo data in '$DB'"
odoo_bin -d "$DB" --addons-path="$ODOO_ADDONS,$OLD_DIR" -i "$ADDON_NAME" "${common[@]}" \
    >"$INSTALL_LOG" 2>&1 || die "the earlier version did not install; see $INSTALL_LOG"

# What must survive the upgrade, as checksums over the columns both versions have.
snapshot() {
    psql -d "$DB" -XAtq <<'SQL'
SELECT 'ledger lines', COUNT(*), md5(string_agg(concat_ws(':', id, partner_id, rule_id, points,
       date, origin, idempotency_key, state, reversal_of_id), ',' ORDER BY id))
  FROM credit_ledger_line;
SELECT 'balances', COUNT(*), md5(string_agg(concat_ws(':', partner_id, company_id, balance,
       total_earned, total_spent), ',' ORDER BY partner_id, company_id))
  FROM credit_balance;
SELECT 'rules', COUNT(*), md5(string_agg(concat_ws(':', id, code, points, cap_day, cap_week,
       cap_month, cap_year, active), ',' ORDER BY id)) FROM credit_rule;
SELECT 'claims', COUNT(*), md5(string_agg(concat_ws(':', id, state, rule_id, date), ','
       ORDER BY id)) FROM credit_claim;
SELECT 'vouchers', COUNT(*), md5(string_agg(concat_ws(':', id, state, points, code), ','
       ORDER BY id)) FROM credit_voucher;
SELECT 'commitments', COUNT(*), md5(string_agg(concat_ws(':', id, state, partner_id,
       date_from, date_to), ',' ORDER BY id)) FROM credit_commitment;
SELECT 'volunteer services', COUNT(*), md5(string_agg(concat_ws(':', id, state, hours,
       ledger_line_id), ',' ORDER BY id)) FROM credit_volunteer_service;
SELECT 'places', COUNT(*), md5(string_agg(concat_ws(':', id, name::text, parent_id), ','
       ORDER BY id)) FROM credit_place;
SQL
}
drift() {
    psql -d "$DB" -XAtq -c "
        SELECT COUNT(*) FROM credit_balance b
          LEFT JOIN (SELECT partner_id, company_id, SUM(points) AS points
                       FROM credit_ledger_line GROUP BY partner_id, company_id) l
                 ON (l.partner_id, l.company_id) = (b.partner_id, b.company_id)
         WHERE b.balance IS DISTINCT FROM COALESCE(l.points, 0)"
}
before="$(snapshot)"

info "Upgrading '$DB' to this checkout ($(git -C "$ADDON_DIR" rev-parse --short HEAD))"
odoo_bin -d "$DB" --addons-path="$ADDONS_PATH" -u "$ADDON_NAME" "${common[@]}" \
    >"$LOG" 2>&1 || die "the upgrade failed; see $LOG"
if grep -E ' (ERROR|CRITICAL) ' "$LOG" | head -n 20; then
    die "the upgrade logged errors; see $LOG"
fi
after="$(snapshot)"

echo
printf '%-20s %10s  %s\n' "kept" "rows" "unchanged"
status=0
while IFS='|' read -r name count sum; do
    old="$(echo "$before" | grep "^$name|" || true)"
    if [ "$old" = "$name|$count|$sum" ]; then
        printf '%-20s %10s  yes\n' "$name" "$count"
    else
        printf '%-20s %10s  NO (before: %s)\n' "$name" "$count" "${old#"$name|"}"
        status=1
    fi
done <<<"$after"
bad="$(drift)"
echo "balances different from the ledger: $bad"
[ "$bad" = 0 ] || status=1
# 18.0.1.2.0 (rule versions): every rule has a version with its terms, every line of a rule
# is hung on a version of that rule
unversioned="$(psql -d "$DB" -XAtq -c "
    SELECT (SELECT COUNT(*) FROM credit_rule r WHERE NOT EXISTS (
                SELECT 1 FROM credit_rule_version v WHERE v.rule_id = r.id
                   AND v.points = r.points
                   -- no cap is 0 or NULL (a rule created without caps has NULL columns,
                   -- its versions read them through the ORM as 0)
                   AND (COALESCE(v.cap_day, 0), COALESCE(v.cap_week, 0),
                        COALESCE(v.cap_month, 0), COALESCE(v.cap_year, 0))
                     = (COALESCE(r.cap_day, 0), COALESCE(r.cap_week, 0),
                        COALESCE(r.cap_month, 0), COALESCE(r.cap_year, 0))))
         + (SELECT COUNT(*) FROM credit_ledger_line l
             WHERE l.rule_id IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM credit_rule_version v
                    WHERE v.id = l.rule_version_id AND v.rule_id = l.rule_id))")"
echo "rules or rule lines without their version: $unversioned"
[ "$unversioned" = 0 ] || status=1
if [ "$status" -ne 0 ]; then
    die "the upgrade changed or lost data; see $LOG"
fi
info "upgrade kept every row"
