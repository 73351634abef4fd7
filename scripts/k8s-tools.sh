#!/usr/bin/env bash
# Installs the tools that render and validate the Helm chart, pinned and cached like the
# Kafka jars, from the Go module proxy only (no prebuilt binary from anywhere else):
#
#   helm       helm.sh/helm/v3/cmd/helm at $HELM_VERSION, built with `go install`
#              (about 3.5 minutes on 2 cores the first time; cached after that)
#   kubecheck  k8s/tools/kubecheck: strict decoding of every rendered object into the real
#              Kubernetes API types (k8s.io/api, pinned in its go.mod/go.sum) and the
#              chart's policy checks; rebuilt when its sources change
#   promtool   github.com/prometheus/prometheus/cmd/promtool, the version pinned in
#              k8s/tools/promtool/go.mod (module v0.306.0 is Prometheus 3.6.0, the last
#              release whose go.mod asks for no more than Go 1.23), built in that module
#              because Prometheus's go.mod has exclude/replace directives that `go install
#              pkg@version` refuses; unit-tests the chart's PrometheusRule (`promtool test
#              rules`). About 6 CPU-minutes the first time; cached after that
#
#   scripts/k8s-tools.sh [--link-dir DIR]   prints KEY=VALUE lines (HELM=..., KUBECHECK=...,
#                                            PROMTOOL=...) and, with --link-dir, symlinks
#                                            the tools into DIR
#
# Go: the `go` on PATH if it is >= $GO_MIN (Helm 3.16 needs 1.22, kubecheck 1.23).
# Debian bookworm's golang-go is 1.19, too old; when go is missing or older, the Go
# toolchain itself is taken from the Go module proxy, where the Go project publishes it
# as the module golang.org/toolchain (the way `go` switches toolchains), checked against
# the SHA-256 pinned below, and unpacked into the cache.
#
# Cache (PAYPIPE_CACHE, default ~/.cache/paypipe):
#   go/{path,mod,build}          GOPATH, GOMODCACHE, GOCACHE
#   go/toolchain-<version>/      the fallback Go toolchain, when needed
#   k8s-tools/helm-<version>/    helm binary (+ .complete)
#   k8s-tools/kubecheck-<hash>/  kubecheck binary, keyed by a hash of its sources
#   k8s-tools/promtool-<version>-<hash>/  promtool binary, keyed by its go.mod/go.sum
# A lock serialises concurrent runs. Any failure exits non-zero with the reason: the
# deploy tests that depend on this fail instead of skipping.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=scripts/lib.sh
source "$here/lib.sh"

HELM_VERSION=${HELM_VERSION:-v3.16.4}
# The Kubernetes version `helm template` and `helm lint` assume (.Capabilities.KubeVersion,
# the chart's kubeVersion constraint): Helm's release build sets it from its client-go
# (v0.31 for Helm 3.16); a plain `go install` would leave it at 1.20.
HELM_KUBE_MAJOR=1 HELM_KUBE_MINOR=31
GO_MIN=1.23  # kubecheck's go.mod (the prometheus-operator API types); Helm 3.16 needs 1.22
GO_FALLBACK=go1.23.12
GO_FALLBACK_SHA256=7bf9a01c191c452bf1fa9266a547abe0e437ff46d16adc9ec55fcc4fea24c121  # linux-amd64 module zip

link_dir=""
while (( $# )); do
  case "$1" in
    --link-dir) link_dir=$2; shift 2 ;;
    *) die "unknown argument: $1" ;;
  esac
done

cache=$(cache_dir)
tools="$cache/k8s-tools"
gocache="$cache/go"
mkdir -p "$tools" "$gocache"

# One run at a time per cache: a second ctest run (another build dir) waits here.
exec 9>"$tools/.lock"
flock 9

