//go:build tools

// Package kube pins the modules whose commands scripts/k8s-tools.sh --cluster builds in
// one `go build` (a real control plane for the deploy test tests/deploy/cluster_test.py):
// kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from
// k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3 (./etcd), and the KWOK
// controller from sigs.k8s.io/kwok, which plays the kubelets of simulated nodes.
//
// A module of our own because k8s.io/kubernetes's go.mod replaces its staging modules
// (k8s.io/api, client-go, ...) by directories of its repository, which `go install
// pkg@version` refuses; go.mod replaces each by its published v0.x of the same release
// (the 33 of the replace block of k8s.io/kubernetes v1.37.2's go.mod). go.sum pins
// every dependency of the build.
//
// Change a version with `go get k8s.io/kubernetes/cmd/kube-apiserver@vX` (and every
// replace to the matching v0.x), not `go mod tidy`, which also resolves the tests of
// dependencies.
package kube

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "sigs.k8s.io/kwok/pkg/kwok/cmd"
)
