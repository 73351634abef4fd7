#!/usr/bin/env bash
# libFuzzer runs of the decoders that take outside input: the CloudEvents envelope and
# dead-letter headers of Kafka records, JSON Schema validation with the event codecs,
# and HTTP request handling up to payment-api's request codecs.
#
#   scripts/fuzz.sh                   every target for 60 s
#   scripts/fuzz.sh --seconds 600 http_request
#   scripts/fuzz.sh --smoke           every target for 10 s (part of scripts/test.sh)
#
# Builds with clang (-fsanitize=fuzzer,address,undefined) in build-fuzz/ (or
# --build-dir). Starts from tests/fuzz/corpus/<target>/; new inputs go to a temporary
# corpus. A crash fails the run and names the input: add it to
# tests/fuzz/corpus/<target>/ so the regular build replays it as a unit test forever.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

seconds=60
build_dir=build-fuzz
targets=()
while (( $# )); do
  case "$1" in
    --smoke) seconds=10 ;;
    --seconds) seconds=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    -*) die "unknown option $1" ;;
    *) targets+=("$1") ;;
  esac
  shift
done
(( ${#targets[@]} )) || targets=(envelope schemas http_request jwt)

scripts/bootstrap.sh
export CCACHE_DIR=${CCACHE_DIR:-$(cache_dir)/ccache} CCACHE_NOHASHDIR=true
if [[ ! -f "$build_dir/build.ninja" ]]; then
  step "configure $build_dir with clang and libFuzzer"
  CC=clang CXX=clang++ cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPAYPIPE_FUZZ=ON -DPAYPIPE_BUILD_BENCH=OFF >/dev/null
fi
step "build the fuzz targets (${targets[*]})"
cmake --build "$build_dir" --target "${targets[@]/#/fuzz_}" -- -j"$(nproc)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for target in "${targets[@]}"; do
  mkdir -p "$work/$target/corpus" "$work/$target/crashes"
  step "fuzz $target for ${seconds}s"
  if ! "$build_dir/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$work/$target/crashes/" -print_final_stats=1 \
        "$work/$target/corpus" "tests/fuzz/corpus/$target" >"$work/$target/log" 2>&1; then
    status=1
    echo "fuzz_$target found a failure:" >&2
    grep -E "ERROR|SUMMARY|runtime error" "$work/$target/log" | head -20 >&2 || true
    for crash in "$work/$target/crashes/"*; do
      [[ -e "$crash" ]] || continue
      mkdir -p "$root/build-fuzz-crashes/$target"
      cp "$crash" "$root/build-fuzz-crashes/$target/"
      echo "  input kept in build-fuzz-crashes/$target/$(basename "$crash"): fix the bug, then add the file to tests/fuzz/corpus/$target/" >&2
    done
  else
    grep -E "stat::number_of_executed_units|cov:" "$work/$target/log" | tail -2 >&2 || true
  fi
done
exit $status