export GOPATH="$gocache/path" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
export GOFLAGS="-buildvcs=false -modcacherw" GOTOOLCHAIN=local CGO_ENABLED=0
export GOPROXY=${GOPROXY:-https://proxy.golang.org,direct}

version_at_least() {  # version_at_least 1.23.4 1.22
  [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" == "$2" ]]
}

# The Go proxy that serves the fallback toolchain: the first http(s) entry of GOPROXY.
first_proxy() {
  local entry
  IFS=',|' read -ra entries <<<"$GOPROXY"
  for entry in "${entries[@]}"; do
    if [[ $entry == http* ]]; then printf '%s' "${entry%/}"; return; fi
  done
  printf 'https://proxy.golang.org'
}

find_go() {
  local go_bin
  go_bin=$(command -v go || true)
  if [[ -n $go_bin ]]; then
    local v
    v=$("$go_bin" env GOVERSION 2>/dev/null || true)  # "go1.26.8"; Go 1.19 prints nothing useful here
    v=${v#go}
    if [[ -n $v ]] && version_at_least "$v" "$GO_MIN"; then
      printf '%s' "$go_bin"
      return
    fi
    step "go on PATH ($go_bin, version '${v:-unknown}') is older than $GO_MIN; using $GO_FALLBACK from the Go module proxy" >&2
  else
    step "no go on PATH; using $GO_FALLBACK from the Go module proxy" >&2
  fi
  local dir="$gocache/toolchain-$GO_FALLBACK"
  if [[ ! -f "$dir/.complete" ]]; then
    local url zip
    url="$(first_proxy)/golang.org/toolchain/@v/v0.0.1-$GO_FALLBACK.linux-$(go_arch).zip"
    zip="$gocache/toolchain-$GO_FALLBACK.zip"
    step "fetching $url (about 75 MB)" >&2
    curl -fsSL --retry 3 -o "$zip.partial" "$url" || die "cannot fetch the Go toolchain from $url"
    local sum
    sum=$(sha256sum "$zip.partial" | cut -d' ' -f1)
    if [[ $(go_arch) == amd64 && $sum != "$GO_FALLBACK_SHA256" ]]; then
      rm -f "$zip.partial"
      die "Go toolchain checksum mismatch: got $sum, pinned $GO_FALLBACK_SHA256"
    fi
    rm -rf "$dir" "$dir.partial"
    mkdir -p "$dir.partial"
    python3 -m zipfile -e "$zip.partial" "$dir.partial" || die "cannot unpack $zip.partial"
    rm -f "$zip.partial"
    mv "$dir.partial/golang.org/toolchain@v0.0.1-$GO_FALLBACK.linux-$(go_arch)" "$dir"
    rm -rf "$dir.partial"
    # Module zips carry no file modes: mark the executables as `go` itself does.
    chmod -R a+x "$dir/bin" "$dir/pkg/tool"
    touch "$dir/.complete"
  fi
  printf '%s' "$dir/bin/go"
}

go_arch() {
  case "$(uname -m)" in
    x86_64) printf amd64 ;;
    aarch64 | arm64) printf arm64 ;;
    *) die "unsupported machine $(uname -m)" ;;
  esac
}

go_bin=$(find_go)
export PATH="$(dirname "$go_bin"):$PATH"

# Helm, from its module at a pinned version. The -X flags set what `helm version` prints
# and the Kubernetes version, as Helm's own release build does.
helm_dir="$tools/helm-$HELM_VERSION-k$HELM_KUBE_MAJOR.$HELM_KUBE_MINOR"
if [[ -f "$helm_dir/.complete" && -x "$helm_dir/helm" ]]; then
  step "helm $HELM_VERSION: cached in $helm_dir" >&2
else
  step "helm $HELM_VERSION: building from the Go module proxy into $helm_dir (about 3.5 minutes the first time)" >&2
  started=$SECONDS
  rm -rf "$helm_dir"
  mkdir -p "$helm_dir"
  GOBIN="$helm_dir" "$go_bin" install \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION
                -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$HELM_KUBE_MAJOR
                -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$HELM_KUBE_MINOR
                -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$HELM_KUBE_MAJOR
                -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$HELM_KUBE_MINOR" \
      "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2 || die "building helm $HELM_VERSION failed (see above)"
  touch "$helm_dir/.complete"
  step "helm $HELM_VERSION: built in $((SECONDS - started)) s" >&2
