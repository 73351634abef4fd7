package main

// kubecheck secret-files OFF ON: the chart's secretFiles option changes how credentials
// reach the containers, and nothing else. OFF is a rendering with it off, ON the same
// values with it on. In every container of ours, each variable OFF takes from a
// secretKeyRef is gone in ON, replaced by <variable>_FILE naming a file of a volume
// mounted read-only whose Secret item is the same Secret and key. Every other env entry,
// mount and volume, and every other object, is the same in both.

import (
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// SecretFiles returns how many variables moved from a secretKeyRef to a file.
func SecretFiles(off, on []*Object, p *Problems) int {
	onByRef := map[string]*Object{}
	for _, o := range on {
		onByRef[o.Ref()] = o
	}
	if len(on) != len(off) {
		p.Add(nil, "%d objects rendered with secretFiles off, %d with it on", len(off), len(on))
	}
	moved := 0
	for _, a := range off {
		b := onByRef[a.Ref()]
		if b == nil {
			p.Add(a, "is not rendered with secretFiles on")
			continue
		}
		ta, tb := podTemplate(a), podTemplate(b)
		if ta == nil {
			if !reflect.DeepEqual(a.Value, b.Value) {
				p.Add(b, "differs with secretFiles on (only pod templates may)")
			}
			continue
		}
		// Copies from which what the option may change is taken out; the rest must be equal.
		sa, sb := ta.DeepCopy(), tb.DeepCopy()
		ca := append(append([]*corev1.Container{}, pointers(sa.Spec.InitContainers)...), pointers(sa.Spec.Containers)...)
		cb := append(append([]*corev1.Container{}, pointers(sb.Spec.InitContainers)...), pointers(sb.Spec.Containers)...)
		if len(ca) != len(cb) {
			p.Add(b, "has %d containers with secretFiles on, %d with it off", len(cb), len(ca))
			continue
		}
		added := map[string]bool{} // volumes holding the files
		for i := range ca {
			if bin, _ := binaryOf(ca[i]); isExternalProgram(bin) {
				continue // not ours: it keeps its variables (compared whole below)
			}
			moved += movedToFiles(b, &sb.Spec, ca[i], cb[i], added, p)
		}
		for _, c := range cb {
			c.VolumeMounts = without(c.VolumeMounts, func(m corev1.VolumeMount) bool { return added[m.Name] })
		}
		sb.Spec.Volumes = without(sb.Spec.Volumes, func(v corev1.Volume) bool { return added[v.Name] })
		if !reflect.DeepEqual(sa, sb) {
			p.Add(b, "its pod template differs with secretFiles on beyond the credentials' variables and their volumes")
		}
	}
	return moved
}

// movedToFiles checks one container's credentials and takes them out of both copies,
// noting the volumes that hold the files in `added`.
func movedToFiles(o *Object, spec *corev1.PodSpec, off, on *corev1.Container, added map[string]bool, p *Problems) int {
	where := "container " + on.Name
	refs := map[string]*corev1.SecretKeySelector{}
	off.Env = without(off.Env, func(e corev1.EnvVar) bool {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			refs[e.Name] = e.ValueFrom.SecretKeyRef
			return true
		}
		return false
	})
	found := map[string]bool{}
	on.Env = without(on.Env, func(e corev1.EnvVar) bool {
		if _, ok := refs[e.Name]; ok {
			p.Add(o, "%s: %s is still set as a variable with secretFiles on", where, e.Name)
			return true
		}
		variable := strings.TrimSuffix(e.Name, "_FILE")
		ref, ok := refs[variable]
		if !ok || variable == e.Name || e.ValueFrom != nil {
			return false
		}
		found[variable] = true
		file, ok := secretFileAt(spec, on, e.Value)
		switch {
		case !ok:
			p.Add(o, "%s: %s=%s is no file of a Secret volume mounted in the container", where, e.Name, e.Value)
		case file.Secret != ref.Name || file.Key != ref.Key:
			p.Add(o, "%s: %s=%s holds Secret %s key %s, but %s came from Secret %s key %s",
				where, e.Name, e.Value, file.Secret, file.Key, variable, ref.Name, ref.Key)
		case !file.ReadOnly:
			p.Add(o, "%s: the volume %s holding %s is not mounted readOnly", where, file.Volume, e.Value)
		default:
			added[file.Volume] = true
		}
		return true
	})
	for _, variable := range sortedKeys(refs) {
		if !found[variable] {
			p.Add(o, "%s: %s comes from a secretKeyRef with secretFiles off, but no %s_FILE replaces it", where, variable, variable)
		}
	}
	return len(found)
}

func pointers[T any](list []T) []*T {
	out := make([]*T, len(list))
	for i := range list {
		out[i] = &list[i]
	}
	return out
}

func without[T any](list []T, drop func(T) bool) []T {
	var out []T
	for _, x := range list {
		if !drop(x) {
			out = append(out, x)
		}
	}
	return out
}
