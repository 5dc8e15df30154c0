#!/bin/bash
# A long libFuzzer run of one target (docs/fuzzing.md, "Long runs"):
#
#   fuzz/long_run.sh BUILD_DIR TARGET TOTAL_RUNS [WORKERS [MAX_LEN [OUT_DIR]]]
#
# WORKERS processes (default 1) share one corpus directory, OUT_DIR/corpus, as
# libFuzzer's own -jobs mode does (each reloads the directory and sees what the
# others found); each does TOTAL_RUNS / WORKERS executions. The shipped seeds
# (fuzz/corpus/TARGET) and the directories in $FUZZ_EXTRA_SEEDS (space-separated)
# are only read. OUT_DIR (default
# /var/tmp/fuzz-long-TARGET) keeps the corpus, the artifacts, one log per worker
# and runs.tsv, one line per run, so a later run with the same OUT_DIR starts
# from the corpus this one reached.
#
# Settings, and why they differ from the 25 s CI runs (fuzz/run_target.sh):
# - ASAN_OPTIONS malloc_context_size=2: ASan records a stack for every malloc;
#   with the default 30 frames, the yaml-cpp targets (config, flags_spec) filled
#   its stack depot and fell from ~2 000 to ~600 exec/s within 20 minutes. Two
#   frames cost nothing in detection (every bad access is still caught); a report
#   shows shorter allocation stacks (rerun the artifact without the option).
# - -timeout=60 (CI: 10): on a shared machine a worker can be starved for
#   seconds; a 0.17 s input once hit the 10 s limit that way. A slow input still
#   shows as stat::slowest_unit_time_sec and in the CI runs; -report_slow_units=60
#   likewise (a starved unit wrote slow-unit-* files of inputs that run in 0.1 s).
# Exit status: 0 when every worker finished its runs without a finding.
set -u
if [ $# -lt 3 ]; then
  sed -n '2,4p' "$0" >&2
  exit 2
fi
build=$1 target=$2 total=$3
workers=${4:-1} maxlen=${5:-65536} out=${6:-/var/tmp/fuzz-long-$target}
read -r -a extra <<< "${FUZZ_EXTRA_SEEDS:-}"
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/fuzz/fuzz_$target
[ -x "$bin" ] || { echo "long_run.sh: $bin is not built (ninja -C $build fuzz/fuzz_$target)" >&2; exit 2; }
case $workers in ''|*[!0-9]*|0) echo "long_run.sh: WORKERS must be a positive integer" >&2; exit 2;; esac
mkdir -p "$out/corpus" "$out/artifacts"
per=$(( (total + workers - 1) / workers ))
stamp=$(date -u +%Y%m%dT%H%M%SZ)
start=$(date +%s)
echo "long_run.sh: $target, $workers worker(s) x $per runs, max_len $maxlen, out $out," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
pids=()
for ((w = 1; w <= workers; w++)); do
  ASAN_OPTIONS="malloc_context_size=2${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    "$bin" -runs="$per" -timeout=60 -report_slow_units=60 -rss_limit_mb=2048 -max_len="$maxlen" -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/" "$out/corpus" "$root/fuzz/corpus/$target" "${extra[@]}" \
    > "$out/$stamp.worker$w.log" 2>&1 &
  pids+=($!)
done
rc=0 execs=0 rss=0 codes=""
for ((w = 1; w <= workers; w++)); do
  wait "${pids[w - 1]}"; code=$?
  codes+="${codes:+,}$code"
  [ "$code" -eq 0 ] || rc=1
  log=$out/$stamp.worker$w.log
  n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log"); execs=$(( execs + ${n:-0} ))
  r=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log"); [ "${r:-0}" -gt "$rss" ] && rss=$r
done
secs=$(( $(date +%s) - start ))
cov=$(grep -ho 'cov: [0-9]*' "$out/$stamp".worker*.log | sort -t' ' -k2 -n | tail -1)
findings=$(find "$out/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
printf '%s\t%s\t%d workers\t%d executions\t%d s\tmax_len %s\tpeak RSS %s MB\t%s\texit %s\tfindings %d\n' \
  "$stamp" "$target" "$workers" "$execs" "$secs" "$maxlen" "$rss" "$cov" "$codes" "$findings" \
  | tee -a "$out/runs.tsv"
exit $rc
