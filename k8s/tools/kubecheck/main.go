// kubecheck validates the paypipe Helm chart's rendered manifests offline.
//
//	kubecheck validate FILE...
//	    decode every object strictly into its real API type (k8s.io/api, and the
//	    prometheus-operator's monitoring.coreos.com/v1 for ServiceMonitor and
//	    PrometheusRule), then check names, selectors and references between objects
//	kubecheck policy --release NAME --profile local|production --services a,b,... [--source-dir DIR] FILE
//	    the chart's rules: probes, non-root, Secrets, grace periods, hooks, alerts
//	kubecheck check-config --bin-dir DIR FILE
//	    run each container's daemon with the rendered environment: `<daemon> check-config`
//	kubecheck secret-files OFF ON
//	    the renderings with the chart's secretFiles off and on differ only in credentials
//	    moved from secretKeyRef variables to <variable>_FILE files of the same Secret keys
//	kubecheck names FILE
//	    print Kind/name of every object (the runbook test reads it)
//
// Exit status: 0 when everything holds, 1 with every problem listed, 2 on usage errors.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	command, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(command, flag.ExitOnError)
	release := fs.String("release", "paypipe", "Helm release name used to render")
	profile := fs.String("profile", "", "local or production")
	services := fs.String("services", "", "comma-separated services that must be deployed")
	sourceDir := fs.String("source-dir", "", "repository root, to check alert metric names")
	binDir := fs.String("bin-dir", "", "directory holding the built daemons")
	_ = fs.Parse(args)
	files := fs.Args()
	if len(files) == 0 {
		usage()
	}

	var problems Problems
	var objects []*Object
	for _, f := range files {
		objs, errs := LoadFile(f)
		objects = append(objects, objs...)
		problems.list = append(problems.list, errs...)
	}
	if len(objects) == 0 && problems.Empty() {
		problems.Add(nil, "no objects in %s", strings.Join(files, " "))
	}

	switch command {
	case "validate":
		Validate(objects, &problems)
		if problems.Empty() {
			fmt.Printf("%d objects valid against the Kubernetes API types: %s\n", len(objects), summary(objects))
		}
	case "policy":
		if *profile != "local" && *profile != "production" {
			fmt.Fprintln(os.Stderr, "policy needs --profile local or production")
			os.Exit(2)
		}
		var list []string
		for _, s := range strings.Split(*services, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, s)
			}
		}
		Policy(objects, PolicyOptions{Release: *release, Profile: *profile, Services: list, SourceDir: *sourceDir}, &problems)
		if problems.Empty() {
			fmt.Printf("policy holds for %d objects (%s profile, %d services)\n", len(objects), *profile, len(list))
		}
	case "check-config":
		if *binDir == "" {
			fmt.Fprintln(os.Stderr, "check-config needs --bin-dir")
			os.Exit(2)
		}
		if problems.Empty() {
			n := CheckConfig(objects, *binDir, &problems)
			if problems.Empty() {
				fmt.Printf("%d containers: every daemon accepts the environment the chart gives it\n", n)
			}
		}
	case "secret-files":
		if len(files) != 2 {
			usage()
		}
		if problems.Empty() {
			off, _ := LoadFile(files[0])
			on, _ := LoadFile(files[1])
			if n := SecretFiles(off, on, &problems); problems.Empty() {
				fmt.Printf("secretFiles: %d credentials moved from secretKeyRef variables to files of the same Secret keys; nothing else changed\n", n)
			}
		}
	case "names":
		for _, o := range objects {
			fmt.Println(o.Ref())
		}
	default:
		usage()
	}
	if !problems.Empty() {
		fmt.Fprintf(os.Stderr, "%s: %d problem(s):\n", command, len(problems.list))
		for _, p := range problems.list {
			fmt.Fprintln(os.Stderr, "  - "+p)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: kubecheck validate FILE...
       kubecheck policy --release NAME --profile local|production --services a,b [--source-dir DIR] FILE...
       kubecheck check-config --bin-dir DIR FILE...
       kubecheck secret-files OFF ON
       kubecheck names FILE...`)
	os.Exit(2)
}
