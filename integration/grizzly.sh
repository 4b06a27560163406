# Sourced by the integration scripts. start_grizzly LOG [FLAGS...] starts the server
# binary "$bin" on a free loopback port with its output in LOG, and sets `pid` and
# `port` (read from its "listening on" line); if it does not start, prints LOG and exits.
start_grizzly() {
  local log="$1"
  shift
  "$bin" --listen 127.0.0.1:0 --log warn "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$log" 2>/dev/null && break
    sleep 0.1
  done
  port="$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")"
  [ -n "$port" ] || { echo "grizzly did not start:"; cat "$log"; exit 1; }
}
