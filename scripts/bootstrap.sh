#!/usr/bin/env bash
# Installs everything the build, the tests and the local stack need, and caches it.
# Idempotent: a second run checks and returns in about a second.
#
#   scripts/bootstrap.sh            Debian packages + the Kafka broker's jars
#   scripts/bootstrap.sh --bench    also the benchmark tools (wrk, pgbench, perf)
#
# Environment:
#   KAFKA_VERSION   broker version fetched from Maven Central (default 3.9.1; 4.x works too)
#   PAYPIPE_CACHE   cache directory (default ~/.cache/paypipe)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

want_bench=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

packages=(
  # build
  g++ cmake ninja-build ccache pkg-config make
  # libraries (Debian bookworm): Boost 1.81 for Beast/Asio coroutines, the rest as listed in DESIGN.md
  librdkafka-dev libboost1.81-dev libcli11-dev rapidjson-dev libpq-dev libfmt-dev catch2 libspdlog-dev
  prometheus-cpp-dev libssl-dev zlib1g-dev
  # fuzzing: clang with libFuzzer and the sanitizer runtimes (scripts/fuzz.sh, part of the suite)
  clang libclang-rt-14-dev
  # style kept by tools (scripts/lint.sh, scripts/format.sh): bookworm's newest LLVM, 19,
  # is the first there with cppcoreguidelines-avoid-capturing-lambda-coroutines
  clang-tidy-19 clang-format-19
  # local stack: PostgreSQL server, a JDK for the Kafka broker, Maven to fetch it, kcat to probe it
  postgresql postgresql-contrib openjdk-17-jre-headless maven kcat python3 util-linux procps curl
  # the deploy tests read rendered YAML (tests/deploy/monitoring_check.py); the cluster test
  # makes its API server's service-account key and runs the runbook's `openssl rand`
  python3-yaml openssl
  # HTTP API conformance tests: schemathesis from PyPI in a venv (below)
  python3-venv
)
if (( want_bench )); then
  packages+=(wrk libbenchmark-dev linux-perf valgrind)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if (( ${#missing[@]} )); then
  step "apt-get install ${#missing[@]} package(s): ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  if ! "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    step "apt-get update (package lists were stale)"
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
else
  step "Debian packages: all ${#packages[@]} present"
fi

# The Kafka broker from Maven Central: the jars only, into a versioned cache directory.
kafka_version=${KAFKA_VERSION:-3.9.1}
jars=$(kafka_jars_dir "$kafka_version")
if [[ -f "$jars/.complete" ]]; then
  step "Kafka $kafka_version jars: cached in $jars"
else
  step "Kafka $kafka_version jars: fetching from Maven Central into $jars (about 30 s, 46 MB)"
  rm -rf "$jars.partial"
  mkdir -p "$jars.partial"
  profile=()
  if [[ $kafka_version == 4.* ]]; then profile=(-Dkafka4); fi
  mvn -B -q -f "$root/deploy/kafka/pom.xml" "${profile[@]}" \
      -Dkafka.version="$kafka_version" \
      dependency:copy-dependencies -DoutputDirectory="$jars.partial" -DincludeScope=runtime
  touch "$jars.partial/.complete"
  rm -rf "$jars"
  mv "$jars.partial" "$jars"
  step "Kafka $kafka_version jars: $(find "$jars" -name '*.jar' | wc -l) jars ready"
fi

# Kafka Connect (standalone worker) and Debezium's PostgreSQL connector from Maven Central,
# for the interop test that publishes an outbox with Debezium (tests/interop). Connect
# matches the broker's version; Connect 4.x needs Kafka 4's jars and is not fetched here.
debezium_version=${DEBEZIUM_VERSION:-3.6.1.Final}
connect_version=$kafka_version
if [[ $connect_version == 4.* ]]; then connect_version=3.9.1; fi
connect_jars=$(debezium_jars_dir "$debezium_version" "$connect_version")
if [[ -f "$connect_jars/.complete" ]]; then
  step "Debezium $debezium_version on Kafka Connect $connect_version: cached in $connect_jars"
else
  step "Debezium $debezium_version on Kafka Connect $connect_version: fetching from Maven Central (about 20 s, 36 MB)"
  rm -rf "$connect_jars.partial"
  mkdir -p "$connect_jars.partial"
  mvn -B -q -f "$root/deploy/debezium/pom.xml" \
      -Dkafka.version="$connect_version" -Ddebezium.version="$debezium_version" \
      dependency:copy-dependencies -DoutputDirectory="$connect_jars.partial" -DincludeScope=runtime
  touch "$connect_jars.partial/.complete"
  rm -rf "$connect_jars"
  mv "$connect_jars.partial" "$connect_jars"
  step "Debezium $debezium_version: $(find "$connect_jars" -name '*.jar' | wc -l) jars ready"
fi

# The Spring Kafka program of the interop tests (tests/interop/spring), built with Maven
# from Maven Central into the cache once per change of its sources (Maven's local
# repository there too); the tests' fixture runs the same script and finds it cached.
"$root/tests/interop/spring/build.sh"

# schemathesis (PyPI, pinned) for the HTTP API conformance tests (tests/schemathesis):
# a venv of Debian's python3 (python3-venv) in the cache directory, made once per pin.
# Hypothesis is pinned too: schemathesis 3.x breaks on Hypothesis after 6.131.14.
schemathesis_pins=(schemathesis==3.39.16 hypothesis==6.131.14)
venv="$(cache_dir)/schemathesis-3.39.16"
if [[ -f "$venv/.complete" && $(<"$venv/.complete") == "${schemathesis_pins[*]}" ]]; then
  step "schemathesis: cached in $venv"
else
  step "schemathesis: installing ${schemathesis_pins[*]} from PyPI into $venv (about a minute)"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q "${schemathesis_pins[@]}"
  printf '%s' "${schemathesis_pins[*]}" > "$venv/.complete"
fi
