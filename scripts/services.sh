#!/usr/bin/env bash
# scripts/services.sh: make PostgreSQL, Redis and ZooKeeper answer on localhost for couponlock
# and its tests, then make sure the app's role and databases exist. Safe to run any number of times;
# when everything is already up it only checks (well under a second) and prints one line.
#
# Usage: bash scripts/services.sh [--dry-run] [--help]
#
# For each service, in this order:
#   1. it already answers (pg_isready / redis-cli ping, or bash /dev/tcp) -> use it;
#   2. installed but stopped -> start it (pg_ctlcluster, or pg_createcluster when no
#      cluster uses PGPORT; redis-server --daemonize yes, loopback only, no persistence);
#   3. nothing installed locally and a Docker engine answers -> docker compose up postgres redis;
#   4. missing -> as root: apt-get install postgresql redis-server, then start them.
#      Not root -> print what to install and exit 1.
# ZooKeeper (the zookeeper lock backend and its tests), on its own:
#   1. it answers the four-letter word srvr -> use it;
#   2. installed (Debian's zookeeper package) -> start it without systemd: zkServer.sh with a
#      config of our own (loopback only, no AdminServer, data under /var/lib/zookeeper when
#      root, else under $TMPDIR);
#   3. missing -> as root: apt-get install zookeeper (it brings a JRE), then start it;
#      not root but a Docker engine -> docker compose up zookeeper; else say what to install.
# Then it waits (bounded) until both answer and ensures, idempotently, the login role
# APP_DB_USER/APP_DB_PASSWORD (with CREATEDB) and the databases APP_DB_NAME and
# APP_TEST_DB_NAME owned by it, each with its public schema owned by it.
#
# Environment (defaults):
#   PGHOST (127.0.0.1) PGPORT (5432) REDIS_HOST (127.0.0.1) REDIS_PORT (6379)
#   ZK_HOST (127.0.0.1) ZK_PORT (2181)
#   APP_DB_USER (couponlock) APP_DB_PASSWORD (couponlock)
#   APP_DB_NAME (couponlock) APP_TEST_DB_NAME (couponlock_test)
#   SERVICES_TIMEOUT (30, seconds to wait for the services to answer)
#   SERVICES_DRY_RUN=1 (same as --dry-run: check everything, change nothing, print the
#   commands that would run)
# Output: one summary line on stdout; progress and errors on stderr; exit 0 only when all three
# services answer and the databases are ready.

set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}
ZK_HOST=${ZK_HOST:-127.0.0.1}
ZK_PORT=${ZK_PORT:-2181}
APP_DB_USER=${APP_DB_USER:-couponlock}
APP_DB_PASSWORD=${APP_DB_PASSWORD:-couponlock}
APP_DB_NAME=${APP_DB_NAME:-couponlock}
APP_TEST_DB_NAME=${APP_TEST_DB_NAME:-couponlock_test}
SERVICES_TIMEOUT=${SERVICES_TIMEOUT:-30}
DRY_RUN=${SERVICES_DRY_RUN:-0}

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPOSE_FILE=$ROOT_DIR/docker-compose.yml
PG_SOCKET_DIR=/var/run/postgresql
DOCKER_MODE=0
PG_LOG_HINT=/var/log/postgresql/
REDIS_LOG_HINT=/var/log/redis/
ZK_LOG_HINT=/var/log/zookeeper/
# Debian's zookeeper package: its start script finds java and the jars itself.
ZK_SERVER_SH=${ZK_SERVER_SH:-/usr/share/zookeeper/bin/zkServer.sh}

