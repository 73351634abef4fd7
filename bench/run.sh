#!/usr/bin/env bash
# Every benchmark in one run: installs the benchmark tools (wrk, perf, ...), builds,
# then runs
#   bench/payments.py       pgbench ceilings (the three-statement shape, and payment-api's own
#                           statements captured with pg_stat_statements, per request and
#                           batched), payment-api closed and open loop, CPU per payment of each
#                           process, statements per batch, payment -> Telegram latency,
#                           readiness and memory of every daemon, perf profiles, issue 18's
#                           targets (about 9 minutes; the payments section of docs/performance.md)
#   bench/coupons/bench.py  coupon decisions/s and ranking events/s per consumer batch size
#                           (about 3 minutes; the coupons section)
#   bench/streams.py        10,000 idle SSE streams on order-processor (its memory growth), then
#                           1,000 order updates/s fanned out to them: commit -> byte on the
#                           client's socket, lost, out of order (about 3 minutes; the streams
#                           section; needs an open-files hard limit above 11,024)
# Each starts its own stack and daemons, prints every figure as JSON and rewrites its
# section of docs/performance.md.
#
#   bench/run.sh                  everything
#   bench/run.sh payments         one of them (payments | coupons | streams)
#   bench/run.sh --quick          short phases, indicative only
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
which=(payments coupons streams)
args=()
for arg in "$@"; do
  case "$arg" in
    payments|coupons|streams) which=("$arg") ;;
    *) args+=("$arg") ;;
  esac
done
scripts/bootstrap.sh --bench
build_dir=${PAYPIPE_BUILD:-build}
build_tree "$build_dir"
for bench in "${which[@]}"; do
  case "$bench" in
    payments) step "benchmark: payments"; python3 bench/payments.py --build "$build_dir" "${args[@]}" ;;
    coupons) step "benchmark: coupons and rankings"; python3 bench/coupons/bench.py --build "$build_dir" "${args[@]}" ;;
    streams) step "benchmark: live-update streams"; python3 bench/streams.py --build "$build_dir" "${args[@]}" ;;
  esac
done
