#!/usr/bin/env bash
# Community Credit scaled out on one machine, loopback addresses only: what a
# city runs on several machines, here on 127.0.0.1 to try it and measure it.
#
#   bash scripts/cluster.sh start     # replica, Odoo nodes, load balancer
#   bash scripts/cluster.sh status    # what runs where: pids, ports, replica lag
#   bash scripts/cluster.sh stop      # stop everything, leave the primary as it was
#
#   PostgreSQL primary   the existing cluster on PGHOST:PGPORT (127.0.0.1:5432)
#   PostgreSQL replica   a second cluster of the same version, "replica" on
#                        127.0.0.1:5433, a streaming hot standby made with
#                        pg_createcluster and pg_basebackup -R, fed through the
#                        replication slot cc_cluster_replica
#   Odoo node 1..NODES   odoo-bin with WORKERS workers and one cron thread each,
#                        HTTP on 8271, 8272, ... and websockets (gevent) on 8281,
#                        8282, ...; writes go to the primary, read-only routes
#                        (Odoo 18's readonly=True) to the replica
#                        (--db_replica_host/--db_replica_port); one shared
#                        data_dir (filestore and sessions), so no sticky sessions
#   Load balancer        Debian's haproxy on 127.0.0.1:8270: /websocket to the
#                        nodes' gevent ports, everything else to their HTTP ports
#                        (round robin, health-checked on /web/health); its
#                        statistics on a socket in the state directory
#
# Settings (environment):
#   CLUSTER_DB        database (default community_credit_cluster), created with
#                     demo data and community_credit installed when missing
#   NODES=2           Odoo nodes          WORKERS=2   workers per node
#   REPLICA=1         0: no replica, the nodes read and write on the primary
#   REPLICA_DELAY     e.g. 2s: recovery_min_apply_delay on the replica, to see
#                     what a lagging replica does to reads after writes
#   REPLICA_PORT=5433 BALANCER_PORT=8270 NODE_PORT=8271 GEVENT_PORT=8281
#   CLUSTER_DATA_DIR  the nodes' shared data_dir (default ~/.cache/community_credit/cluster/data);
#                     give the one holding CLUSTER_DB's filestore when the
#                     database was made elsewhere
#
# What start changes on the primary, only when it is missing and idempotently:
# a line "host replication postgres 127.0.0.1/32 trust" in its pg_hba.conf
# (marked "# community_credit cluster.sh", applied with pg_reload_conf(), no
# restart) and the replication slot cc_cluster_replica. stop removes both again.
# The primary must already have wal_level = replica (or logical) and
# max_wal_senders > 0: both need a restart, which this script never does; it
# prints the command instead. start needs root (pg_createcluster, and
# pg_basebackup run as the postgres user) unless REPLICA=0; it installs haproxy
# from Debian when missing. stop drops the replica cluster: every start makes
# a fresh copy of the primary (pg_basebackup copies the whole cluster, all of
# its databases).
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

STATE="${CLUSTER_STATE:-$CACHE_DIR/cluster}"
SETTINGS="$STATE/settings"
HBA_MARK="# community_credit cluster.sh"
SLOT=cc_cluster_replica

