#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a fresh Debian machine:
#   1. scripts/bootstrap.sh (Debian packages, the Kafka broker's jars; cached)
#   2. the CMake build (build/, ccache)
#   3. ctest: unit tests, then integration and end-to-end tests against a real Kafka
#      broker and a real PostgreSQL that the `stack` fixture starts on free loopback
#      ports and stops at the end; beside them the `lint` tests: clang-tidy
#      (scripts/lint.sh: the files changed since the merge-base with origin/main, all of
#      them on main or with PAYPIPE_LINT_ALL=1) and clang-format (scripts/format.sh --check).
#
#   scripts/test.sh                 everything
#   scripts/test.sh -L unit         one tier (any ctest arguments pass through; -L lint: the style)
#
# Environment: PAYPIPE_BUILD (build directory, default build), KAFKA_VERSION,
# PAYPIPE_LINT_ALL=1 (clang-tidy on every file), PAYPIPE_FORMAT_SCOPE (scripts/format.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

scripts/bootstrap.sh
build_dir=${PAYPIPE_BUILD:-build}
build_tree "$build_dir"

step "tests (unit, integration, e2e) against a real Kafka and PostgreSQL"
ctest --test-dir "$build_dir" --output-on-failure --timeout 900 -j "$(nproc)" "$@"
