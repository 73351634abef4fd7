package main

// The environment a container of a rendered pod template would see: envFrom ConfigMaps
// first, then env entries (later ones win, as in Kubernetes). Secret references are
// replaced by dummy values, since the point is which names a daemon gets, not the
// secrets themselves.

import (
	"fmt"
	"path"
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// EnvVar is one resolved variable and where its value came from.
type EnvVar struct {
	Value  string
	Origin string // "configmap", "value", "secret", "field"
}

func containerEnv(c *corev1.Container, objects []*Object) (map[string]EnvVar, error) {
	env := map[string]EnvVar{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm := findObject(objects, "ConfigMap", from.ConfigMapRef.Name)
			if cm == nil {
				return nil, fmt.Errorf("envFrom ConfigMap %q is not rendered", from.ConfigMapRef.Name)
			}
			for k, v := range cm.Value.(*corev1.ConfigMap).Data {
				env[from.Prefix+k] = EnvVar{Value: v, Origin: "configmap"}
			}
		case from.SecretRef != nil:
			return nil, fmt.Errorf("envFrom Secret %q: the keys of an outside Secret are unknown here; name each variable with secretKeyRef", from.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = EnvVar{Value: e.Value, Origin: "value"}
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = EnvVar{Value: dummySecret(e.Name), Origin: "secret"}
		case e.ValueFrom.ConfigMapKeyRef != nil:
			cm := findObject(objects, "ConfigMap", e.ValueFrom.ConfigMapKeyRef.Name)
			if cm == nil {
				return nil, fmt.Errorf("env %s: ConfigMap %q is not rendered", e.Name, e.ValueFrom.ConfigMapKeyRef.Name)
			}
			env[e.Name] = EnvVar{Value: cm.Value.(*corev1.ConfigMap).Data[e.ValueFrom.ConfigMapKeyRef.Key], Origin: "configmap"}
		default:
			env[e.Name] = EnvVar{Value: "field-value", Origin: "field"}
		}
	}
	return env, nil
}

// dummySecret is a value of a plausible shape for each kind of secret, so a daemon that
// checks a token's form (a Telegram bot token is "<digits>:<text>") accepts it.
func dummySecret(name string) string {
	return "123456789:check-config-dummy-" + name
}

// binaryOf is the program a container runs: the base name of command[0], or of args[0]
// when the image's entrypoint is used.
func binaryOf(c *corev1.Container) (string, []string) {
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(argv) == 0 {
		return "", nil
	}
	return path.Base(argv[0]), argv[1:]
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// workloads returns the objects that have a pod template, in rendering order.
func workloads(objects []*Object) []*Object {
	var out []*Object
	for _, o := range objects {
		if podTemplate(o) != nil {
			out = append(out, o)
		}
	}
	return out
}
