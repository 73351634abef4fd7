package main

// The checks the API server (and the controllers behind it) would make on these objects
// beyond their types: names, labels, selectors that select something, references between
// rendered objects (Service -> pods, HPA -> Deployment, Ingress -> Service, probes and
// targetPorts -> named container ports, envFrom -> ConfigMap), and the fields a type
// allows but a kind forbids (a Job's restartPolicy). Not the whole apiserver validation
// (that lives in k8s.io/kubernetes, which is not importable), but the part a chart gets
// wrong.

import (
	"fmt"
	"sort"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Problems collects findings, each prefixed with the object it is about.
type Problems struct{ list []string }

func (p *Problems) Add(o *Object, format string, args ...any) {
	prefix := ""
	if o != nil {
		prefix = o.Ref() + ": "
	}
	p.list = append(p.list, prefix+fmt.Sprintf(format, args...))
}

func (p *Problems) Empty() bool { return len(p.list) == 0 }

func Validate(objects []*Object, p *Problems) {
	seen := map[string]*Object{}
	for _, o := range objects {
		key := o.GVK.GroupKind().String() + "/" + o.Meta.Namespace + "/" + o.Name()
		if prev, dup := seen[key]; dup {
			p.Add(o, "defined twice (also in %s)", prev.Source)
		}
		seen[key] = o
		validateMeta(o, p)
		if t := podTemplate(o); t != nil {
			validatePodTemplate(o, t, objects, p)
		}
		switch v := o.Value.(type) {
		case *appsv1.Deployment:
			validateDeployment(o, v, p)
		case *batchv1.Job:
			validateJob(o, v, p)
		case *corev1.Service:
			validateService(o, v, objects, p)
		case *corev1.ConfigMap:
			for k := range v.Data {
				for _, msg := range validation.IsConfigMapKey(k) {
					p.Add(o, "data key %q: %s", k, msg)
				}
			}
		case *corev1.Secret:
			for k := range v.StringData {
				for _, msg := range validation.IsConfigMapKey(k) {
					p.Add(o, "stringData key %q: %s", k, msg)
				}
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			validateHPA(o, v, objects, p)
		case *policyv1.PodDisruptionBudget:
			validatePDB(o, v, objects, p)
		case *networkingv1.Ingress:
			validateIngress(o, v, objects, p)
		case *monitoringv1.ServiceMonitor:
			validateServiceMonitor(o, v, objects, p)
		case *monitoringv1.PrometheusRule:
			validatePrometheusRule(o, v, p)
		case *ScaledObject:
			validateScaledObject(o, v, objects, p)
		case *TriggerAuthentication:
			validateTriggerAuthentication(o, v, p)
		}
	}
}

func validateMeta(o *Object, p *Problems) {
	name := o.Name()
	if name == "" {
		p.Add(o, "metadata.name is empty")
		return
	}
	var msgs []string
	switch o.Kind() {
	case "Service":
		msgs = validation.IsDNS1035Label(name) // Services become DNS labels
	default:
		msgs = validation.IsDNS1123Subdomain(name)
	}
	for _, m := range msgs {
		p.Add(o, "metadata.name %q: %s", name, m)
	}
	// Labels end up in selectors of Jobs and pods, which must stay within 63 characters.
	if o.Kind() == "Deployment" || o.Kind() == "Job" {
		if len(name) > 63 {
			p.Add(o, "metadata.name %q is longer than 63 characters", name)
		}
	}
	validateLabels(o, "metadata.labels", o.Meta.Labels, p)
	for k := range o.Meta.Annotations {
		for _, m := range validation.IsQualifiedName(strings.ToLower(k)) {
			p.Add(o, "annotation key %q: %s", k, m)
		}
	}
}

func validateLabels(o *Object, field string, l map[string]string, p *Problems) {
	for k, v := range l {
		for _, m := range validation.IsQualifiedName(k) {
			p.Add(o, "%s key %q: %s", field, k, m)
		}
		for _, m := range validation.IsValidLabelValue(v) {
			p.Add(o, "%s %q value %q: %s", field, k, v, m)
		}
	}
}

func validateSelector(o *Object, field string, s *metav1.LabelSelector, p *Problems) labels.Selector {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		p.Add(o, "%s is empty (it would select everything or nothing)", field)
		return nil
	}
	validateLabels(o, field+".matchLabels", s.MatchLabels, p)
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		p.Add(o, "%s: %v", field, err)
		return nil
	}
	return sel
}

