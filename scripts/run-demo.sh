#!/usr/bin/env bash
# Prepare the Python environment, create a database with realistic demo data
# (Longhai community), install community_credit and start Odoo on
# http://localhost:8069. DEMO_DB names the database (default community_credit_demo),
# HTTP_PORT the port (default 8069); RESET=1 recreates the database.
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

find_odoo
check_postgres
prepare_venv
ensure_wkhtmltopdf
link_addon

DB="${DEMO_DB:-community_credit_demo}"
PORT="${HTTP_PORT:-8069}"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "Port $PORT is already in use (another Odoo?). Stop it or choose another port: HTTP_PORT=8070 make demo"
fi
[ -z "${RESET:-}" ] || drop_db "$DB"
common=(--addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT" --db_user="$PGUSER")

if psql -d postgres -Atc "select 1 from pg_database where datname = '$DB'" | grep -q 1; then
    info "Updating $ADDON_NAME in the existing database '$DB' (RESET=1 to start again)"
    odoo_bin -d "$DB" "${common[@]}" -u "$ADDON_NAME" --stop-after-init --log-level=warn
else
    info "Creating database '$DB' with demo data (Chinese and English)"
    odoo_bin -d "$DB" "${common[@]}" -i "$ADDON_NAME" --load-language=zh_CN \
        --stop-after-init --log-level=warn
fi

cat <<MSG

  Community Credit is starting on  http://localhost:$PORT
  Log in as    admin / admin            (administrator, English)
               council / council        (council: 道德评议会, 中文)
               gridworker / gridworker  (grid worker, 中文)
               reviewer / reviewer      (review group leader, 中文)
               finance / finance        (finance: settlements, 中文)
               resident / resident      (resident on the portal, 中文)
               merchant / merchant      (merchant on the portal, 中文)
  Odoo's own sample users demo / demo and portal / portal (English) are there too.
  Stop with Ctrl+C.

MSG
odoo_bin \
    -d "$DB" "${common[@]}" --http-port="$PORT" --db-filter="^$DB\$" 2>&1
