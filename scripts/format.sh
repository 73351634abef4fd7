#!/usr/bin/env bash
# clang-format (Debian's clang-format-19; the style is in .clang-format) over the C++
# files under libs services tools tests bench.
#
#   scripts/format.sh               formats every file in place
#   scripts/format.sh FILE...       formats these
#   scripts/format.sh --check       reports what is not formatted, exits 1 if anything;
#                                   the scope is PAYPIPE_FORMAT_SCOPE (below)
#
# PAYPIPE_FORMAT_SCOPE (for --check):
#   changed-lines   only the lines changed since the merge-base with the base branch
#                   (committed or not)
#   all             every file (the default)
# PAYPIPE_FORMAT_BASE: the base branch (default origin/main, else main).
# CLANG_FORMAT, GIT_CLANG_FORMAT: the binaries (default clang-format-19, git-clang-format-19).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# The whole tree is formatted (one bulk commit): every file is checked.
default_scope=all
scope=${PAYPIPE_FORMAT_SCOPE:-$default_scope}
clang_format=${CLANG_FORMAT:-clang-format-19}
git_clang_format=${GIT_CLANG_FORMAT:-git-clang-format-19}
command -v "$clang_format" >/dev/null || die "$clang_format not found (scripts/bootstrap.sh installs it)"

check=0
files=()
for arg in "$@"; do
  case "$arg" in
    --check) check=1 ;;
    -*) die "unknown option: $arg" ;;
    *) files+=("$arg") ;;
  esac
done

all_files() {
  git ls-files -- 'libs/*' 'services/*' 'tools/*' 'tests/*' 'bench/*' | grep -E '\.(cpp|hpp|h|cc)$'
}

if (( ! check )); then
  if (( ${#files[@]} == 0 )); then mapfile -t files < <(all_files); fi
  step "clang-format: formatting ${#files[@]} file(s)"
  printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$clang_format" -i
  exit 0
fi

if (( ${#files[@]} )) || [[ $scope == all ]]; then
  if (( ${#files[@]} == 0 )); then mapfile -t files < <(all_files); fi
  step "clang-format --check: ${#files[@]} file(s)"
  # --dry-run -Werror prints the differences of each file as warnings (the first three)
  # and fails when any file has one.
  if ! printf '%s\0' "${files[@]}" | xargs -0 -n 50 "$clang_format" --dry-run -Werror --ferror-limit=3; then
    die "not formatted as .clang-format says (above): run scripts/format.sh on these files"
  fi
  step "clang-format --check: clean"
  exit 0
fi

[[ $scope == changed-lines ]] || die "PAYPIPE_FORMAT_SCOPE must be changed-lines or all, not $scope"
base=${PAYPIPE_FORMAT_BASE:-}
if [[ -z $base ]]; then
  for candidate in origin/main main; do
    if git rev-parse -q --verify "$candidate^{commit}" >/dev/null; then base=$candidate; break; fi
  done
fi
if [[ -z $base ]]; then
  step "clang-format --check: no base branch to compare with (PAYPIPE_FORMAT_SCOPE=all checks every file)"
  exit 0
fi
merge_base=$(git merge-base HEAD "$base")
# git clang-format formats only the changed lines; --diff prints what it would change.
# Untracked files are not seen: add them to the index first.
diff=$("$git_clang_format" --binary "$(command -v "$clang_format")" --diff "$merge_base" -- \
         libs services tools tests bench) || true
if [[ -z $diff || $diff == "no modified files to format" || $diff == "clang-format did not modify any files" ]]; then
  step "clang-format --check: the lines changed since $base are formatted"
  exit 0
fi
printf '%s\n' "$diff"
die "lines changed since $base are not formatted (diff above): $git_clang_format $merge_base --force formats them"
