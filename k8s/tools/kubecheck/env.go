package main

// The environment a container of a rendered pod template would see: envFrom ConfigMaps
// first, then env entries (later ones win, as in Kubernetes). Secret references are
// replaced by dummy values, since the point is which names a daemon gets, not the
// secrets themselves.

import (
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// EnvVar is one resolved variable and where its value came from.
type EnvVar struct {
	Value  string
	Origin string // "configmap", "value", "secret", "secret-file", "field"
	// "secret-file": <name>_FILE whose value is the path of a Secret key mounted in the
	// container (the chart's secretFiles); Secret is "<secret>/<key>" and ReadOnly tells
	// whether its volume is mounted read-only.
	Secret   string
	ReadOnly bool
}

func containerEnv(spec *corev1.PodSpec, c *corev1.Container, objects []*Object) (map[string]EnvVar, error) {
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
			if strings.HasSuffix(e.Name, "_FILE") && secretName.MatchString(e.Name) {
				if file, ok := secretFileAt(spec, c, e.Value); ok {
					env[e.Name] = EnvVar{Value: e.Value, Origin: "secret-file", Secret: file.Secret + "/" + file.Key, ReadOnly: file.ReadOnly}
				}
			}
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

// SecretFile is the Secret key behind a file of a container.
type SecretFile struct {
	Secret, Key string
	Volume      string // the pod's volume holding it
	ReadOnly    bool   // that volume is mounted readOnly
}

// secretFileAt finds the Secret key whose file is `file` in the container: a volume mounted
// at a directory above it (no subPath), a Secret volume or a projected volume's Secret
// source, whose item (or, without items, whose key) has that path below the mount.
func secretFileAt(spec *corev1.PodSpec, c *corev1.Container, file string) (SecretFile, bool) {
	file = path.Clean(file)
	for _, m := range c.VolumeMounts {
		dir := path.Clean(m.MountPath)
		if m.SubPath != "" || m.SubPathExpr != "" || !strings.HasPrefix(file, dir+"/") {
			continue
		}
		rel := strings.TrimPrefix(file, dir+"/")
		for _, v := range spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			var sources []corev1.SecretProjection
			if v.Secret != nil {
				sources = append(sources, corev1.SecretProjection{
					LocalObjectReference: corev1.LocalObjectReference{Name: v.Secret.SecretName}, Items: v.Secret.Items})
			}
			if v.Projected != nil {
				for _, s := range v.Projected.Sources {
					if s.Secret != nil {
						sources = append(sources, *s.Secret)
					}
				}
			}
			for _, s := range sources {
				if len(s.Items) == 0 && !strings.Contains(rel, "/") {
					return SecretFile{Secret: s.Name, Key: rel, Volume: v.Name, ReadOnly: m.ReadOnly}, true
				}
				for _, item := range s.Items {
					if path.Clean(item.Path) == rel {
						return SecretFile{Secret: s.Name, Key: item.Key, Volume: v.Name, ReadOnly: m.ReadOnly}, true
					}
				}
			}
		}
	}
	return SecretFile{}, false
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