fi

# kubecheck, from the repository's sources; its dependencies come pinned by go.sum.
src="$root/k8s/tools/kubecheck"
hash=$(cd "$src" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
check_dir="$tools/kubecheck-$hash"
if [[ -f "$check_dir/.complete" && -x "$check_dir/kubecheck" ]]; then
  step "kubecheck: cached in $check_dir" >&2
  touch "$check_dir"  # in use: kept by the clean-up below
else
  step "kubecheck: building into $check_dir (k8s.io/api from the Go module proxy; about a minute the first time)" >&2
  started=$SECONDS
  rm -rf "$check_dir"
  mkdir -p "$check_dir"
  (cd "$src" && "$go_bin" build -mod=readonly -trimpath -o "$check_dir/kubecheck" .) >&2 \
      || die "building kubecheck failed (see above)"
  touch "$check_dir/.complete"
  step "kubecheck: built in $((SECONDS - started)) s" >&2
  # Builds of other sources are dead weight once no checkout uses them; but worktrees of
  # one cache build different sources side by side, so only those unused for a week go
  # (removing another's build made its running deploy tests fail).
  find "$tools" -maxdepth 1 -name 'kubecheck-*' ! -name "kubecheck-$hash" -mtime +7 -exec rm -rf {} + 2>/dev/null || true
fi

# promtool, from k8s/tools/promtool (which pins the Prometheus module), with the version
# `promtool --version` prints set as Prometheus's release build does.
psrc="$root/k8s/tools/promtool"
promtool_version=$(awk '$1 == "github.com/prometheus/prometheus" {print $2}' "$psrc/go.mod")
[[ -n $promtool_version ]] || die "k8s/tools/promtool/go.mod does not require github.com/prometheus/prometheus"
phash=$(cd "$psrc" && cat go.mod go.sum | sha256sum | cut -c1-16)
promtool_dir="$tools/promtool-$promtool_version-$phash"
if [[ -f "$promtool_dir/.complete" && -x "$promtool_dir/promtool" ]]; then
  step "promtool $promtool_version: cached in $promtool_dir" >&2
else
  step "promtool $promtool_version: building from the Go module proxy into $promtool_dir (about 6 CPU-minutes the first time; 20 on a loaded 2-core machine)" >&2
  started=$SECONDS
  rm -rf "$promtool_dir"
  mkdir -p "$promtool_dir"
  # Module v0.MMM.P is Prometheus (MMM/100).(MMM%100).P: v0.306.0 is 3.6.0.
  IFS=. read -r _ mmm patch <<<"$promtool_version"
  (cd "$psrc" && "$go_bin" build -mod=readonly -trimpath \
       -ldflags "-s -w -X github.com/prometheus/common/version.Version=$((mmm / 100)).$((mmm % 100)).$patch" \
       -o "$promtool_dir/promtool" github.com/prometheus/prometheus/cmd/promtool) >&2 \
      || die "building promtool $promtool_version failed (see above)"
  touch "$promtool_dir/.complete"
  step "promtool $promtool_version: built in $((SECONDS - started)) s" >&2
fi

if [[ -n $link_dir ]]; then
  mkdir -p "$link_dir"
  ln -sfn "$helm_dir/helm" "$link_dir/helm"
  ln -sfn "$check_dir/kubecheck" "$link_dir/kubecheck"
  ln -sfn "$promtool_dir/promtool" "$link_dir/promtool"
fi
printf 'HELM=%s\nKUBECHECK=%s\nPROMTOOL=%s\nGO=%s\n' "$helm_dir/helm" "$check_dir/kubecheck" \
  "$promtool_dir/promtool" "$go_bin"
