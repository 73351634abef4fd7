//go:build tools

// Package promtool pins the Prometheus module whose cmd/promtool scripts/k8s-tools.sh
// builds (`go build github.com/prometheus/prometheus/cmd/promtool` in this module). A
// module of our own because Prometheus's go.mod has exclude and replace directives, which
// `go install pkg@version` refuses; go.sum pins every dependency of the build.
//
// Change the version with `go get github.com/prometheus/prometheus/cmd/promtool@vX`, not
// `go mod tidy`: tidy also resolves the tests of dependencies (docker's, which has no
// go.mod) and would pull unpinned latest versions and a newer go directive.
package promtool

import _ "github.com/prometheus/prometheus/cmd/promtool"
