#!/usr/bin/env bash
# The long fault run: about 100,000 payments through the whole system while a random
# daemon is killed with kill -9 every 30 s (and restarted at once), then the checker.
#
#   tests/faults/long_run.sh                         # defaults below
#   OPS=20000 INTERVAL=30 tests/faults/long_run.sh   # a shorter one
#   SCENARIO=postgres-restart INTERVAL=60 tests/faults/long_run.sh
#
# Environment: OPS (logical operations, default 200000: half of them are purchases, so
# about 100,000 payments), RATE (operations per second, default 150), INTERVAL (seconds
# between faults, default 30), SCENARIO (default kill9; any of run.py's), SEED,
# PAYPIPE_BUILD (build directory, default build). Results: one JSON line appended to
# $PAYPIPE_BUILD/test-logs/faults/long-run.jsonl, the daemons' logs next to it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${PAYPIPE_BUILD:-build}
[[ "$build" = /* ]] || build="$root/$build"
ops=${OPS:-200000}
rate=${RATE:-150}
interval=${INTERVAL:-30}
scenario=${SCENARIO:-kill9}
logs="$build/test-logs/faults"
mkdir -p "$logs"
# The driver may take three times the planned duration before the run counts as stuck.
max_drive=$(( ops * 3 / ${rate%.*} + 600 ))
exec python3 "$root/tests/faults/run.py" --scenario "$scenario" --ops "$ops" --rate "$rate" \
  --interval "$interval" --max-drive "$max_drive" --quiet-timeout 600 ${SEED:+--seed "$SEED"} \
  --build-dir "$build" --source-dir "$root" --keep-logs "$logs/long-$scenario" --report "$logs/long-run.jsonl"
