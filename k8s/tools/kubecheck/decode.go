package main

// Decoding rendered manifests into the real Kubernetes API types, as strictly as the API
// server does with fieldValidation=Strict: YAML duplicate keys, unknown or misspelt
// fields (case-sensitive, unlike encoding/json) and wrongly typed values all fail.

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Object is one decoded manifest: its typed value and where it came from.
type Object struct {
	Source string // "file.yaml#3 (# Source: paypipe/templates/deployment.yaml)"
	GVK    schema.GroupVersionKind
	Meta   *metav1.ObjectMeta
	Value  runtime.Object
}

func (o *Object) Kind() string { return o.GVK.Kind }
func (o *Object) Name() string { return o.Meta.Name }
func (o *Object) Ref() string  { return o.GVK.Kind + "/" + o.Meta.Name }

var scheme = newScheme()

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, autoscalingv2.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme, rbacv1.AddToScheme, monitoringv1.AddToScheme,
		addKedaToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

var helmSource = regexp.MustCompile(`(?m)^# Source: (.+)$`)

// splitDocuments splits a multi-document YAML stream on lines that are exactly "---".
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var current bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			docs = append(docs, append([]byte(nil), current.Bytes()...))
			current.Reset()
			continue
		}
		current.WriteString(line)
	}
	return append(docs, current.Bytes())
}

func isBlank(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

// LoadFile decodes every document of a file. All problems are returned, not just the first.
func LoadFile(path string) ([]*Object, []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []string{err.Error()}
	}
	var objects []*Object
	var problems []string
	for i, doc := range splitDocuments(data) {
		if isBlank(doc) {
			continue
		}
		source := fmt.Sprintf("%s#%d", path, i)
		if m := helmSource.FindSubmatch(doc); m != nil {
			source += " (" + string(m[1]) + ")"
		}
		obj, errs := decode(doc, source)
		for _, e := range errs {
			problems = append(problems, source+": "+e)
		}
		if obj != nil {
			objects = append(objects, obj)
		}
	}
	return objects, problems
}

func decode(doc []byte, source string) (*Object, []string) {
	// Duplicate keys are an error here; the API server rejects them too.
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, []string{"invalid YAML: " + err.Error()}
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &head); err != nil {
		return nil, []string{"not an object: " + err.Error()}
	}
	if head.APIVersion == "" || head.Kind == "" {
		return nil, []string{"apiVersion and kind are required"}
	}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil {
		return nil, []string{"bad apiVersion: " + err.Error()}
	}
	gvk := gv.WithKind(head.Kind)
	value, err := scheme.New(gvk)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s is not a type kubecheck knows (a misspelt kind or apiVersion, or a kind this chart should not render)", gvk)}
	}
	strict, err := sigsjson.UnmarshalStrict(js, value, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		return nil, []string{"does not decode as " + gvk.String() + ": " + err.Error()}
	}
	var problems []string
	for _, e := range strict {
		problems = append(problems, gvk.Kind+": "+e.Error())
	}
	meta := objectMeta(value)
	if meta == nil {
		return nil, append(problems, "has no metadata")
	}
	return &Object{Source: source, GVK: gvk, Meta: meta, Value: value}, problems
}

// objectMeta returns a pointer to the object's own metadata (every API type embeds it).
func objectMeta(obj runtime.Object) *metav1.ObjectMeta {
	if a, ok := obj.(metav1.ObjectMetaAccessor); ok {
		if m, ok := a.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return m
		}
	}
	return nil
}

// podTemplate returns the pod template of a workload, or nil.
func podTemplate(o *Object) *corev1.PodTemplateSpec {
	switch v := o.Value.(type) {
	case *appsv1.Deployment:
		return &v.Spec.Template
	case *appsv1.StatefulSet:
		return &v.Spec.Template
	case *batchv1.Job:
		return &v.Spec.Template
	case *batchv1.CronJob:
		return &v.Spec.JobTemplate.Spec.Template
	}
	return nil
}
