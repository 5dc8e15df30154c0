#!/usr/bin/env bash
# Integration test of provledger_sim against a real PostgreSQL that this test
# starts (loopback, temp dir, free port; it FAILS if PostgreSQL cannot start).
#   - init is idempotent; load's JSON summary matches what is in the tables;
#   - same seed + same --end-ts => byte-identical tables; another seed differs;
#   - coverage, divergence, unanchored fraction, anchor latency and v2 bodies
#     are what the options ask for; indexes and foreign keys are back;
#   - run writes spans, receipts, anchors, proofs and flags.spec, and the
#     control file switches divergence injection on and then off.
# Usage: sim_pg_test.sh PROVLEDGER_SIM PGTMP
set -euo pipefail

sim=$1
pgtmp=$2
psql=/usr/lib/postgresql/15/bin/psql
[[ -x $psql ]] || psql=psql

dir=$(mktemp -d "${TMPDIR:-/tmp}/sim-pg-test.XXXXXX")
chmod 755 "$dir"
started=0
cleanup() {
  ((started)) && "$pgtmp" stop "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

fails=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; fails=$((fails + 1)); }
check() { # description, then a command
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
json() { # file key -> number (flat keys only)
  sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" "$1"
}

export PGTMP_SETTINGS="wal_level = minimal
max_wal_senders = 0"
out=$("$pgtmp" start "$dir/pg") || { echo "FAIL - PostgreSQL did not start"; exit 1; }
started=1
port=$(sed -n 's/^PORT=//p' <<<"$out" | head -n 1)
user=$(sed -n 's/^USER=//p' <<<"$out" | head -n 1)
user=${user:-postgres}
dsn() { echo "host=127.0.0.1 port=$port user=$user dbname=$1"; }
q() { "$psql" -X -At -v ON_ERROR_STOP=1 -d "$(dsn "$1")" -c "$2"; }
for db in a_eu a_us a_tr b_eu b_us b_tr c_eu c_us c_tr; do q postgres "CREATE DATABASE $db" >/dev/null; done

for set in a b c; do
  "$sim" init --ledger-dsn "$(dsn ${set}_eu)" --ledger-dsn "$(dsn ${set}_us)" --traces-dsn "$(dsn ${set}_tr)" >/dev/null
done
check "init is idempotent" "$sim" init --ledger-dsn "$(dsn a_eu)" --traces-dsn "$(dsn a_tr)"

n=20000
end=1764300000
load() { # set seed
  "$sim" load --ledger "eu-west=$(dsn "$1"_eu)" --ledger "us-east=$(dsn "$1"_us)" \
    --traces-dsn "$(dsn "$1"_tr)" --receipts $n --tenants 200 --hours 6 --seed "$2" \
    --end-ts $end --coverage 0.97 --divergence 0.002 --unanchored 0.01 --truncate \
    --flags-file "$dir/$1.flags"
}
load a 5 >"$dir/a.json"
load b 5 >"$dir/b.json"
load c 6 >"$dir/c.json"
cat "$dir/a.json"

digest() { # set
  {
    q "$1_eu" "COPY (SELECT * FROM receipts ORDER BY receipt_id) TO STDOUT"
    q "$1_eu" "COPY (SELECT * FROM anchors ORDER BY anchor_id) TO STDOUT"
    q "$1_eu" "COPY (SELECT * FROM notary_proofs ORDER BY anchor_id, notary) TO STDOUT"
    q "$1_us" "COPY (SELECT * FROM receipts ORDER BY receipt_id) TO STDOUT"
    q "$1_tr" "COPY (SELECT * FROM spans ORDER BY trace_id, span_id) TO STDOUT"
    cat "$dir/$1.flags"
  } | md5sum | cut -d' ' -f1
}
check "same seed and end-ts give identical data" [ "$(digest a)" = "$(digest b)" ]
check "another seed gives other data" [ "$(digest a)" != "$(digest c)" ]

receipts=$(( $(q a_eu "SELECT count(*) FROM receipts") + $(q a_us "SELECT count(*) FROM receipts") ))
check "receipts: $receipts == $n == summary" eval '[ "$receipts" = $n ] && [ "$(json "$dir/a.json" receipts)" = $n ]'
unanchored=$(( $(q a_eu "SELECT count(*) FROM receipts WHERE anchor_id IS NULL") + $(q a_us "SELECT count(*) FROM receipts WHERE anchor_id IS NULL") ))
check "unanchored $unanchored == summary, about 1%" eval '[ "$unanchored" = "$(json "$dir/a.json" unanchored)" ] && ((unanchored >= 200 && unanchored <= 300))'
late=$(( $(q a_eu "SELECT count(*) FROM receipts WHERE anchor_id IS NULL AND created_at < (SELECT max(created_at) FROM receipts WHERE anchor_id IS NOT NULL)") ))
check "unanchored receipts are the newest ones ($late older)" [ "$late" = 0 ]
anchors=$(( $(q a_eu "SELECT count(*) FROM anchors") + $(q a_us "SELECT count(*) FROM anchors") ))
check "anchors $anchors == summary" [ "$anchors" = "$(json "$dir/a.json" anchors)" ]
check "anchor ids are region-coded" [ "$(q a_us "SELECT count(*) FROM anchors WHERE anchor_id NOT LIKE 'us-east:%' OR region <> 'us-east'")" = 0 ]
check "anchor receipt_count matches receipts" [ "$(q a_eu "SELECT count(*) FROM anchors a WHERE receipt_count <> (SELECT count(*) FROM receipts r WHERE r.anchor_id = a.anchor_id)")" = 0 ]
check "every receipt anchored_at <= anchor anchored_at" [ "$(q a_eu "SELECT count(*) FROM receipts r JOIN anchors a USING (anchor_id) WHERE r.anchored_at > a.anchored_at")" = 0 ]
check "proofs come 1.5-9 s after anchoring and before the end" [ "$(q a_eu "SELECT count(*) FROM notary_proofs p JOIN anchors a USING (anchor_id) WHERE p.proved_at < a.anchored_at + interval '1.5 s' OR p.proved_at > a.anchored_at + interval '9 s' OR p.proved_at > to_timestamp($end)")" = 0 ]
lat=$(q a_eu "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM anchored_at - created_at) * 1000)::numeric, 1) || ' ' || round(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM anchored_at - created_at) * 1000)::numeric, 1) || ' ' || round(max(extract(epoch FROM anchored_at - created_at) * 1000)::numeric, 1) FROM receipts WHERE anchored_at IS NOT NULL")
read -r p50 p95 pmax <<<"$lat"
check "anchor latency p50 $p50 ms in 8-14, p95 $p95 ms in 15-30, max $pmax <= 500" \
  awk -v a="$p50" -v b="$p95" -v c="$pmax" 'BEGIN { exit !(a >= 8 && a <= 14 && b >= 15 && b <= 30 && c <= 500) }'
check "v2 bodies repeat the columns" [ "$(q a_eu "SELECT count(*) FROM receipts WHERE version = 2 AND (body->>'schema' IS DISTINCT FROM 'provledger.receipt/v2' OR body->>'receipt_id' <> receipt_id OR body->>'tenant_id' <> tenant_id OR body->>'op_id' <> op_id OR body->>'policy_version' <> policy_version OR body->>'kid' <> kid OR body->>'region' <> region)")" = 0 ]
v1=$(q a_eu "SELECT count(*) FROM receipts WHERE version = 1 AND body ? 'schema' = false")
check "v1 bodies exist ($v1)" [ "$v1" -gt 1000 ]
# docs/receipts.md: a v2 content_hash is the SHA-256 of the body's RFC 8785
# form, and survives jsonb (which reordered the keys): recomputed with the
# Python adapter from what the database returns.
q a_eu "SELECT body::text || E'\t' || content_hash FROM receipts WHERE version = 2 ORDER BY receipt_id LIMIT 3000" >"$dir/v2.tsv"
v2bad=$(PYTHONPATH="$(dirname "$0")/../../adapters/python" python3 -c '
import sys, provledger_receipt as r
n = bad = 0
for line in open(sys.argv[1], encoding="utf-8"):
    body, h = line.rstrip("\n").rsplit("\t", 1)
    n += 1
    bad += r.content_hash(body) != h or r.read_v2(body).created_us is None
print(bad if n >= 1000 else "too few: %d" % n)' "$dir/v2.tsv")
check "v2 content hashes are SHA-256 of the canonical form after jsonb ($v2bad bad)" [ "$v2bad" = 0 ]
check "history spans 6 h ending at --end-ts" [ "$(q a_eu "SELECT (max(created_at) <= to_timestamp($end) AND min(created_at) >= to_timestamp($end) - interval '6 h')::int FROM receipts")" = 1 ]
ri=$(q a_eu "SELECT count(*) FROM pg_indexes WHERE tablename = 'receipts'")
si=$(q a_tr "SELECT count(*) FROM pg_indexes WHERE tablename = 'spans'")
check "indexes recreated (receipts $ri, spans $si)" eval '[ "$ri" = 6 ] && [ "$si" = 3 ]'
check "foreign keys recreated" [ "$(q a_eu "SELECT count(*) FROM pg_constraint WHERE contype = 'f'")" = 2 ]
top=$(q a_eu "SELECT max(c) FROM (SELECT count(*) c FROM receipts GROUP BY tenant_id) s")
check "tenant activity is skewed (top tenant $top of $n)" [ "$top" -gt $((n / 10)) ]

# Coverage and divergence across databases.
q a_eu "SELECT op_id, content_hash FROM receipts" >"$dir/rec.txt"
q a_us "SELECT op_id, content_hash FROM receipts" >>"$dir/rec.txt"
q a_tr "SELECT op_id, attested_hash FROM spans WHERE op_id IS NOT NULL" >"$dir/spans.txt"
read -r with without div <<<"$(awk -F'|' 'NR == FNR { h[$1] = $2; next }
  { if ($1 in h) { w++; if (h[$1] != $2) d++ } else m++ } END { print w + 0, m + 0, d + 0 }' "$dir/rec.txt" "$dir/spans.txt")"
check "every receipt has its span ($with)" [ "$with" = $n ]
check "spans without receipt $without == summary" [ "$without" = "$(json "$dir/a.json" spans_without_receipt)" ]
check "coverage ~97%" awk -v w="$with" -v m="$without" 'BEGIN { c = w / (w + m); exit !(c > 0.965 && c < 0.975) }'
check "divergent spans $div == summary, ~0.2%" eval '[ "$div" = "$(json "$dir/a.json" spans_divergent)" ] && ((div >= 15 && div <= 70))'
noise=$(q a_tr "SELECT count(*) FROM spans WHERE op_id IS NULL")
check "noise spans (no op_id) $noise == summary" [ "$noise" = "$(json "$dir/a.json" spans_noise)" ]
check "span starts before its receipt (0.2-3 s)" [ "$(q a_tr "SELECT count(*) FROM spans WHERE op_id IS NOT NULL AND end_time < start_time")" = 0 ]
check "flags.spec written" grep -q '^tenant-001: {' "$dir/a.flags"

# Live traffic with divergence switched on, then off, by the control file.
echo "divergence_rate=0.5" >"$dir/control"
"$sim" run --ledger "eu-west=$(dsn a_eu)" --ledger "us-east=$(dsn a_us)" --traces-dsn "$(dsn a_tr)" \
  --rate 100 --seed 5 --duration 12s --control-file "$dir/control" --flags-file "$dir/run.flags" \
  --ramp-interval 1s --stats-interval 0 >"$dir/run.json" 2>"$dir/run.log" &
runpid=$!
sleep 5
switch=$(date +%s.%N)
: >"$dir/control"
wait "$runpid" || bad "run exited non-zero: $(cat "$dir/run.log")"
cat "$dir/run.json"
check "run wrote spans, receipts, anchors, proofs" awk -v s="$(json "$dir/run.json" spans)" -v r="$(json "$dir/run.json" receipts)" -v a="$(json "$dir/run.json" anchors)" -v p="$(json "$dir/run.json" notary_proofs)" 'BEGIN { exit !(s > 800 && r > 700 && a > 20 && p > 20) }'
check "run had no write errors" [ "$(json "$dir/run.json" write_errors)" = 0 ]
live=$(( $(q a_eu "SELECT count(*) FROM receipts WHERE created_at > to_timestamp($end)") + $(q a_us "SELECT count(*) FROM receipts WHERE created_at > to_timestamp($end)") ))
check "run receipts in the ledgers ($live) == summary" [ "$live" = "$(json "$dir/run.json" receipts)" ]
pending=$(( $(q a_eu "SELECT count(*) FROM receipts WHERE created_at > to_timestamp($end) AND anchor_id IS NULL") + $(q a_us "SELECT count(*) FROM receipts WHERE created_at > to_timestamp($end) AND anchor_id IS NULL") ))
check "live receipts get anchored (pending $pending of $live)" [ "$pending" -lt $((live / 10 + 5)) ]
lat=$(q a_eu "SELECT max(extract(epoch FROM anchored_at - created_at) * 1000) FROM receipts WHERE created_at > to_timestamp($end)")
check "live anchor latency <= 500 ms ($lat)" awk -v m="$lat" 'BEGIN { exit !(m <= 500) }'
q a_eu "SELECT op_id, content_hash FROM receipts WHERE created_at > to_timestamp($end)" >"$dir/rec2.txt"
q a_us "SELECT op_id, content_hash FROM receipts WHERE created_at > to_timestamp($end)" >>"$dir/rec2.txt"
q a_tr "SELECT op_id, attested_hash, extract(epoch FROM start_time) FROM spans WHERE op_id IS NOT NULL AND start_time > to_timestamp($end)" >"$dir/spans2.txt"
read -r on_n on_d off_n off_d <<<"$(awk -F'|' -v sw="$switch" 'NR == FNR { h[$1] = $2; next }
  ($1 in h) { if ($3 < sw - 0.5) { a++; if (h[$1] != $2) b++ } else if ($3 > sw + 2.5) { c++; if (h[$1] != $2) d++ } }
  END { print a + 0, b + 0, c + 0, d + 0 }' "$dir/rec2.txt" "$dir/spans2.txt")"
check "divergence on: $on_d of $on_n ops diverge" awk -v n="$on_n" -v d="$on_d" 'BEGIN { exit !(n > 100 && d > 0.35 * n && d < 0.65 * n) }'
check "divergence off: $off_d of $off_n ops diverge" awk -v n="$off_n" -v d="$off_d" 'BEGIN { exit !(n > 100 && d <= 0.02 * n) }'
check "ramp rewrote flags.spec" grep -q '^# written by the ramp controller (provledger_sim), step [1-9]' "$dir/run.flags"

if ((fails)); then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all checks passed"
