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
# With --cluster it builds, instead of the above, a real control plane for the deploy test
# tests/deploy/cluster_test.py, from k8s/tools/kube (which pins the versions):
#
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl  k8s.io/kubernetes
#   etcd       go.etcd.io/etcd/server/v3 (Debian's etcd 3.4 is too old for watch-lists)
#   kwok       sigs.k8s.io/kwok's controller: plays the kubelet of fake nodes, makes pods
#              ready and Jobs' pods complete, following the Stages in kwok-stages.yaml
#              (copied from the kwok module: node-fast, node heartbeat with lease, pod-fast)
#   crds/      the CustomResourceDefinitions the chart's objects need: ServiceMonitor and
#              PrometheusRule from the prometheus-operator module (the version whose API
#              types kubecheck decodes with), ScaledObject and TriggerAuthentication from
#              KEDA's module
#
# All six commands come from ONE `go build` in one module, so the packages they share
# (client-go, apiserver, api, ...) compile once. Measured with GNU time on this 2-core
# machine from an EMPTY Go build cache (a fresh CI machine; modules already downloaded,
# which takes about 20 s): 14.4 CPU-minutes (707 s user + 159 s sys), 2.7 GB peak resident
# memory (one compile or link), 3.9 GB of Go build cache, 430 MB of binaries; 34 min 44 s
# wall, but niced (19, then 10) beside other engineers' builds at load average 12-22, so
# it had 41% of one core: alone on 2 cores, about 8-10 minutes. With the standard library
# and etcd's packages already cached: 11.6 CPU-minutes, 19 min 53 s wall under the same
# load. With every package cached, relinking the six takes about a minute. Later runs
# find the binaries cached by the Kubernetes version and a hash of k8s/tools/kube and the
# flags, and take a second. Keys: KUBE_APISERVER=..., ETCD=..., KUBECTL=..., KWOK=..., KWOK_STAGES=...,
# CRDS=...
#
# Go: the `go` on PATH if it is >= $GO_MIN (Kubernetes 1.37 and KWOK 0.8 need 1.26).
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
#   k8s-tools/kube-<version>-<hash>/       the --cluster binaries and kwok-stages.yaml
#   k8s-tools/crds-<po version>-keda-<version>/  the CRDs
# A lock serialises concurrent runs (one for --cluster, which takes long: another
# checkout's deploy.tools need not wait for it). Any failure exits non-zero with the reason: the
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
GO_MIN=1.26  # k8s/tools/kube's go.mod (Kubernetes 1.37, KWOK 0.8); kubecheck needs 1.23
GO_FALLBACK=go1.26.8
# linux-amd64 module zip, as `go mod download golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64`
# fetched it (checked against sum.golang.org: h1:ZOmGe1OnfREDMIdb1Qi4G9JSuDPBLGExZMQ4nis1RXM=)
GO_FALLBACK_SHA256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
# The CRDs of the chart's ServiceMonitor/PrometheusRule and ScaledObject (--cluster); the
# prometheus-operator version is kubecheck's (k8s/tools/kubecheck/go.mod).
KEDA_VERSION=${KEDA_VERSION:-v2.20.2}

link_dir=""
cluster=false
while (( $# )); do
  case "$1" in
    --link-dir) link_dir=$2; shift 2 ;;
    --cluster) cluster=true; shift ;;
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