log() { printf 'services: %s\n' "$*" >&2; }
die() {
  printf 'services: error: %s\n' "$*" >&2
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
# Stricter than have: bash's command -v also reports a non-executable file on PATH.
have_exe() {
  local path
  path=$(command -v "$1" 2>/dev/null) && [[ -x $path ]]
}
is_root() { [[ $EUID -eq 0 ]]; }
is_local() {
  case $1 in
    127.* | localhost | ::1 | /*) return 0 ;;
    *) return 1 ;;
  esac
}
under_systemd() { [[ -d /run/systemd/system ]]; }

quote() {
  local q
  q=$(printf '%q ' "$@")
  printf '%s' "${q% }"
}

# Run a state-changing command (its output goes to stderr), or only show it in dry-run mode.
run() {
  if [[ $DRY_RUN == 1 ]]; then
    log "[dry-run] would run: $(quote "$@")"
    return 0
  fi
  log "running: $(quote "$@")"
  "$@" >&2
}

# Like run, but as root: directly, through passwordless sudo, or not at all (returns 1).
run_as_root() {
  if is_root; then
    run "$@"
  elif have sudo && sudo -n true 2>/dev/null; then
    run sudo -n "$@"
  else
    log "needs root: $*"
    return 1
  fi
}

# ---------------------------------------------------------------------------- probes

# shellcheck disable=SC2016 # $1/$2 are expanded by the inner bash
tcp_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

pg_up() {
  if have pg_isready; then
    pg_isready -q -h "$PGHOST" -p "$PGPORT" -t 2 2>/dev/null
  else
    tcp_open "$PGHOST" "$PGPORT"
  fi
}

redis_up() {
  local reply
  if have redis-cli; then
    reply=$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) || return 1
  else
    # shellcheck disable=SC2016 # expanded by the inner bash
    reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "PING\r\n" >&3 &&
      IFS= read -r line <&3 && printf %s "$line"' _ "$REDIS_HOST" "$REDIS_PORT" 2>/dev/null) ||
      return 1
  fi
  # NOAUTH still means a Redis answers (the password then belongs in REDIS_URL).
  [[ $reply == *PONG* || $reply == *NOAUTH* ]]
}

# ZooKeeper answers "srvr" (the one four-letter word every version whitelists by default).
zk_up() {
  local reply
  # shellcheck disable=SC2016 # expanded by the inner bash
  reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf srvr >&3 && cat <&3' \
    _ "$ZK_HOST" "$ZK_PORT" 2>/dev/null) || return 1
  [[ $reply == *"Zookeeper version"* ]]
}

# Server versions installed the Debian way (/usr/lib/postgresql/<ver>/bin/postgres), ascending.
pg_server_versions() {
  local bin
  for bin in /usr/lib/postgresql/*/bin/postgres; do
    if [[ -x $bin ]]; then basename "$(dirname "$(dirname "$bin")")"; fi
  done | sort -n
}
pg_installed() { [[ -n $(pg_server_versions) ]] && have_exe pg_ctlcluster; }
redis_installed() { have_exe redis-server; }
zk_installed() { [[ -x $ZK_SERVER_SH ]] && have_exe java; }

# ---------------------------------------------------------------------------- start / install

start_postgres() {
  local ver name port status logfile
  local found=0
  if have pg_lsclusters; then
    while read -r ver name port status _ _ logfile; do
      if [[ $port == "$PGPORT" ]]; then
        found=1
        break
      fi
    done < <(pg_lsclusters -h 2>/dev/null)
  fi

  if [[ $found == 1 ]]; then
    PG_LOG_HINT=$logfile
    if [[ $status == online* ]]; then
      log "PostgreSQL $ver/$name is running but not accepting connections yet; waiting"
      return 0
    fi
    log "starting PostgreSQL cluster $ver/$name on port $PGPORT (log: $logfile)"
    local ctl=(pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start)
    if under_systemd; then
      # Let pg_ctlcluster hand over to systemctl so the unit tracks the server.
      ctl=(pg_ctlcluster "$ver" "$name" start)
    fi
    run_as_root "${ctl[@]}" || run_as_root service postgresql start ||
      die "could not start PostgreSQL $ver/$name; as root run: ${ctl[*]}"
    return 0
  fi

  ver=$(pg_server_versions | tail -n 1)
  [[ -n $ver ]] || die "no PostgreSQL server found under /usr/lib/postgresql"
  name=main
  if [[ -d /etc/postgresql/$ver/main ]]; then
    # A main cluster exists but on another port: keep it, add one on the port asked for.
    name=couponlock
    if [[ -d /etc/postgresql/$ver/$name ]]; then
      die "cluster $ver/$name exists but does not use port $PGPORT; fix PGPORT or the cluster"
    fi
  fi
  log "no PostgreSQL cluster uses port $PGPORT: creating $ver/$name"
  run_as_root pg_createcluster "$ver" "$name" --port "$PGPORT" --start ||
    die "could not create a PostgreSQL cluster; as root run: pg_createcluster $ver $name --port $PGPORT --start"
}

start_redis() {
  local dir logdir logfile
  if is_root; then
    dir=/var/lib/redis
    logdir=/var/log/redis
  else
    dir=${TMPDIR:-/tmp}/couponlock-redis-$EUID
    logdir=$dir
  fi
  logfile=$logdir/couponlock.log
  [[ $REDIS_PORT == 6379 ]] || logfile=$logdir/couponlock-$REDIS_PORT.log
  REDIS_LOG_HINT=$logfile
  run mkdir -p "$dir" "$logdir"

  local args=(--daemonize yes --port "$REDIS_PORT" --save "" --appendonly no
    --dir "$dir" --logfile "$logfile" --pidfile "$dir/couponlock-$REDIS_PORT.pid")
  log "starting redis-server on 127.0.0.1:$REDIS_PORT (log: $logfile)"
  if run redis-server --bind 127.0.0.1 -::1 "${args[@]}"; then
    [[ $DRY_RUN == 1 ]] && return 0
    # It forks before binding, so a failed bind only shows as silence: give it a moment.
    for _ in 1 2 3 4 5 6; do
      redis_up && return 0
      sleep 0.5
    done
  fi
  # Hosts without IPv6 (or a Redis older than the optional "-addr" bind syntax).
  log "redis-server did not come up bound to 127.0.0.1 and ::1; retrying on 127.0.0.1 only"
  run redis-server --bind 127.0.0.1 "${args[@]}" || die "could not start redis-server (see $logfile)"
}

start_zookeeper() {
  local dir logdir
  if is_root; then
    dir=/var/lib/zookeeper
    logdir=/var/log/zookeeper
  else
    dir=${TMPDIR:-/tmp}/couponlock-zookeeper-$EUID
    logdir=$dir/log
  fi
  local conf=$dir/couponlock-$ZK_PORT.cfg
  ZK_LOG_HINT=$logdir/
  run mkdir -p "$dir/data-$ZK_PORT" "$logdir"
  if [[ $DRY_RUN == 1 ]]; then
    log "[dry-run] would write $conf and run: $ZK_SERVER_SH start $conf"
    return 0
  fi
  # Our own config, not Debian's: loopback only, and no AdminServer (it would take port 8080).
  # A development/CI server: forceSync=no writes the transaction log without an fsync per write,
  # which on a disk shared with PostgreSQL otherwise stalls answers past the lock's 1 s command
  # timeout. A production ensemble keeps ZooKeeper's default (forceSync=yes).
  cat >"$conf" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data-$ZK_PORT
clientPort=$ZK_PORT
clientPortAddress=$ZK_HOST
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr,ruok,mntr,cons
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
forceSync=no
EOF
  log "starting ZooKeeper on $ZK_HOST:$ZK_PORT (config: $conf, log: $logdir)"
  # zkServer.sh daemonises the JVM itself (nohup, pid file): no systemd involved.
  run env ZOO_LOG_DIR="$logdir" ZOOPIDFILE="$dir/couponlock-$ZK_PORT.pid" \
    "$ZK_SERVER_SH" start "$conf" || die "could not start ZooKeeper (see $logdir)"
}

install_packages() {
  if ! is_root; then
    die "not installed: $*. Install them and run this again, e.g.:
  sudo apt-get update && sudo apt-get install -y $*
(or run this script as root, which does exactly that)"
  fi
  have apt-get || die "not installed: $*, and there is no apt-get here; install them yourself"
  log "installing $*"
  run apt-get update -q
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# docker compose, with what docker-compose.yml requires to be set (it has no default secrets):
# the PostgreSQL password is this script's APP_DB_PASSWORD; the API keys are never read by
# postgres or redis, the only services started here, so placeholders satisfy compose.
# Exported, not put on the command line, so --dry-run and progress logs never print them.
export POSTGRES_PASSWORD=${POSTGRES_PASSWORD:-$APP_DB_PASSWORD}
export ADMIN_API_KEYS=${ADMIN_API_KEYS:-unused-by-services-sh}
export STOREFRONT_API_KEYS=${STOREFRONT_API_KEYS:-unused-by-services-sh}
COMPOSE=(docker compose -f "$COMPOSE_FILE")

docker_usable() {
  have docker && timeout 15 docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1
}

compose_up() {
  # The compose file keeps both databases private to its network; publish them on loopback
  # for this use only, through a throwaway override file.
  local override
  override=$(mktemp)
  printf 'services:\n  postgres:\n    ports: ["127.0.0.1:%s:5432"]\n  redis:\n    ports: ["127.0.0.1:%s:6379"]\n' \
    "$PGPORT" "$REDIS_PORT" >"$override"
  log "no local PostgreSQL/Redis; starting them with docker compose"
  PG_LOG_HINT="docker compose logs postgres"
  REDIS_LOG_HINT="docker compose logs redis"
  local rc=0
  run "${COMPOSE[@]}" -f "$override" up -d --wait postgres redis || rc=$?
  rm -f "$override"
  [[ $rc == 0 ]] || die "docker compose up postgres redis failed"
}

wait_for_zookeeper() {
  [[ $DRY_RUN == 1 ]] && return 0
  local deadline=$((SECONDS + SERVICES_TIMEOUT))
  until zk_up; do
    ((SECONDS < deadline)) ||
      die "not answering after ${SERVICES_TIMEOUT}s: ZooKeeper on $ZK_HOST:$ZK_PORT (see $ZK_LOG_HINT)"
    sleep 0.5
  done
}

ensure_zookeeper() {
  zk_up && return 0
  is_local "$ZK_HOST" || die "ZooKeeper on $ZK_HOST:$ZK_PORT does not answer, and that host is not local"
  if ! zk_installed; then
    if ! is_root && docker_usable; then
      log "no local ZooKeeper; starting it with docker compose"
      local override rc=0
      override=$(mktemp)
      printf 'services:\n  zookeeper:\n    ports: ["127.0.0.1:%s:2181"]\n' "$ZK_PORT" >"$override"
      ZK_LOG_HINT="docker compose logs zookeeper"
      run docker compose -f "$COMPOSE_FILE" -f "$override" up -d --wait zookeeper || rc=$?
      rm -f "$override"
      [[ $rc == 0 ]] || die "docker compose up zookeeper failed"
      wait_for_zookeeper
      return 0
    fi
    # Debian's package pulls a JRE when none is installed.
    install_packages zookeeper
    if [[ $DRY_RUN == 1 ]]; then
      log "[dry-run] would then start ZooKeeper with $ZK_SERVER_SH"
      return 0
    fi
  fi
  start_zookeeper
  wait_for_zookeeper
}

wait_for_services() {
  [[ $DRY_RUN == 1 ]] && return 0
  local deadline=$((SECONDS + SERVICES_TIMEOUT)) pg_ok=0 redis_ok=0
  while true; do
    if [[ $pg_ok == 0 ]] && pg_up; then pg_ok=1; fi
    if [[ $redis_ok == 0 ]] && redis_up; then redis_ok=1; fi
    if [[ $pg_ok == 1 && $redis_ok == 1 ]]; then return 0; fi
    if ((SECONDS >= deadline)); then
      local down=()
      [[ $pg_ok == 1 ]] || down+=(" PostgreSQL on $PGHOST:$PGPORT (see $PG_LOG_HINT)")
      [[ $redis_ok == 1 ]] || down+=(" Redis on $REDIS_HOST:$REDIS_PORT (see $REDIS_LOG_HINT)")
      local IFS=';'
      die "not answering after ${SERVICES_TIMEOUT}s:${down[*]}"
    fi
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------- role and databases

# Does the app role log in with its password and may it create in public, with CREATEDB?
app_db_ready() {
  have psql || return 1
  local out
  out=$(PGPASSWORD=$APP_DB_PASSWORD PGCONNECT_TIMEOUT=3 psql -X -w -A -t -q \
    -h "$PGHOST" -p "$PGPORT" -U "$APP_DB_USER" -d "$1" \
    -c "SELECT has_schema_privilege('public', 'CREATE') AND rolcreatedb FROM pg_roles WHERE rolname = current_user" \
    2>/dev/null) || return 1
  [[ $out == t ]]
}

# Prints (NUL-separated) a command that runs psql as a PostgreSQL superuser, on database postgres.
superuser_psql() {
  local opts=(-X -w -q -v ON_ERROR_STOP=1 -d postgres)
  if have psql; then
    if PGCONNECT_TIMEOUT=3 psql "${opts[@]}" -h "$PGHOST" -p "$PGPORT" -U postgres -c 'SELECT 1' >/dev/null 2>&1; then
      printf '%s\0' psql "${opts[@]}" -h "$PGHOST" -p "$PGPORT" -U postgres
      return 0
    fi
    if is_local "$PGHOST" && [[ -d $PG_SOCKET_DIR ]] && id postgres >/dev/null 2>&1; then
      local as=()
      if is_root && have runuser; then
        as=(runuser -u postgres --)
      elif have sudo && sudo -n -u postgres true 2>/dev/null; then
        as=(sudo -n -u postgres)
      fi
      if [[ ${#as[@]} -gt 0 ]] &&
        "${as[@]}" psql "${opts[@]}" -h "$PG_SOCKET_DIR" -p "$PGPORT" -c 'SELECT 1' >/dev/null 2>&1; then
        printf '%s\0' "${as[@]}" psql "${opts[@]}" -h "$PG_SOCKET_DIR" -p "$PGPORT"
        return 0
      fi
    fi
  fi
  if [[ $DOCKER_MODE == 1 ]] || { docker_usable &&
    [[ -n $("${COMPOSE[@]}" ps -q postgres 2>/dev/null) ]]; }; then
    # The compose image's superuser is couponlock (POSTGRES_USER).
    printf '%s\0' "${COMPOSE[@]}" exec -T postgres psql "${opts[@]}" -U couponlock
    return 0
  fi
  return 1
}

ensure_databases() {
  if app_db_ready "$APP_DB_NAME" && app_db_ready "$APP_TEST_DB_NAME"; then
    return 0
  fi
  local psql_cmd=()
  local part
  while IFS= read -r -d '' part; do psql_cmd+=("$part"); done < <(superuser_psql || true)
  [[ ${#psql_cmd[@]} -gt 0 ]] || die "role $APP_DB_USER or databases $APP_DB_NAME/$APP_TEST_DB_NAME not ready, and no PostgreSQL superuser access here.
As a superuser run:
  CREATE ROLE $APP_DB_USER LOGIN CREATEDB PASSWORD '$APP_DB_PASSWORD';
  CREATE DATABASE $APP_DB_NAME OWNER $APP_DB_USER; CREATE DATABASE $APP_TEST_DB_NAME OWNER $APP_DB_USER;
  and in each database: ALTER SCHEMA public OWNER TO $APP_DB_USER;"

  log "ensuring role $APP_DB_USER and databases $APP_DB_NAME, $APP_TEST_DB_NAME"
  if [[ $DRY_RUN == 1 ]]; then
    log "[dry-run] would run the role/database SQL with: ${psql_cmd[*]}"
    return 0
  fi
  "${psql_cmd[@]}" -v app_user="$APP_DB_USER" -v app_password="$APP_DB_PASSWORD" \
    -v app_db="$APP_DB_NAME" -v test_db="$APP_TEST_DB_NAME" >&2 <<'SQL'
SELECT format('CREATE ROLE %I', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')
\gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'app_user', :'app_password')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', d, :'app_user')
FROM unnest(ARRAY[:'app_db', :'test_db']) AS d
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = d)
\gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', d, :'app_user')
FROM unnest(ARRAY[:'app_db', :'test_db']) AS d
\gexec
\connect :"app_db"
ALTER SCHEMA public OWNER TO :"app_user";
\connect :"test_db"
ALTER SCHEMA public OWNER TO :"app_user";
SQL
  if have psql && ! { app_db_ready "$APP_DB_NAME" && app_db_ready "$APP_TEST_DB_NAME"; }; then
    die "role and databases were set up, but $APP_DB_USER still cannot log in over TCP to $PGHOST:$PGPORT (check pg_hba.conf)"
  fi
}

# ---------------------------------------------------------------------------- main

main() {
  local arg
  for arg in "$@"; do
    case $arg in
      -n | --dry-run) DRY_RUN=1 ;;
      -h | --help)
        sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
        exit 0
        ;;
      *) die "unknown argument: $arg (try --help)" ;;
    esac
  done

  local need_pg=0 need_redis=0
  pg_up || need_pg=1
  redis_up || need_redis=1

  if [[ $need_pg == 1 || $need_redis == 1 ]]; then
    if [[ $need_pg == 1 ]] && ! is_local "$PGHOST"; then
      die "PostgreSQL on $PGHOST:$PGPORT does not answer, and that host is not local"
    fi
    if [[ $need_redis == 1 ]] && ! is_local "$REDIS_HOST"; then
      die "Redis on $REDIS_HOST:$REDIS_PORT does not answer, and that host is not local"
    fi

    local missing=()
    if [[ $need_pg == 1 ]] && ! pg_installed; then missing+=(postgresql postgresql-client); fi
    if [[ $need_redis == 1 ]] && ! redis_installed; then missing+=(redis-server redis-tools); fi
    if [[ ${#missing[@]} -gt 0 ]]; then
      if ! pg_installed && ! redis_installed && docker_usable; then
        compose_up
        DOCKER_MODE=1
      else
        install_packages "${missing[@]}"
      fi
    fi

    if [[ $DRY_RUN == 1 && ${#missing[@]} -gt 0 && $DOCKER_MODE == 0 ]]; then
      log "[dry-run] would then start whatever the packages did not start"
    elif [[ $DOCKER_MODE == 0 ]]; then
      # Package scripts may have started them already; start only what is still silent.
      if [[ $need_pg == 1 ]] && ! pg_up; then start_postgres; fi
      if [[ $need_redis == 1 ]] && ! redis_up; then start_redis; fi
    fi
    wait_for_services
  fi

  ensure_zookeeper

  if [[ $DRY_RUN == 1 ]] && ! pg_up; then
    log "[dry-run] would then ensure role $APP_DB_USER and databases $APP_DB_NAME, $APP_TEST_DB_NAME"
  else
    ensure_databases
  fi

  if [[ $DRY_RUN == 1 ]]; then
    echo "services: dry run done, nothing changed"
  else
    echo "services: postgres $PGHOST:$PGPORT ✓ redis $REDIS_HOST:$REDIS_PORT ✓ zookeeper $ZK_HOST:$ZK_PORT ✓ databases $APP_DB_NAME, $APP_TEST_DB_NAME ✓"
  fi
}

main "$@"
