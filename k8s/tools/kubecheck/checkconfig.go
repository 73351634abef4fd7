package main

// Runs each daemon the chart starts with exactly the environment the chart gives it
// (Secret references replaced by dummy values, Secret files by files of dummy values) and its `check-config` subcommand, which
// reads the configuration the way `serve` does and exits 2 on any bad value or any
// PAYPIPE_ variable the daemon does not know. A misspelt variable in the chart, or one
// the daemon dropped, fails here instead of in a crash-looping pod.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func CheckConfig(objects []*Object, binDir string, p *Problems) int {
	// The files of the chart's secretFiles, written here with dummy values (and the
	// trailing newline a file usually ends in) so the daemons read them as in the pod.
	secretDir, err := os.MkdirTemp("", "kubecheck-secrets-")
	if err != nil {
		p.Add(nil, "a directory for secret files: %v", err)
		return 0
	}
	defer os.RemoveAll(secretDir)
	checked := 0
	for _, o := range workloads(objects) {
		t := podTemplate(o)
		for _, c := range append(append([]corev1.Container{}, t.Spec.InitContainers...), t.Spec.Containers...) {
			bin, _ := binaryOf(&c)
			if bin == "" {
				p.Add(o, "container %s: no command; cannot tell which daemon it runs", c.Name)
				continue
			}
			env, err := containerEnv(&t.Spec, &c, objects)
			if err != nil {
				p.Add(o, "container %s: %v", c.Name, err)
				continue
			}
			if err := writeSecretFiles(env, secretDir); err != nil {
				p.Add(o, "container %s: %v", c.Name, err)
				continue
			}
			if isExternalProgram(bin) {
				fmt.Printf("--  %-34s %-26s %s is not ours (flags, no PAYPIPE_* configuration): not run\n", o.Ref(), c.Name, bin)
				continue
			}
			exe := filepath.Join(binDir, bin)
			if _, err := os.Stat(exe); err != nil {
				p.Add(o, "container %s runs %s, which is not built in %s (build the daemons and paypipe-admin first)", c.Name, bin, binDir)
				continue
			}
			// paypipe-admin has no check-config; `wait-for-kafka --timeout-ms 0` reads and
			// checks the environment (exit 2 on a bad or unknown variable), builds the
			// Kafka client from it, then gives up at once without connecting (exit 1).
			args, wantCode, wantText := []string{"check-config"}, 0, "configuration OK"
			if bin == "paypipe-admin" {
				args, wantCode, wantText = []string{"wait-for-kafka", "--timeout-ms", "0"}, 1, "did not answer in time"
			}
			code, output := run(exe, args, env)
			if code != wantCode || !strings.Contains(output, wantText) {
				p.Add(o, "container %s: `%s %s` with the chart's %d variables exited %d (want %d):\n%s",
					c.Name, bin, strings.Join(args, " "), len(env), code, wantCode, indent(output))
				continue
			}
			fmt.Printf("ok  %-34s %-26s %s accepts its %d variables\n", o.Ref(), c.Name, bin, len(env))
			checked++
		}
	}
	return checked
}

// writeSecretFiles points every secret-file variable at a file of its own holding a dummy value.
func writeSecretFiles(env map[string]EnvVar, dir string) error {
	for _, k := range sortedKeys(env) {
		if env[k].Origin != "secret-file" {
			continue
		}
		file := filepath.Join(dir, k)
		if err := os.WriteFile(file, []byte(dummySecret(strings.TrimSuffix(k, "_FILE"))+"\n"), 0o600); err != nil {
			return err
		}
		v := env[k]
		v.Value = file
		env[k] = v
	}
	return nil
}

func run(exe string, args []string, env map[string]EnvVar) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	// Only the chart's variables (plus PATH), so nothing from this shell leaks in.
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	for _, k := range sortedKeys(env) {
		cmd.Env = append(cmd.Env, k+"="+env[k].Value)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, out.String() + "\n(timed out after 30 s)"
	}
	if err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), out.String()
		}
		return -1, out.String() + err.Error()
	}
	return 0, out.String()
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	return "      " + strings.ReplaceAll(s, "\n", "\n      ")
}
