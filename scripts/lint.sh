#!/usr/bin/env bash
# clang-tidy (Debian's clang-tidy-19; the checks are in .clang-tidy) over the project's
# translation units, as compiled in a build directory's compile_commands.json.
#
#   scripts/lint.sh                 the files changed since the merge-base with the base
#                                   branch (committed or not), and the sources that
#                                   include a changed header; every file when HEAD is
#                                   the base branch itself (CI on main)
#   scripts/lint.sh --all           every translation unit (PAYPIPE_LINT_ALL=1 too)
#   scripts/lint.sh FILE...         these files (sources; a header picks its includers)
#
# Environment: PAYPIPE_BUILD (build directory, default build), PAYPIPE_LINT_ALL=1,
# PAYPIPE_LINT_BASE (default origin/main, else main; when neither exists: --all),
# PAYPIPE_LINT_JOBS (default nproc), CLANG_TIDY (default clang-tidy-19).
# Exits non-zero when clang-tidy reports an error (WarningsAsErrors in .clang-tidy, or a
# compiler error); the other findings are printed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

build_dir=${PAYPIPE_BUILD:-build}
clang_tidy=${CLANG_TIDY:-clang-tidy-19}
jobs=${PAYPIPE_LINT_JOBS:-$(nproc)}
all=${PAYPIPE_LINT_ALL:-0}
given=()
for arg in "$@"; do
  case "$arg" in
    --all) all=1 ;;
    -*) die "unknown option: $arg" ;;
    *) given+=("$arg") ;;
  esac
done

command -v "$clang_tidy" >/dev/null || die "$clang_tidy not found (scripts/bootstrap.sh installs it)"
database="$build_dir/compile_commands.json"
[[ -f $database ]] || die "$database not found: configure the build first (cmake -S . -B $build_dir)"

# The project's own translation units (not the generated *_embedded.cpp in the build
# directory), relative paths.
mapfile -t units < <(python3 - "$database" "$root" <<'EOF'
import json, os, sys
root = sys.argv[2]
for entry in json.load(open(sys.argv[1])):
    path = os.path.relpath(os.path.join(entry["directory"], entry["file"]), root)
    if path.split("/")[0] in ("libs", "services", "tools", "tests", "bench"):
        print(path)
EOF
)

# Files to look at: given, changed since the base, or all.
if (( ${#given[@]} == 0 )) && [[ $all != 1 ]]; then
  base=${PAYPIPE_LINT_BASE:-}
  if [[ -z $base ]]; then
    for candidate in origin/main main; do
      if git rev-parse -q --verify "$candidate^{commit}" >/dev/null; then base=$candidate; break; fi
    done
  fi
  if [[ -z $base ]]; then
    all=1
  else
    merge_base=$(git merge-base HEAD "$base")
    if [[ $merge_base == $(git rev-parse HEAD) ]] && git diff --quiet "$merge_base"; then all=1; fi
  fi
  if [[ $all != 1 ]]; then
    mapfile -t given < <({ git diff --name-only --diff-filter=d "$merge_base"; git ls-files --others --exclude-standard; } |
                           grep -E '\.(cpp|hpp|h)$' | sort -u)
    step "clang-tidy: ${#given[@]} C++ file(s) changed since $base (PAYPIPE_LINT_ALL=1 for all)"
  fi
fi

selected=()
if [[ $all == 1 ]]; then
  selected=("${units[@]}")
else
  declare -A is_unit=() chosen=()
  for u in "${units[@]}"; do is_unit[$u]=1; done
  for f in "${given[@]}"; do
    f=${f#./}
    if [[ -n ${is_unit[$f]:-} ]]; then
      chosen[$f]=1
    elif [[ $f == *.hpp || $f == *.h ]]; then
      # A header: the translation units that include it by its rooted name
      # ("events/producer.hpp", "order_processor/config.hpp", "support/stack.hpp", ...).
      name=$(basename "$f")
      rooted=$(basename "$(dirname "$f")")/$name
      for u in "${units[@]}"; do
        if grep -qE "#include \"($rooted|$name)\"" "$u"; then chosen[$u]=1; fi
      done
    fi
  done
  selected=("${!chosen[@]}")
fi

if (( ${#selected[@]} == 0 )); then
  step "clang-tidy: nothing to check"
  exit 0
fi
step "clang-tidy: ${#selected[@]} translation unit(s), $jobs at a time"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Debian's RapidJSON 1.1 assigns to const members in GenericStringRef::operator=, never
# instantiated; clang 19 rejects it while parsing. Delayed template parsing leaves
# templates to their instantiations, which clang-tidy's checks look at anyway.
# The compile commands are GCC's, with -Werror: GCC's build judges compiler warnings, so
# clang's own (GNU statement expressions in librdkafka's macros, say) do not fail here.
tidy=("$clang_tidy" -p "$build_dir" --quiet
      --extra-arg=-fdelayed-template-parsing --extra-arg=-Wno-delayed-template-parsing-in-cxx20
      --extra-arg=-Wno-error --extra-arg=-Wno-gnu-statement-expression-from-macro-expansion)
printf '%s\0' "${selected[@]}" | xargs -0 -n 1 -P "$jobs" "${tidy[@]}" >"$log" 2>&1 || status=$?
# clang-tidy prints "N warnings generated." for the system headers it filtered: noise.
grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$|^Suppressed [0-9]+ warnings|^Use -header-filter|^Use -system-headers' \
  "$log" || true
warnings=$(grep -cE ': warning: .*\[[a-z]' "$log" || true)
if (( status != 0 )); then
  die "clang-tidy found errors (above)"
fi
step "clang-tidy: no errors; $warnings warning(s) above"