func validateDeployment(o *Object, d *appsv1.Deployment, p *Problems) {
	sel := validateSelector(o, "spec.selector", d.Spec.Selector, p)
	if sel != nil && !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		p.Add(o, "spec.selector does not match spec.template.metadata.labels")
	}
	if d.Spec.Replicas != nil && *d.Spec.Replicas < 0 {
		p.Add(o, "spec.replicas is negative")
	}
	if d.Spec.Template.Spec.RestartPolicy != "" && d.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		p.Add(o, "a Deployment's pods must have restartPolicy Always")
	}
	if s := d.Spec.Strategy; s.Type == appsv1.RecreateDeploymentStrategyType && s.RollingUpdate != nil {
		p.Add(o, "spec.strategy.rollingUpdate is set with type Recreate")
	}
}

func validateJob(o *Object, j *batchv1.Job, p *Problems) {
	rp := j.Spec.Template.Spec.RestartPolicy
	if rp != corev1.RestartPolicyNever && rp != corev1.RestartPolicyOnFailure {
		p.Add(o, "a Job's pods need restartPolicy Never or OnFailure, got %q", rp)
	}
	if j.Spec.BackoffLimit != nil && *j.Spec.BackoffLimit < 0 {
		p.Add(o, "spec.backoffLimit is negative")
	}
	if j.Spec.Selector != nil {
		p.Add(o, "spec.selector is generated by the API server; setting it needs manualSelector")
	}
}

func validatePodTemplate(o *Object, t *corev1.PodTemplateSpec, objects []*Object, p *Problems) {
	validateLabels(o, "spec.template.metadata.labels", t.Labels, p)
	spec := &t.Spec
	if len(spec.Containers) == 0 {
		p.Add(o, "the pod template has no containers")
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		for _, m := range validation.IsDNS1123Label(v.Name) {
			p.Add(o, "volume %q: %s", v.Name, m)
		}
		if volumes[v.Name] {
			p.Add(o, "volume %q defined twice", v.Name)
		}
		volumes[v.Name] = true
		if v.ConfigMap != nil && findObject(objects, "ConfigMap", v.ConfigMap.Name) == nil && !boolValue(v.ConfigMap.Optional) {
			p.Add(o, "volume %q mounts ConfigMap %q, which the chart does not render", v.Name, v.ConfigMap.Name)
		}
	}
	if spec.TerminationGracePeriodSeconds != nil && *spec.TerminationGracePeriodSeconds < 0 {
		p.Add(o, "terminationGracePeriodSeconds is negative")
	}
	names := map[string]bool{}
	all := append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...)
	for i := range all {
		c := &all[i]
		where := "container " + c.Name
		for _, m := range validation.IsDNS1123Label(c.Name) {
			p.Add(o, "%s: name: %s", where, m)
		}
		if names[c.Name] {
			p.Add(o, "%s: defined twice", where)
		}
		names[c.Name] = true
		if c.Image == "" {
			p.Add(o, "%s: image is empty", where)
		}
		switch c.ImagePullPolicy {
		case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
		default:
			p.Add(o, "%s: imagePullPolicy %q is not Always, IfNotPresent or Never", where, c.ImagePullPolicy)
		}
		ports := map[string]int32{}
		for _, port := range c.Ports {
			if port.ContainerPort < 1 || port.ContainerPort > 65535 {
				p.Add(o, "%s: containerPort %d out of range", where, port.ContainerPort)
			}
			if port.Name != "" {
				for _, m := range validation.IsValidPortName(port.Name) {
					p.Add(o, "%s: port name %q: %s", where, port.Name, m)
				}
				ports[port.Name] = port.ContainerPort
			}
			switch port.Protocol {
			case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
			default:
				p.Add(o, "%s: protocol %q", where, port.Protocol)
			}
		}
		for _, probe := range []struct {
			name  string
			probe *corev1.Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
			validateProbe(o, where+": "+probe.name, probe.probe, ports, p)
		}
		for _, e := range c.Env {
			validateEnvVar(o, where, e, objects, p)
		}
		for _, from := range c.EnvFrom {
			if from.ConfigMapRef != nil {
				if from.ConfigMapRef.Name == "" {
					p.Add(o, "%s: envFrom configMapRef without a name", where)
				} else if findObject(objects, "ConfigMap", from.ConfigMapRef.Name) == nil && !boolValue(from.ConfigMapRef.Optional) {
					p.Add(o, "%s: envFrom ConfigMap %q is not rendered by the chart", where, from.ConfigMapRef.Name)
				}
			}
			if from.SecretRef != nil && from.SecretRef.Name == "" {
				p.Add(o, "%s: envFrom secretRef without a name", where)
			}
			if from.ConfigMapRef == nil && from.SecretRef == nil {
				p.Add(o, "%s: envFrom entry with neither configMapRef nor secretRef", where)
			}
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				p.Add(o, "%s: volumeMount %q has no volume", where, m.Name)
			}
			if !strings.HasPrefix(m.MountPath, "/") {
				p.Add(o, "%s: mountPath %q is not absolute", where, m.MountPath)
			}
		}
		for name, limit := range c.Resources.Limits {
			if request, ok := c.Resources.Requests[name]; ok && request.Cmp(limit) > 0 {
				p.Add(o, "%s: %s request %s exceeds its limit %s", where, name, request.String(), limit.String())
			}
		}
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
			h := c.Lifecycle.PreStop
			if h.Exec == nil && h.HTTPGet == nil && h.TCPSocket == nil && h.Sleep == nil {
				p.Add(o, "%s: preStop hook has no action", where)
			}
		}
	}
}

