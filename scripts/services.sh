#!/usr/bin/env bash
# Make sure the services the pipelines and the integration tests need are up on this machine:
#   - NATS with JetStream on 127.0.0.1:4222
#   - ClickHouse (HTTP interface) on 127.0.0.1:8123
#
# Idempotent: a service that already answers is left alone. A missing one is installed from the
# Debian packages (nats-server, clickhouse-server + clickhouse-client) and started in the
# background with start-stop-daemon (no systemd needed, so it works in containers and CI).
# Prints one line per service. Set RXA_SKIP_SERVICES=1 to do nothing (e.g. when the services run
# elsewhere, like under docker compose).
#
# --zookeeper (or RXA_WITH_ZOOKEEPER=1) also installs Debian's zookeeper package (and a Java
# runtime) when missing, for the replicated ClickHouse test (test/clickhouse-cluster.test.ts),
# which starts its own ZooKeeper and ClickHouse servers on their own ports. Nothing is started for
# it here; without the flag nothing about ZooKeeper is done.
set -euo pipefail

WITH_ZOOKEEPER="${RXA_WITH_ZOOKEEPER:-0}"
for arg in "$@"; do
  case "$arg" in
    --zookeeper) WITH_ZOOKEEPER=1 ;;
    *)
      echo "services: unknown argument '$arg' (usage: services.sh [--zookeeper])" >&2
      exit 2
      ;;
  esac
done

if [[ "${RXA_SKIP_SERVICES:-0}" == "1" ]]; then
  echo "services: skipped (RXA_SKIP_SERVICES=1)"
  exit 0
fi

readonly HOST=127.0.0.1
readonly NATS_PORT=4222
readonly NATS_BIN=/usr/sbin/nats-server
readonly NATS_STORE=/var/lib/nats-server
readonly NATS_LOG=/var/log/nats-server.log
readonly NATS_PIDFILE=/run/rxa-nats-server.pid
readonly CH_PORT=8123
readonly CH_BIN=/usr/sbin/clickhouse-server
readonly CH_CONFIG=/etc/clickhouse-server/config.xml
readonly CH_LOG_DIR=/var/log/clickhouse-server
readonly CH_DATA_DIR=/var/lib/clickhouse
readonly CH_PIDFILE=/run/rxa-clickhouse-server.pid
readonly WAIT_SECONDS=60
readonly ZK_JAR=/usr/share/java/zookeeper.jar # from libzookeeper-java, a dependency of zookeeper
readonly ZK_SERVER_SCRIPT=/usr/share/zookeeper/bin/zkServer.sh

die() {
  echo "services: $*" >&2
  exit 1
}

