#!/usr/bin/env bash
# Builds the Spring Kafka program of the interop test (this directory) with Maven from
# Maven Central into the cache directory, once per change of its sources:
#   <cache>/spring-interop-<hash of pom.xml and src/>/   its jar and its dependencies' jars
#   <cache>/m2/                                          Maven's local repository
# so a second run, a second worktree or CI's fresh clone after scripts/bootstrap.sh only
# hashes. Maven builds in a temporary copy: the source tree gets no target/.
#
#   tests/interop/spring/build.sh [LINK]   LINK (a symlink) points at the directory;
#                                          the interop tests' fixture passes build/spring-interop
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib.sh
source "$here/../../../scripts/lib.sh"

hash=$(cd "$here" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -c1-12)
out="$(cache_dir)/spring-interop-$hash"
if [[ -f "$out/.complete" ]]; then
  step "Spring interop program: cached in $out"
else
  step "Spring interop program: building with Maven (spring-kafka from Maven Central; about 30 s the first time)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cp -r "$here/pom.xml" "$here/src" "$work/"
  rm -rf "$out.partial"
  mkdir -p "$out.partial"
  mvn -B -q -Dmaven.repo.local="$(cache_dir)/m2" -f "$work/pom.xml" \
      package dependency:copy-dependencies -DoutputDirectory="$out.partial" -DincludeScope=runtime
  cp "$work"/target/spring-interop-*.jar "$out.partial/"
  touch "$out.partial/.complete"
  rm -rf "$out"
  mv "$out.partial" "$out"
  step "Spring interop program: $(find "$out" -name '*.jar' | wc -l) jars ready in $out"
fi
if [[ -n ${1:-} ]]; then
  mkdir -p "$(dirname "$1")"
  ln -sfn "$out" "$1"
fi