func validateProbe(o *Object, where string, probe *corev1.Probe, ports map[string]int32, p *Problems) {
	if probe == nil {
		return
	}
	handlers := 0
	if probe.HTTPGet != nil {
		handlers++
		checkPortRef(o, where+": httpGet.port", probe.HTTPGet.Port, ports, p)
		if !strings.HasPrefix(probe.HTTPGet.Path, "/") {
			p.Add(o, "%s: httpGet.path %q does not start with /", where, probe.HTTPGet.Path)
		}
	}
	if probe.TCPSocket != nil {
		handlers++
		checkPortRef(o, where+": tcpSocket.port", probe.TCPSocket.Port, ports, p)
	}
	if probe.Exec != nil {
		handlers++
	}
	if probe.GRPC != nil {
		handlers++
	}
	if handlers != 1 {
		p.Add(o, "%s: needs exactly one handler, has %d", where, handlers)
	}
	if probe.PeriodSeconds < 0 || probe.TimeoutSeconds < 0 || probe.FailureThreshold < 0 || probe.InitialDelaySeconds < 0 {
		p.Add(o, "%s: negative timing", where)
	}
	if strings.Contains(where, "livenessProbe") && probe.SuccessThreshold > 1 {
		p.Add(o, "%s: successThreshold must be 1 for a liveness probe", where)
	}
}

func checkPortRef(o *Object, where string, port intstr.IntOrString, ports map[string]int32, p *Problems) {
	if port.Type == intstr.String {
		if _, ok := ports[port.StrVal]; !ok {
			p.Add(o, "%s: names port %q, which the container does not declare", where, port.StrVal)
		}
	} else if port.IntVal < 1 || port.IntVal > 65535 {
		p.Add(o, "%s: %d out of range", where, port.IntVal)
	}
}