# Run a command as root: directly when we are root, through sudo when it exists.
as_root() {
  if [[ "$(id -u)" == "0" ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' (not root and no sudo)"
  fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "cannot install $* : apt-get not found (install it by hand)"
  if [[ "$APT_UPDATED" == "0" ]]; then
    as_root apt-get update >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >/dev/null || die "apt-get install $* failed"
}

# True when something accepts TCP connections on HOST:port.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/${HOST}/$1" >/dev/null 2>&1
}

# The first line a NATS server sends on connect: INFO {...}.
nats_info() {
  timeout 2 bash -c "exec 3<>/dev/tcp/${HOST}/${NATS_PORT}; head -n 1 <&3" 2>/dev/null || true
}

# True when ClickHouse answers GET /ping with "Ok.".
clickhouse_ok() {
  local body
  if command -v curl >/dev/null 2>&1; then
    body="$(curl -sf --max-time 2 "http://${HOST}:${CH_PORT}/ping" 2>/dev/null || true)"
  else
    body="$(timeout 2 bash -c "exec 3<>/dev/tcp/${HOST}/${CH_PORT}; printf 'GET /ping HTTP/1.0\r\nHost: ${HOST}\r\n\r\n' >&3; cat <&3" 2>/dev/null || true)"
  fi
  [[ "$body" == *"Ok."* ]]
}

# wait_for <check function>: poll once a second for up to WAIT_SECONDS.
wait_for() {
  local check="$1" i
  for ((i = 0; i < WAIT_SECONDS; i++)); do
    if "$check"; then return 0; fi
    sleep 1
  done
  return 1
}

nats_up() {
  port_open "$NATS_PORT"
}

ensure_nats() {
  if nats_up; then
    local info
    info="$(nats_info)"
    if [[ "$info" != INFO* ]]; then
      die "port ${HOST}:${NATS_PORT} is taken by something that does not speak NATS"
    fi
    if [[ "$info" != *'"jetstream":true'* ]]; then
      die "NATS on ${HOST}:${NATS_PORT} is running without JetStream; restart it with -js"
    fi
    echo "nats: already running on ${HOST}:${NATS_PORT}"
    return
  fi
  if [[ ! -x "$NATS_BIN" ]]; then
    echo "nats: installing the nats-server package"
    apt_install nats-server
    [[ -x "$NATS_BIN" ]] || die "nats-server package installed but $NATS_BIN is missing"
  fi
  as_root mkdir -p "$NATS_STORE"
  # The pid file makes start-stop-daemon look for *our* server: without it, any nats-server process
  # on the machine (another port, another store) would count as "already running".
  as_root start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$NATS_PIDFILE" \
    --exec "$NATS_BIN" -- \
    -a "$HOST" -p "$NATS_PORT" -js -sd "$NATS_STORE" -l "$NATS_LOG" \
    || die "could not start $NATS_BIN"
  if ! wait_for nats_up; then
    as_root tail -n 20 "$NATS_LOG" >&2 2>/dev/null || true
    die "NATS did not listen on ${HOST}:${NATS_PORT} within ${WAIT_SECONDS} s (log: $NATS_LOG)"
  fi
  echo "nats: started on ${HOST}:${NATS_PORT} (JetStream store $NATS_STORE)"
}

ensure_clickhouse() {
  if clickhouse_ok; then
    echo "clickhouse: already running on ${HOST}:${CH_PORT}"
    return
  fi
  if port_open "$CH_PORT"; then
    # Something listens but does not answer yet: most likely a server still starting up.
    if wait_for clickhouse_ok; then
      echo "clickhouse: already running on ${HOST}:${CH_PORT}"
      return
    fi
    die "port ${HOST}:${CH_PORT} is taken but GET /ping does not answer Ok. (not ClickHouse, or a broken one)"
  fi
  if [[ ! -x "$CH_BIN" ]] || ! command -v clickhouse-client >/dev/null 2>&1; then
    echo "clickhouse: installing the clickhouse-server and clickhouse-client packages"
    apt_install clickhouse-server clickhouse-client
    [[ -x "$CH_BIN" ]] || die "clickhouse-server package installed but $CH_BIN is missing"
  fi
  # The package's postinst creates the user and these directories; make sure they are usable.
  id clickhouse >/dev/null 2>&1 || die "user 'clickhouse' does not exist (the clickhouse-server package creates it)"
  as_root mkdir -p "$CH_LOG_DIR" "$CH_DATA_DIR"
  as_root chown clickhouse:clickhouse "$CH_LOG_DIR" "$CH_DATA_DIR"
  # --oknodo: a server we started earlier that is not answering yet is not an error; we wait below.
  as_root start-stop-daemon --start --oknodo --background --make-pidfile --pidfile "$CH_PIDFILE" \
    --chuid clickhouse --exec "$CH_BIN" -- \
    --config-file="$CH_CONFIG" \
    || die "could not start $CH_BIN"
  if ! wait_for clickhouse_ok; then
    as_root tail -n 20 "$CH_LOG_DIR/clickhouse-server.err.log" >&2 2>/dev/null || true
    die "ClickHouse did not answer http://${HOST}:${CH_PORT}/ping within ${WAIT_SECONDS} s (log: $CH_LOG_DIR/clickhouse-server.err.log)"
  fi
  echo "clickhouse: started on ${HOST}:${CH_PORT}"
}

# The jar and a java to run it: the test runs QuorumPeerMain itself (no systemd, no service).
ensure_zookeeper() {
  if [[ -f "$ZK_JAR" && -f "$ZK_SERVER_SCRIPT" ]] && command -v java >/dev/null 2>&1; then
    echo "zookeeper: installed ($ZK_JAR)"
    return
  fi
  echo "zookeeper: installing the zookeeper package"
  if command -v java >/dev/null 2>&1; then
    apt_install zookeeper
  else
    apt_install zookeeper default-jre-headless
  fi
  [[ -f "$ZK_JAR" ]] || die "zookeeper package installed but $ZK_JAR is missing"
  command -v java >/dev/null 2>&1 || die "zookeeper installed but no java on PATH"
  echo "zookeeper: installed ($ZK_JAR)"
}

ensure_nats
ensure_clickhouse
if [[ "$WITH_ZOOKEEPER" == "1" ]]; then ensure_zookeeper; fi