# --cluster: the control plane, KWOK and the CRDs (see the header).
build_cluster() {
  local ksrc="$root/k8s/tools/kube" kube_version kwok_dir khash kube_dir
  kube_version=$(cd "$ksrc" && "$go_bin" list -mod=readonly -m -f '{{.Version}}' k8s.io/kubernetes) \
    || die "k8s/tools/kube/go.mod does not resolve k8s.io/kubernetes (see above)"
  # What `kubectl version` and /version print (the chart's kubeVersion is checked against
  # it); component-base's for the servers, client-go's for kubectl, as Kubernetes's own
  # release build sets them.
  local major minor ldflags="-s -w" pkg
  IFS=. read -r major minor _ <<<"${kube_version#v}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean"
  done
  khash=$( (cd "$ksrc" && cat go.mod go.sum etcd/main.go; printf '%s' "$ldflags") | sha256sum | cut -c1-16)
  kube_dir="$tools/kube-$kube_version-$khash"
  local commands=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)
  if [[ -f "$kube_dir/.complete" ]]; then
    step "kube-apiserver $kube_version, etcd, kwok, ...: cached in $kube_dir" >&2
  else
    step "kube-apiserver $kube_version, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok: building from the Go module proxy into $kube_dir (about 15 CPU-minutes the first time)" >&2
    local started=$SECONDS
    rm -rf "$kube_dir"
    mkdir -p "$kube_dir"
    (cd "$ksrc" && "$go_bin" build -mod=readonly -trimpath -ldflags "$ldflags" -o "$kube_dir/" \
        ./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl sigs.k8s.io/kwok/cmd/kwok) >&2 \
      || die "building the control plane failed (see above)"
    # KWOK's Stages, from the module that was built: nodes become Ready and keep their
    # lease; pods become Ready, Jobs' pods complete, deleted pods go.
    kwok_dir=$(cd "$ksrc" && "$go_bin" list -mod=readonly -m -f '{{.Dir}}' sigs.k8s.io/kwok) \
      || die "cannot locate the sigs.k8s.io/kwok module"
    local stage
    for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
                 pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
      printf -- '---\n'
      cat "$kwok_dir/kustomize/stage/$stage.yaml" || die "kwok $kwok_dir has no Stage $stage"
    done >"$kube_dir/kwok-stages.yaml"
    touch "$kube_dir/.complete"
    step "control plane: built in $((SECONDS - started)) s" >&2
  fi
  local cmd
  for cmd in "${commands[@]}"; do
    [[ -x "$kube_dir/$cmd" ]] || die "$kube_dir/$cmd is missing"
  done

  # The CRDs, from the modules as the proxy serves them (checked against sum.golang.org).
  local po_version
  po_version=$(awk '$1 == "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring" {print $2}' \
                 "$root/k8s/tools/kubecheck/go.mod")
  [[ -n $po_version ]] || die "k8s/tools/kubecheck/go.mod does not require the prometheus-operator API module"
  local crd_dir="$tools/crds-$po_version-keda-$KEDA_VERSION"
  if [[ -f "$crd_dir/.complete" ]]; then
    step "CRDs (prometheus-operator $po_version, KEDA $KEDA_VERSION): cached in $crd_dir" >&2
  else
    step "CRDs: prometheus-operator $po_version and KEDA $KEDA_VERSION from the Go module proxy" >&2
    rm -rf "$crd_dir"
    mkdir -p "$crd_dir"
    local po_dir keda_dir
    po_dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@$po_version")
    keda_dir=$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")
    cp "$po_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
       "$po_dir/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml" \
       "$keda_dir/config/crd/bases/keda.sh_scaledobjects.yaml" \
       "$keda_dir/config/crd/bases/keda.sh_triggerauthentications.yaml" "$crd_dir/" \
      || die "a CRD file is not where it was in these modules"
    touch "$crd_dir/.complete"
  fi

  if [[ -n $link_dir ]]; then
    mkdir -p "$link_dir"
    for cmd in "${commands[@]}"; do ln -sfn "$kube_dir/$cmd" "$link_dir/$cmd"; done
    ln -sfn "$kube_dir/kwok-stages.yaml" "$link_dir/kwok-stages.yaml"
    ln -sfn "$crd_dir" "$link_dir/crds"
  fi
  printf 'KUBE_APISERVER=%s\nKUBE_CONTROLLER_MANAGER=%s\nKUBE_SCHEDULER=%s\nKUBECTL=%s\nETCD=%s\nKWOK=%s\n' \
    "$kube_dir/kube-apiserver" "$kube_dir/kube-controller-manager" "$kube_dir/kube-scheduler" \
    "$kube_dir/kubectl" "$kube_dir/etcd" "$kube_dir/kwok"
  printf 'KWOK_STAGES=%s\nCRDS=%s\nGO=%s\n' "$kube_dir/kwok-stages.yaml" "$crd_dir" "$go_bin"
}

# module_dir <module@version>: downloads the module (verified against sum.golang.org) and
# prints its directory in the module cache.
module_dir() {
  local dir
  dir=$(cd "$tools" && "$go_bin" mod download -json "$1" | awk -F'"' '$2 == "Dir" {print $4}') \
    || die "cannot download $1 from the Go module proxy (see above)"
  [[ -n $dir && -d $dir ]] || die "go mod download $1 gave no directory"
  printf '%s' "$dir"
}

go_bin=$(find_go)
export PATH="$(dirname "$go_bin"):$PATH"

if $cluster; then
  exec 8>"$tools/.lock-cluster"
  flock 8
  flock -u 9  # the Go toolchain is in place; the other tools' runs need not wait for this
  build_cluster
  exit 0
fi

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