func validateEnvVar(o *Object, where string, e corev1.EnvVar, objects []*Object, p *Problems) {
	for _, m := range validation.IsEnvVarName(e.Name) {
		p.Add(o, "%s: env %q: %s", where, e.Name, m)
	}
	if e.ValueFrom == nil {
		return
	}
	if e.Value != "" {
		p.Add(o, "%s: env %q has both value and valueFrom", where, e.Name)
	}
	sources := 0
	vf := e.ValueFrom
	if vf.SecretKeyRef != nil {
		sources++
		if vf.SecretKeyRef.Name == "" || vf.SecretKeyRef.Key == "" {
			p.Add(o, "%s: env %q: secretKeyRef needs name and key", where, e.Name)
		}
		if s := findObject(objects, "Secret", vf.SecretKeyRef.Name); s != nil {
			secret := s.Value.(*corev1.Secret)
			_, inData := secret.Data[vf.SecretKeyRef.Key]
			_, inString := secret.StringData[vf.SecretKeyRef.Key]
			if !inData && !inString && !boolValue(vf.SecretKeyRef.Optional) {
				p.Add(o, "%s: env %q: Secret %q has no key %q", where, e.Name, vf.SecretKeyRef.Name, vf.SecretKeyRef.Key)
			}
		}
	}
	if vf.ConfigMapKeyRef != nil {
		sources++
		cm := findObject(objects, "ConfigMap", vf.ConfigMapKeyRef.Name)
		if cm == nil {
			p.Add(o, "%s: env %q: ConfigMap %q is not rendered by the chart", where, e.Name, vf.ConfigMapKeyRef.Name)
		} else if _, ok := cm.Value.(*corev1.ConfigMap).Data[vf.ConfigMapKeyRef.Key]; !ok && !boolValue(vf.ConfigMapKeyRef.Optional) {
			p.Add(o, "%s: env %q: ConfigMap %q has no key %q", where, e.Name, vf.ConfigMapKeyRef.Name, vf.ConfigMapKeyRef.Key)
		}
	}
	if vf.FieldRef != nil {
		sources++
	}
	if vf.ResourceFieldRef != nil {
		sources++
	}
	if sources != 1 {
		p.Add(o, "%s: env %q: valueFrom needs exactly one source, has %d", where, e.Name, sources)
	}
}

// pods returns the workloads whose pod templates a selector matches.
func selectedWorkloads(sel labels.Selector, objects []*Object) []*Object {
	var out []*Object
	for _, w := range objects {
		if w.Kind() != "Deployment" && w.Kind() != "StatefulSet" {
			continue
		}
		if sel.Matches(labels.Set(podTemplate(w).Labels)) {
			out = append(out, w)
		}
	}
	return out
}

func validateService(o *Object, s *corev1.Service, objects []*Object, p *Problems) {
	if len(s.Spec.Ports) == 0 {
		p.Add(o, "has no ports")
	}
	for _, port := range s.Spec.Ports {
		if len(s.Spec.Ports) > 1 && port.Name == "" {
			p.Add(o, "port %d needs a name (the Service has several)", port.Port)
		}
		if port.Name != "" {
			for _, m := range validation.IsDNS1123Label(port.Name) {
				p.Add(o, "port name %q: %s", port.Name, m)
			}
		}
	}
	if s.Spec.Type == corev1.ServiceTypeExternalName || len(s.Spec.Selector) == 0 {
		return
	}
	validateLabels(o, "spec.selector", s.Spec.Selector, p)
	workloads := selectedWorkloads(labels.SelectorFromSet(s.Spec.Selector), objects)
	if len(workloads) == 0 {
		p.Add(o, "spec.selector %v matches no rendered pod template", s.Spec.Selector)
		return
	}
	for _, port := range s.Spec.Ports {
		if port.TargetPort.Type != intstr.String {
			continue
		}
		for _, w := range workloads {
			if !declaresPort(podTemplate(w), port.TargetPort.StrVal) {
				p.Add(o, "targetPort %q is not a container port of %s", port.TargetPort.StrVal, w.Ref())
			}
		}
	}
}

func declaresPort(t *corev1.PodTemplateSpec, name string) bool {
	for _, c := range t.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == name {
				return true
			}
		}
	}
	return false
}

