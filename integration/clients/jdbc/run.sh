#!/usr/bin/env bash
# pgjdbc integration test: compiles JdbcTest.java and runs it against a fresh Grizzly.
#
#   integration/clients/jdbc/run.sh
#
# Environment:
#   GRIZZLY_BIN        server binary (default: $CARGO_TARGET_DIR/debug/grizzly or target/debug/grizzly)
#   CLIENT_TEST_PORT   run against an already running server on 127.0.0.1:PORT instead of
#                      starting Grizzly (e.g. a real PostgreSQL, to confirm the expectations);
#                      CLIENT_TEST_USER / CLIENT_TEST_DB name the user and database there.
#   JDBC_TRACE=1       log every protocol message pgjdbc sends and receives (to stderr).
#
# Installs what it needs when missing (Debian packages): javac (default-jdk-headless) and
# pgjdbc (libpostgresql-jdbc-java, /usr/share/java/postgresql.jar).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../../.."
. "$root/integration/grizzly.sh"

apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v javac >/dev/null 2>&1 || apt_install default-jdk-headless
jar=/usr/share/java/postgresql.jar
[ -f "$jar" ] || apt_install libpostgresql-jdbc-java
[ -f "$jar" ] || { echo "jdbc: $jar missing after install"; exit 1; }

build="$(mktemp -d)"
data=""
log=""
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$build"
  [ -z "$data" ] || rm -rf "$data"
  [ -z "$log" ] || rm -f "$log"
}
trap cleanup EXIT

javac -nowarn -d "$build" -cp "$jar" "$here/JdbcTest.java"

if [ -n "${CLIENT_TEST_PORT:-}" ]; then
  port="$CLIENT_TEST_PORT"
  user="${CLIENT_TEST_USER:-postgres}"
  db="${CLIENT_TEST_DB:-postgres}"
else
  bin="${GRIZZLY_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/grizzly}"
  data="$(mktemp -d)"
  log="$(mktemp)"
  start_grizzly "$log" --data-dir "$data"
  user=grizzly
  db=grizzly
fi

jvm=(-Duser.timezone=UTC)
if [ -n "${JDBC_TRACE:-}" ]; then
  cat >"$build/logging.properties" <<'EOF'
handlers=java.util.logging.ConsoleHandler
java.util.logging.ConsoleHandler.level=ALL
java.util.logging.ConsoleHandler.formatter=java.util.logging.SimpleFormatter
java.util.logging.SimpleFormatter.format=%5$s%n
org.postgresql.level=FINEST
EOF
  jvm+=("-Djava.util.logging.config.file=$build/logging.properties")
fi

status=0
timeout 600 java "${jvm[@]}" -cp "$jar:$build" JdbcTest 127.0.0.1 "$port" "$user" "$db" || status=$?
if [ "$status" -ne 0 ] && [ -n "$log" ] && [ -s "$log" ]; then
  echo "--- server log"
  cat "$log"
fi
exit "$status"
