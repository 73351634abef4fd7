#!/usr/bin/env bash
# The payment benchmark in one run: installs the benchmark tools, builds, then runs
# bench/payments.py, which starts its own stack and daemons, measures, writes the
# payments section of docs/performance.md and prints every figure as JSON.
#
#   bench/run.sh            full run (about 6 minutes)
#   bench/run.sh --quick    5-second phases (about 2 minutes), indicative only
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh
scripts/bootstrap.sh --bench
build_dir=${PAYPIPE_BUILD:-build}
build_tree "$build_dir"
exec python3 bench/payments.py --build "$build_dir" "$@"