func validateHPA(o *Object, h *autoscalingv2.HorizontalPodAutoscaler, objects []*Object, p *Problems) {
	ref := h.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" {
		p.Add(o, "scaleTargetRef is %s %s, expected apps/v1 Deployment", ref.APIVersion, ref.Kind)
	} else if findObject(objects, "Deployment", ref.Name) == nil {
		p.Add(o, "scaleTargetRef names Deployment %q, which the chart does not render", ref.Name)
	}
	if h.Spec.MaxReplicas < 1 {
		p.Add(o, "maxReplicas must be at least 1")
	}
	if h.Spec.MinReplicas != nil && (*h.Spec.MinReplicas < 1 || *h.Spec.MinReplicas > h.Spec.MaxReplicas) {
		p.Add(o, "minReplicas %d must be between 1 and maxReplicas %d", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
	}
	for _, m := range h.Spec.Metrics {
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType:
			if m.Resource == nil {
				p.Add(o, "metric of type Resource without resource")
				continue
			}
			if m.Resource.Target.Type == autoscalingv2.UtilizationMetricType && m.Resource.Target.AverageUtilization == nil {
				p.Add(o, "Utilization target without averageUtilization")
			}
			if d := findObject(objects, "Deployment", ref.Name); d != nil {
				for _, c := range podTemplate(d).Spec.Containers {
					if _, ok := c.Resources.Requests[m.Resource.Name]; !ok && m.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
						p.Add(o, "scales on %s utilization but container %s of %s requests no %s", m.Resource.Name, c.Name, d.Ref(), m.Resource.Name)
					}
				}
			}
		case autoscalingv2.PodsMetricSourceType, autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType,
			autoscalingv2.ContainerResourceMetricSourceType:
		default:
			p.Add(o, "unknown metric type %q", m.Type)
		}
	}
}

func validatePDB(o *Object, d *policyv1.PodDisruptionBudget, objects []*Object, p *Problems) {
	if (d.Spec.MinAvailable == nil) == (d.Spec.MaxUnavailable == nil) {
		p.Add(o, "set exactly one of minAvailable and maxUnavailable")
	}
	sel := validateSelector(o, "spec.selector", d.Spec.Selector, p)
	if sel != nil && len(selectedWorkloads(sel, objects)) == 0 {
		p.Add(o, "spec.selector matches no rendered pod template")
	}
}

func validateIngress(o *Object, ing *networkingv1.Ingress, objects []*Object, p *Problems) {
	if len(ing.Spec.Rules) == 0 && ing.Spec.DefaultBackend == nil {
		p.Add(o, "has neither rules nor a default backend")
	}
	for _, rule := range ing.Spec.Rules {
		if rule.Host != "" {
			for _, m := range validation.IsDNS1123Subdomain(strings.TrimPrefix(rule.Host, "*.")) {
				p.Add(o, "host %q: %s", rule.Host, m)
			}
		}
		if rule.HTTP == nil {
			continue
		}
		for _, path := range rule.HTTP.Paths {
			if path.PathType == nil {
				p.Add(o, "path %q needs a pathType", path.Path)
			}
			if !strings.HasPrefix(path.Path, "/") {
				p.Add(o, "path %q does not start with /", path.Path)
			}
			checkBackend(o, path.Backend, objects, p)
		}
	}
	for _, tls := range ing.Spec.TLS {
		if tls.SecretName == "" {
			p.Add(o, "tls entry without secretName")
		}
	}
}

func checkBackend(o *Object, b networkingv1.IngressBackend, objects []*Object, p *Problems) {
	if b.Service == nil {
		p.Add(o, "backend without a service")
		return
	}
	svc := findObject(objects, "Service", b.Service.Name)
	if svc == nil {
		p.Add(o, "backend Service %q is not rendered by the chart", b.Service.Name)
		return
	}
	if (b.Service.Port.Name == "") == (b.Service.Port.Number == 0) {
		p.Add(o, "backend port needs exactly one of name and number")
		return
	}
	for _, port := range svc.Value.(*corev1.Service).Spec.Ports {
		if (b.Service.Port.Name != "" && port.Name == b.Service.Port.Name) || (b.Service.Port.Number != 0 && port.Port == b.Service.Port.Number) {
			return
		}
	}
	p.Add(o, "backend port %v is not a port of Service %q", b.Service.Port, b.Service.Name)
}

