# Shared shell helpers for scripts/*.sh (sourced, not run).

step() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

cache_dir() { printf '%s' "${PAYPIPE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paypipe}"; }
kafka_jars_dir() { printf '%s/kafka-%s' "$(cache_dir)" "$1"; }
# Debezium's connector with the Kafka Connect worker it runs in: debezium_jars_dir DEBEZIUM CONNECT
debezium_jars_dir() { printf '%s/debezium-%s-connect-%s' "$(cache_dir)" "$1" "$2"; }

# Configure and build into $1 (default build/) with Ninja and ccache: every target, or
# only those named in BUILD_TARGETS (space-separated; run-local.sh needs only its daemons).
build_tree() {
  local build_dir=$1; shift
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  export CCACHE_DIR=${CCACHE_DIR:-$(cache_dir)/ccache}
  export CCACHE_NOHASHDIR=true  # share hits between build directories
  # Paths under the checkout hash as relative ones, so a second clone (CI's fresh clone,
  # a worktree) reuses the first one's objects.
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
  if [[ ! -f "$build_dir/build.ninja" ]]; then
    step "cmake configure ($build_dir)"
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  fi
  step "build ($build_dir, $(nproc) cores; the first build takes a few minutes)"
  # shellcheck disable=SC2086  # BUILD_TARGETS splits on spaces on purpose
  cmake --build "$build_dir" ${BUILD_TARGETS:+--target $BUILD_TARGETS} -- -j"$(nproc)"
}
