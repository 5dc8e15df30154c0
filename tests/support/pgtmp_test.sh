#!/usr/bin/env bash
# pgtmp chooses ports outside the kernel's ephemeral range and retries a first
# start whose port is taken on another port. Usage: pgtmp_test.sh PGTMP
set -euo pipefail
pgtmp=$1
dir=$(mktemp -d /tmp/provledger-pgtmp-test-XXXXXX)
chmod 755 "$dir"
holder=
cleanup() {
  "$pgtmp" destroy "$dir/pg" >/dev/null 2>&1 || true
  [[ -n $holder ]] && kill "$holder" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL - $*"; exit 1; }

read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
for i in $(seq 1 30); do
  p=$("$pgtmp" port)
  ((p >= 20000 && p <= 65535)) || fail "port $p out of [20000, 65535]"
  ((p < lo || p > hi)) || fail "port $p inside the ephemeral range $lo-$hi"
done
echo "ok - 30 ports outside the ephemeral range $lo-$hi"

# Occupy a port (as an outgoing connection would) and make it pgtmp's first choice.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
time.sleep(600)' >"$dir/busy" &
holder=$!
for i in $(seq 1 50); do [[ -s $dir/busy ]] && break; sleep 0.1; done
busy=$(cat "$dir/busy")
[[ -n $busy ]] || fail "could not occupy a port"
out=$(PGTMP_TRY_PORTS="$busy" "$pgtmp" start "$dir/pg" 2>"$dir/err") || { cat "$dir/err"; fail "pgtmp start failed"; }
port=$(sed -n 's/^PORT=//p' <<<"$out")
[[ -n $port && $port != "$busy" ]] || fail "started on $port, the occupied port was $busy"
grep -q "port $busy is in use; retrying on another port" "$dir/err" || fail "no retry message: $(cat "$dir/err")"
((port < lo || port > hi)) || fail "retry port $port inside the ephemeral range"
one=$(psql -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c 'select 1') || fail "cannot connect on $port"
[[ $one == 1 ]] || fail "select 1 on $port returned $one"
echo "ok - occupied port $busy retried, started on $port"
# Captured first: `pgtmp restart | grep -q` under pipefail fails whenever grep
# exits before pgtmp has written its last line (SIGPIPE), as seen once in CI.
out=$("$pgtmp" restart "$dir/pg" 2>"$dir/err") || { cat "$dir/err"; fail "pgtmp restart failed"; }
grep -qx "PORT=$port" <<<"$out" || fail "restart changed the port: $out"
echo "ok - restart keeps port $port"