usage() {
    sed -n '2,/^source /p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 2
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

primary_sql() { psql -h "$PGHOST" -p "$PGPORT" -d postgres -XAtqc "$1"; }

replica_sql() { psql -h 127.0.0.1 -p "$REPLICA_PORT" -d "${2:-postgres}" -XAtqc "$1"; }

# The Debian cluster (version and name) serving PGPORT.
primary_cluster() {
    pg_lsclusters --no-header 2>/dev/null | awk -v p="$PGPORT" '$3 == p {print $1, $2; exit}'
}

replication_ok() {
    psql "host=$PGHOST port=$PGPORT user=postgres dbname=postgres replication=true" \
        -XAtqc "IDENTIFY_SYSTEM" >/dev/null 2>&1
}

# ------------------------------------------------------------------ primary
check_primary() {
    local wal_level senders
    wal_level="$(primary_sql 'SHOW wal_level')"
    senders="$(primary_sql 'SHOW max_wal_senders')"
    if [ "$wal_level" = minimal ] || [ "$senders" = 0 ]; then
        local conf="/etc/postgresql/$PG_VERSION/$PG_NAME/conf.d/50-community-credit-replication.conf"
        die "The primary cannot feed a replica: wal_level = $wal_level, max_wal_senders = $senders.
Both need a restart of the primary, which this script does not do. As root:

    printf 'wal_level = replica\\\\nmax_wal_senders = 10\\\\n' > $conf
    pg_ctlcluster --skip-systemctl-redirect $PG_VERSION $PG_NAME restart

then run this again (or REPLICA=0 to start the nodes without a replica)."
    fi
    if ! replication_ok; then
        HBA_FILE="$(primary_sql 'SHOW hba_file')"
        info "Allowing replication connections from 127.0.0.1 in $HBA_FILE (reload, no restart)"
        grep -qF "$HBA_MARK" "$HBA_FILE" \
            || printf 'host replication postgres 127.0.0.1/32 trust %s\n' "$HBA_MARK" >> "$HBA_FILE"
        primary_sql 'SELECT pg_reload_conf()' >/dev/null
        sleep 1
        replication_ok || die "Replication connections to $PGHOST:$PGPORT are still refused: see $HBA_FILE."
    fi
}

# ------------------------------------------------------------------ replica
replica_exists() {
    pg_lsclusters --no-header 2>/dev/null | awk -v v="$PG_VERSION" '$1 == v && $2 == "replica"' | grep -q .
}

drop_replica() {
    local conf="/etc/postgresql/$PG_VERSION/replica"
    replica_exists || return 0
    [ -f "$conf/community_credit_cluster" ] \
        || die "A cluster $PG_VERSION/replica exists that this script did not make: remove it yourself."
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" replica stop -m fast 2>/dev/null || true
    pg_dropcluster "$PG_VERSION" replica
}

drop_slot() {
    local i
    # the primary's walsender lets go of the slot once the replica has stopped
    for i in $(seq 20); do
        [ "$(primary_sql "SELECT active FROM pg_replication_slots WHERE slot_name = '$SLOT'")" != t ] && break
        sleep 0.5
    done
    primary_sql "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots
                  WHERE slot_name = '$SLOT' AND NOT active" >/dev/null
}

start_replica() {
    [ "$(id -u)" = 0 ] || die "Making the replica needs root (pg_createcluster); or REPLICA=0."
    port_busy "$REPLICA_PORT" && ! replica_exists \
        && die "Port $REPLICA_PORT is in use: choose another with REPLICA_PORT=..."
    check_primary
    drop_replica
    drop_slot
    local conf="/etc/postgresql/$PG_VERSION/replica" data="/var/lib/postgresql/$PG_VERSION/replica"
    info "Creating the cluster $PG_VERSION/replica on 127.0.0.1:$REPLICA_PORT"
    pg_createcluster "$PG_VERSION" replica --port="$REPLICA_PORT" --start-conf=manual >/dev/null
    touch "$conf/community_credit_cluster"
    # a hot standby needs at least the primary's limits
    {
        echo "# written by community_credit scripts/cluster.sh"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $REPLICA_PORT"
        echo "ssl = off"
        echo "hot_standby = on"
        # the primary keeps the rows a query on the replica still reads, instead
        # of the replica cancelling that query ("conflict with recovery")
        echo "hot_standby_feedback = on"
        # a fresh copy is fsynced file by file at first start, longer than pg_ctl
        # waits on a busy disk; one syncfs per file system is enough
        echo "recovery_init_sync_method = syncfs"
        for setting in max_connections max_worker_processes max_wal_senders \
            max_prepared_transactions max_locks_per_transaction; do
            echo "$setting = $(primary_sql "SHOW $setting")"
        done
        [ -z "${REPLICA_DELAY:-}" ] || echo "recovery_min_apply_delay = '$REPLICA_DELAY'"
    } > "$conf/conf.d/90-community-credit-replica.conf"
    # the same client authentication as the primary (its roles are replicated)
    cp "$(primary_sql 'SHOW hba_file')" "$conf/pg_hba.conf"
    sed -i "/$HBA_MARK/d" "$conf/pg_hba.conf"
    chown postgres:postgres "$conf/pg_hba.conf"
    info "Copying the primary with pg_basebackup (all of its databases: $(primary_sql \
        "SELECT pg_size_pretty(SUM(pg_database_size(datname))) FROM pg_database"))"
    find "$data" -mindepth 1 -delete
    runuser -u postgres -- pg_basebackup -h "$PGHOST" -p "$PGPORT" -U postgres -D "$data" \
        -R -X stream -C -S "$SLOT" -c fast
    pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" replica start -- -t 300
    local i
    for i in $(seq 60); do
        [ "$(replica_sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ] \
            && [ "$(primary_sql "SELECT active FROM pg_replication_slots WHERE slot_name = '$SLOT'")" = t ] \
            && return 0
        sleep 1
    done
    die "The replica did not start streaming: see /var/log/postgresql/postgresql-$PG_VERSION-replica.log"
}

# ------------------------------------------------------------------ Odoo
create_db() {
    if primary_sql "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        [ -d "$DATA_DIR/filestore/$DB" ] \
            || info "Note: no filestore for '$DB' in $DATA_DIR (set CLUSTER_DATA_DIR to the data_dir it was made with)"
        return 0
    fi
    info "Creating '$DB' with demo data, $ADDON_NAME installed"
    odoo_bin -d "$DB" "${common[@]}" -i "$ADDON_NAME" --stop-after-init \
        --workers=0 --max-cron-threads=0 --log-level=warn
}

start_node() {
    local n="$1" port="$2" gevent="$3" args=()
    [ "$REPLICA" = 0 ] || args+=(--db_replica_host=127.0.0.1 --db_replica_port="$REPLICA_PORT")
    # setsid: each node is a process group of its own, stopped as one
    ODOO_PGAPPNAME="cc-node$n-{pid}" TZ=UTC PYTHONPATH="$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}" \
        setsid "$VENV/bin/python" "$ODOO_SRC/odoo-bin" -d "$DB" --db-filter="^$DB\$" \
        "${common[@]}" "${args[@]}" \
        --workers="$WORKERS" --max-cron-threads=1 --db_maxconn=16 \
        --http-interface=127.0.0.1 --http-port="$port" --gevent-port="$gevent" --proxy-mode \
        --limit-time-real=120 --log-handler=werkzeug:WARNING --log-handler=longpolling:WARNING \
        --logfile="$STATE/node$n.log" --pidfile="$STATE/node$n.pid" \
        </dev/null >>"$STATE/node$n.out" 2>&1 &
}

# GET a URL and print the body; fails unless the answer is 200
http_get() {
    "$VENV/bin/python" - "$1" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as resp:
    sys.stdout.write(resp.read().decode())
PY
}

wait_http() {
    local url="$1" i
    for i in $(seq 180); do
        http_get "$url" >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}

# ------------------------------------------------------------------ balancer
ensure_haproxy() {
    command -v haproxy >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        info "Installing haproxy (Debian package) for the load balancer"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
    else
        die "The load balancer needs haproxy: install it (Debian: apt-get install haproxy), then run this again."
    fi
}

write_haproxy_cfg() {
    local n
    cat > "$STATE/haproxy.cfg" <<CFG
# written by community_credit scripts/cluster.sh
global
    maxconn 4000
    # statistics: bash scripts/cluster.sh status reads them here
    stats socket $STATE/haproxy.sock mode 600 level user

defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 150s
    timeout server 150s
    # a websocket stays open: the bus pings it every few minutes
    timeout tunnel 1h

frontend community_credit
    bind 127.0.0.1:$BALANCER_PORT
    # Odoo runs with --proxy-mode and trusts these headers
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    use_backend odoo_websocket if { path_beg /websocket }
    default_backend odoo_http

backend odoo_http
    balance roundrobin
    option httpchk
    # Odoo needs a Host header to pick its database (HTTP/1.1)
    http-check send meth GET uri /web/health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
CFG
    for n in $(seq "$NODES"); do
        echo "    server node$n 127.0.0.1:$((NODE_PORT + n - 1)) check inter 3s rise 1" >> "$STATE/haproxy.cfg"
    done
    cat >> "$STATE/haproxy.cfg" <<CFG

backend odoo_websocket
    balance leastconn
    option httpchk
    http-check send meth GET uri /web/health ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
CFG
    for n in $(seq "$NODES"); do
        echo "    server node$n 127.0.0.1:$((GEVENT_PORT + n - 1)) check inter 3s rise 1" >> "$STATE/haproxy.cfg"
    done
}

# haproxy's statistics as CSV, from its socket
haproxy_stat() {
    "$VENV/bin/python" - "$STATE/haproxy.sock" <<'PY' 2>/dev/null || true
import socket, sys
with socket.socket(socket.AF_UNIX) as sock:
    sock.connect(sys.argv[1])
    sock.sendall(b"show stat\n")
    sys.stdout.write(b"".join(iter(lambda: sock.recv(65536), b"")).decode())
PY
}

# ------------------------------------------------------------------ commands
load_settings() {
    [ -f "$SETTINGS" ] || return 1
    # shellcheck disable=SC1090
    source "$SETTINGS"
    export PGHOST PGPORT PGUSER
}

cmd_start() {
    local pidfile
    for pidfile in "$STATE"/*.pid; do
        ! pid_alive "$(cat "$pidfile" 2>/dev/null)" \
            || die "The cluster is already running (bash scripts/cluster.sh status; stop first)."
    done
    DB="${CLUSTER_DB:-community_credit_cluster}"
    NODES="${NODES:-2}" WORKERS="${WORKERS:-2}" REPLICA="${REPLICA:-1}"
    REPLICA_PORT="${REPLICA_PORT:-5433}" BALANCER_PORT="${BALANCER_PORT:-8270}"
    NODE_PORT="${NODE_PORT:-8271}" GEVENT_PORT="${GEVENT_PORT:-8281}"
    DATA_DIR="${CLUSTER_DATA_DIR:-$STATE/data}"
    local n port
    for port in "$BALANCER_PORT" $(seq "$NODE_PORT" $((NODE_PORT + NODES - 1))) \
        $(seq "$GEVENT_PORT" $((GEVENT_PORT + NODES - 1))); do
        port_busy "$port" && die "Port $port is in use: stop what uses it or choose other ports."
    done
    find_odoo
    check_postgres
    prepare_venv
    ensure_haproxy
    read -r PG_VERSION PG_NAME <<<"$(primary_cluster)"
    if [ "$REPLICA" != 0 ] && [ -z "${PG_VERSION:-}" ]; then
        die "No Debian PostgreSQL cluster listens on port $PGPORT here (pg_lsclusters): REPLICA=0 to run without a replica."
    fi
    mkdir -p "$STATE/addons" "$DATA_DIR"
    rm -f "$STATE"/*.log "$STATE"/*.out "$STATE"/*.pid
    ln -sfn "$ADDON_DIR" "$STATE/addons/$ADDON_NAME"
    ADDONS_PATH="$ODOO_ADDONS,$STATE/addons"
    common=(--addons-path="$ADDONS_PATH" --db_host="$PGHOST" --db_port="$PGPORT"
        --db_user="$PGUSER" --data-dir="$DATA_DIR")
    [ -z "${PGPASSWORD:-}" ] || common+=(--db_password="$PGPASSWORD")
    cat > "$SETTINGS" <<SET
DB='$DB' NODES=$NODES WORKERS=$WORKERS REPLICA=$REPLICA REPLICA_DELAY='${REPLICA_DELAY:-}'
REPLICA_PORT=$REPLICA_PORT BALANCER_PORT=$BALANCER_PORT NODE_PORT=$NODE_PORT GEVENT_PORT=$GEVENT_PORT
DATA_DIR='$DATA_DIR' PG_VERSION='${PG_VERSION:-}' PG_NAME='${PG_NAME:-}'
PGHOST='$PGHOST' PGPORT='$PGPORT' PGUSER='$PGUSER' VENV='$VENV'
SET
    create_db
    [ "$REPLICA" = 0 ] || start_replica
    for n in $(seq "$NODES"); do
        info "Starting Odoo node $n: $WORKERS workers on 127.0.0.1:$((NODE_PORT + n - 1)), websockets on $((GEVENT_PORT + n - 1))"
        start_node "$n" $((NODE_PORT + n - 1)) $((GEVENT_PORT + n - 1))
    done
    for n in $(seq "$NODES"); do
        wait_http "http://127.0.0.1:$((NODE_PORT + n - 1))/web/health" \
            || die "Odoo node $n did not answer: see $STATE/node$n.log (bash scripts/cluster.sh stop)"
    done
    write_haproxy_cfg
    haproxy -c -q -f "$STATE/haproxy.cfg" || die "haproxy refuses $STATE/haproxy.cfg"
    haproxy -D -f "$STATE/haproxy.cfg" -p "$STATE/haproxy.pid"
    wait_http "http://127.0.0.1:$BALANCER_PORT/web/health" \
        || die "The balancer does not answer on $BALANCER_PORT (bash scripts/cluster.sh stop)"
    # every node, HTTP and websocket, has passed its health check
    for n in $(seq 30); do
        [ "$(haproxy_stat | awk -F, '$2 ~ /^node/ && $18 != "UP"' | wc -l)" = 0 ] && break
        sleep 1
    done
    info "Community Credit answers on http://127.0.0.1:$BALANCER_PORT (database '$DB')"
    cmd_status
}

show_node() {
    local n="$1" pid
    pid="$(cat "$STATE/node$n.pid" 2>/dev/null || true)"
    if pid_alive "$pid"; then
        local kids
        kids="$(pgrep -g "$pid" | grep -vx "$pid" | tr '\n' ' ')"
        printf '  Odoo node %s    pid %-7s http 127.0.0.1:%s  websocket :%s  processes: %s\n' \
            "$n" "$pid" $((NODE_PORT + n - 1)) $((GEVENT_PORT + n - 1)) "${kids:-none}"
        # Odoo names its workers in their process title (odoo: WorkerHTTP ...)
        ps -o pid=,rss=,pcpu=,args= -g "$pid" 2>/dev/null | awk -v master="$pid" '{
            kind = "?"
            if ($1 == master) kind = "master"
            else if ($0 ~ /WorkerHTTP/) kind = "http"
            else if ($0 ~ /WorkerCron/) kind = "cron"
            else if ($0 ~ / gevent /) kind = "gevent"
            else kind = "worker"
            printf "      pid %-7s %-7s %5.0f MB  %5s%% cpu since start\n", $1, kind, $2 / 1024, $3 }'
    else
        printf '  Odoo node %s    not running (log: %s)\n' "$n" "$STATE/node$n.log"
    fi
}

cmd_status() {
    load_settings || { echo "The cluster was never started here ($STATE)."; return 0; }
    local n pid pidfile running=""
    for pidfile in "$STATE"/*.pid; do
        ! pid_alive "$(cat "$pidfile" 2>/dev/null)" || running=1
    done
    if [ -z "$running" ] && ! replica_sql 'SELECT 1' >/dev/null 2>&1; then
        echo "The cluster is stopped (last started for the database '$DB'; logs in $STATE)."
        return 0
    fi
    echo
    echo "Community Credit cluster, database '$DB' (state: $STATE)"
    printf '  Primary        %s:%s  PostgreSQL %s/%s  wal_level %s\n' "$PGHOST" "$PGPORT" \
        "$PG_VERSION" "$PG_NAME" "$(primary_sql 'SHOW wal_level' 2>/dev/null || echo '?')"
    if [ "$REPLICA" = 0 ]; then
        echo "  Replica        none (REPLICA=0): the nodes read and write on the primary"
    elif [ "$(replica_sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; then
        printf '  Replica        127.0.0.1:%s  PostgreSQL %s/replica, hot standby%s\n' "$REPLICA_PORT" \
            "$PG_VERSION" "${REPLICA_DELAY:+, applies WAL $REPLICA_DELAY late}"
        primary_sql "SELECT format('    streaming: pid %s, state %s, %s bytes behind; lag write %s, flush %s, replay %s',
                       pid, state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn),
                       COALESCE(write_lag::text, '0'), COALESCE(flush_lag::text, '0'),
                       COALESCE(replay_lag::text, '0'))
                       FROM pg_stat_replication WHERE application_name = '$PG_VERSION/replica'
                          OR application_name = 'walreceiver'"
        replica_sql "SELECT format('    on the replica: last replay %s ago; %s connections from Odoo',
                       COALESCE((now() - pg_last_xact_replay_timestamp())::text, '-'),
                       (SELECT COUNT(*) FROM pg_stat_activity WHERE application_name LIKE 'cc-node%'))"
    else
        echo "  Replica        not running on 127.0.0.1:$REPLICA_PORT"
    fi
    for n in $(seq "$NODES"); do show_node "$n"; done
    pid="$(cat "$STATE/haproxy.pid" 2>/dev/null || true)"
    if pid_alive "$pid"; then
        printf '  Balancer       pid %-7s http://127.0.0.1:%s  (statistics: %s)\n' \
            "$pid" "$BALANCER_PORT" "$STATE/haproxy.sock"
        haproxy_stat | awk -F, '$2 ~ /^node/ {printf "      %-15s %-6s %-5s %s requests\n", $1, $2, $18, $8}'
    else
        echo "  Balancer       not running"
    fi
    echo
}

stop_pid_group() {
    local label="$1" pidfile="$2" pid i
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    rm -f "$pidfile"
    pid_alive "$pid" || return 0
    info "Stopping $label (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 60); do
        pid_alive "$pid" || break
        sleep 0.5
    done
    # what remains of the group the node started (its workers)
    if pgrep -g "$pid" >/dev/null; then
        kill -TERM -- "-$pid" 2>/dev/null || true
        sleep 2
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
}

cmd_stop() {
    load_settings || { echo "Nothing to stop ($STATE)."; return 0; }
    local n pidfile
    stop_pid_group "the balancer" "$STATE/haproxy.pid"
    rm -f "$STATE/haproxy.sock"
    for pidfile in "$STATE"/node*.pid; do
        [ -e "$pidfile" ] || continue
        n="$(basename "$pidfile" .pid)"
        stop_pid_group "Odoo ${n/node/node }" "$pidfile"
    done
    if [ "$REPLICA" != 0 ] && [ -n "$PG_VERSION" ]; then
        if replica_exists; then
            info "Stopping and removing the replica $PG_VERSION/replica"
            drop_replica
        fi
        if pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
            drop_slot
            local hba
            hba="$(primary_sql 'SHOW hba_file')"
            if grep -qF "$HBA_MARK" "$hba" 2>/dev/null; then
                info "Removing the replication line from $hba (reload)"
                sed -i "/$HBA_MARK/d" "$hba"
                primary_sql 'SELECT pg_reload_conf()' >/dev/null
            fi
        fi
    fi
    info "Stopped; the primary is as it was"
}

case "${1:-}" in
    start) cmd_start ;;
    status) cmd_status ;;
    stop) cmd_stop ;;
    *) usage ;;
esac