func validateServiceMonitor(o *Object, sm *monitoringv1.ServiceMonitor, objects []*Object, p *Problems) {
	if len(sm.Spec.Endpoints) == 0 {
		p.Add(o, "has no endpoints")
	}
	sel := validateSelector(o, "spec.selector", &sm.Spec.Selector, p)
	if sel == nil {
		return
	}
	var services []*corev1.Service
	for _, s := range objects {
		if svc, ok := s.Value.(*corev1.Service); ok && sel.Matches(labels.Set(s.Meta.Labels)) {
			services = append(services, svc)
		}
	}
	if len(services) == 0 {
		p.Add(o, "spec.selector matches no rendered Service")
	}
	for _, ep := range sm.Spec.Endpoints {
		if ep.Port == "" {
			p.Add(o, "endpoint needs a named port")
			continue
		}
		for _, svc := range services {
			found := false
			for _, port := range svc.Spec.Ports {
				found = found || port.Name == ep.Port
			}
			if !found {
				p.Add(o, "endpoint port %q is not a port of Service %s", ep.Port, svc.Name)
			}
		}
		if ep.Path != "" && !strings.HasPrefix(ep.Path, "/") {
			p.Add(o, "endpoint path %q does not start with /", ep.Path)
		}
		for _, d := range []monitoringv1.Duration{ep.Interval, ep.ScrapeTimeout} {
			if d != "" {
				if _, err := parsePromDuration(string(d)); err != nil {
					p.Add(o, "endpoint duration %q: %v", d, err)
				}
			}
		}
	}
}

func validatePrometheusRule(o *Object, r *monitoringv1.PrometheusRule, p *Problems) {
	if len(r.Spec.Groups) == 0 {
		p.Add(o, "has no rule groups")
	}
	groups := map[string]bool{}
	for _, g := range r.Spec.Groups {
		if g.Name == "" || groups[g.Name] {
			p.Add(o, "group name %q is empty or repeated", g.Name)
		}
		groups[g.Name] = true
		for _, rule := range g.Rules {
			if (rule.Alert == "") == (rule.Record == "") {
				p.Add(o, "group %s: a rule needs exactly one of alert and record", g.Name)
			}
			if strings.TrimSpace(rule.Expr.String()) == "" {
				p.Add(o, "group %s: rule %s%s has no expr", g.Name, rule.Alert, rule.Record)
			}
			if err := checkBalanced(rule.Expr.String()); err != nil {
				p.Add(o, "group %s: rule %s: expr: %v", g.Name, rule.Alert, err)
			}
			if rule.For != nil {
				if _, err := parsePromDuration(string(*rule.For)); err != nil {
					p.Add(o, "group %s: rule %s: for %q: %v", g.Name, rule.Alert, *rule.For, err)
				}
			}
			if rule.Alert != "" && rule.Annotations["summary"] == "" {
				p.Add(o, "group %s: alert %s has no summary annotation", g.Name, rule.Alert)
			}
		}
	}
}

// checkBalanced catches the commonest PromQL slip in a template: unbalanced brackets.
func checkBalanced(expr string) error {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := rune(0)
	for _, r := range expr {
		if inString != 0 {
			if r == inString {
				inString = 0
			}
			continue
		}
		switch r {
		case '"', '\'', '`':
			inString = r
		case '(', '[', '{':
			stack = append(stack, r)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				return fmt.Errorf("unbalanced %q", r)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) != 0 || inString != 0 {
		return fmt.Errorf("unclosed %q", string(stack))
	}
	return nil
}

// parsePromDuration accepts Prometheus durations such as 30s, 5m, 1h30m.
func parsePromDuration(s string) (time.Duration, error) {
	if strings.ContainsAny(s, "dwy") {
		return 0, fmt.Errorf("use s, m or h in this chart")
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive")
	}
	return d, nil
}

func findObject(objects []*Object, kind, name string) *Object {
	for _, o := range objects {
		if o.Kind() == kind && o.Name() == name {
			return o
		}
	}
	return nil
}

func boolValue(b *bool) bool { return b != nil && *b }

func summary(objects []*Object) string {
	counts := map[string]int{}
	for _, o := range objects {
		counts[o.Kind()]++
	}
	var kinds []string
	for k := range counts {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}
