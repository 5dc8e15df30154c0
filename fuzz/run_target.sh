#!/bin/sh
# Runs one libFuzzer target for a bounded time (a test in suite 'fuzz'):
#   run_target.sh BINARY SEED_DIR WORK_DIR SECONDS
# New inputs go to WORK_DIR (git-ignored, in the build dir); SEED_DIR (the
# shipped corpus, with the crash inputs of issue 9) is only read. A crash,
# leak, timeout or out-of-memory makes libFuzzer exit non-zero: the test fails
# and the reproducer is in WORK_DIR/artifacts/.
set -eu
bin=$1 seeds=$2 work=$3 seconds=$4
mkdir -p "$work/corpus" "$work/artifacts"
exec "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
