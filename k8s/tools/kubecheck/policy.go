package main

// The paypipe chart's own rules, asserted on its rendered output. Each rule says why.

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

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
)

type PolicyOptions struct {
	Release   string   // Helm release name the manifest was rendered with
	Profile   string   // local | production
	Services  []string // Deployments the rendering must hold, by service name
	SourceDir string   // repository root: metric names in alerts must exist in its code
}

// Variable names that hold credentials: their values must come from a Secret.
var secretName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|TOKEN|SECRET|AUTHORIZATION|API_KEY|APIKEY|CREDENTIAL|PRIVATE_KEY|SASL_USERNAME)`)

// Values that look like credentials wherever they appear in plain text.
var secretValues = []*regexp.Regexp{
	regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^/@:\s]+:[^@/\s]+@`),                 // user:password@ in a URL or DSN
	regexp.MustCompile(`(?i)\bpassword\s*=`),                                            // libpq key=value password, sasl.password=
	regexp.MustCompile(`(?i)sasl\.(username|password|oauthbearer\.client\.secret)\s*=`), // librdkafka credentials inline
	regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}`),                         // an Authorization header value
	regexp.MustCompile(`\b[0-9]{6,12}:[A-Za-z0-9_-]{30,}\b`),                            // a Telegram bot token
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
}

// Programs of other projects the chart may deploy beside the daemons, by the Deployment
// name after "<release>-": the binary they run. They follow the pod rules (non-root,
// read-only, credentials from Secrets) but take flags, not PAYPIPE_* variables, and serve
// their own probes; checkConfig leaves them out.
var externalComponents = map[string]string{"kafka-exporter": "kafka_exporter"}

func isExternalProgram(bin string) bool {
	for _, b := range externalComponents {
		if b == bin {
			return true
		}
	}
	return false
}

// Variables of the libraries inside the daemons, beside PAYPIPE_*: libpq's PG* (e.g.
// PGSSLMODE through extraEnv).
var libraryVariable = regexp.MustCompile(`^PG[A-Z]+$`)

func Policy(objects []*Object, opt PolicyOptions, p *Problems) {
	deployments := map[string]*Object{}
	for _, o := range objects {
		if o.Kind() != "Deployment" {
			continue
		}
		if bin, ok := externalComponents[strings.TrimPrefix(o.Name(), opt.Release+"-")]; ok {
			if got, _ := binaryOf(&podTemplate(o).Spec.Containers[0]); got != bin {
				p.Add(o, "its first container runs %q, expected %q", got, bin)
			}
			continue
		}
		deployments[o.Name()] = o
	}
	// The rendering holds exactly the enabled services, named <release>-<service>, each
	// running its own binary: the runbook's `deploy/<release>-<service>` depends on it.
	want := map[string]bool{}
	for _, s := range opt.Services {
		name := opt.Release + "-" + s
		want[name] = true
		d, ok := deployments[name]
		if !ok {
			p.Add(nil, "Deployment %s (service %s) is missing", name, s)
			continue
		}
		bin, _ := binaryOf(&podTemplate(d).Spec.Containers[0])
		if bin != s {
			p.Add(d, "its first container runs %q, expected %q", bin, s)
		}
	}
	for name, d := range deployments {
		if !want[name] {
			p.Add(d, "not one of the expected services %v", opt.Services)
		}
	}

	for _, o := range workloads(objects) {
		podRules(o, objects, opt, p)
	}
	for _, d := range deployments {
		deploymentRules(d, objects, opt, p)
	}
	secretRules(objects, opt, p)
	hookRules(objects, deployments, opt, p)
	alertRules(objects, opt, p)
	ingressRules(objects, opt, p)
	adminOffIngress(objects, p)
	networkPolicyRules(objects, deployments, opt, p)
}

// adminOffIngress: admin routes (/v1/admin/..., dlq-retrier's /v1/parked) are for
// operators inside the cluster; no Ingress path may reach them, nor a catch-all.
var adminPrefixes = []string{"/v1/admin", "/v1/parked"}

func adminOffIngress(objects []*Object, p *Problems) {
	for _, o := range objects {
		ing, ok := o.Value.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		if ing.Spec.DefaultBackend != nil {
			p.Add(o, "has a defaultBackend: every route, admin routes included, would be public")
		}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, path := range rule.HTTP.Paths {
				prefix := strings.TrimSuffix(path.Path, "/")
				for _, admin := range adminPrefixes {
					if prefix == "" || admin == prefix || strings.HasPrefix(admin, prefix+"/") ||
						strings.HasPrefix(prefix, admin) {
						p.Add(o, "path %q routes admin route %s to the outside: admin routes stay off the Ingress", path.Path, admin)
					}
				}
			}
		}
	}
}

// Daemons that call out of the cluster (Telegram, the analytics webhook): the only ones
// whose NetworkPolicy may allow egress to an ipBlock.
var outsideCallers = map[string]bool{"notification-sender": true, "data-platform-forwarder": true}

// networkPolicyRules: in production every daemon has its own NetworkPolicy with both
// directions; wherever they are rendered, only the daemons that call out reach an
// ipBlock, and only a daemon with an Ingress admits traffic beyond Prometheus's.
func networkPolicyRules(objects []*Object, deployments map[string]*Object, opt PolicyOptions, p *Problems) {
	policies := []*networkingv1.NetworkPolicy{}
	owners := []*Object{}
	for _, o := range objects {
		if np, ok := o.Value.(*networkingv1.NetworkPolicy); ok {
			policies = append(policies, np)
			owners = append(owners, o)
		}
	}
	if len(policies) == 0 {
		if opt.Profile == "production" {
			p.Add(nil, "no NetworkPolicy is rendered: in production every daemon needs one (networkPolicy.enabled)")
		}
		return
	}
	for name, d := range deployments {
		service := strings.TrimPrefix(name, opt.Release+"-")
		podLabels := labels.Set(podTemplate(d).Labels)
		var mine []int
		for i, np := range policies {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil {
				p.Add(owners[i], "spec.podSelector: %v", err)
				continue
			}
			if sel.Matches(podLabels) {
				mine = append(mine, i)
			}
		}
		if len(mine) != 1 {
			p.Add(d, "is selected by %d NetworkPolicies, expected exactly its own", len(mine))
			continue
		}
		np, o := policies[mine[0]], owners[mine[0]]
		types := map[networkingv1.PolicyType]bool{}
		for _, t := range np.Spec.PolicyTypes {
			types[t] = true
		}
		if !types[networkingv1.PolicyTypeIngress] || !types[networkingv1.PolicyTypeEgress] {
			p.Add(o, "policyTypes must be [Ingress, Egress] (both directions closed by default)")
		}
		for _, rule := range np.Spec.Egress {
			for _, peer := range rule.To {
				if peer.IPBlock != nil && !outsideCallers[service] && !privateCIDR(peer.IPBlock.CIDR) {
					p.Add(o, "%s may reach ipBlock %s outside the private networks: only %v call out",
						service, peer.IPBlock.CIDR, keys(outsideCallers))
				}
			}
		}
		if len(np.Spec.Egress) == 0 {
			p.Add(o, "no egress rule: %s needs DNS, PostgreSQL and Kafka", service)
		}
		for i, rule := range np.Spec.Ingress {
			// An empty from or ports admits every pod, or every port.
			if len(rule.From) == 0 || len(rule.Ports) == 0 {
				p.Add(o, "spec.ingress[%d] admits anyone (from and ports must both be set)", i)
			}
		}
	}
}

// privateCIDR: the block lies within the private ranges (RFC 1918, RFC 4193), where
// PostgreSQL and Kafka outside the cluster live; anything else reaches the internet.
func privateCIDR(cidr string) bool {
	_, block, err := net.ParseCIDR(cidr)
	if err != nil {
		return false
	}
	ones, _ := block.Mask.Size()
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"} {
		_, private, _ := net.ParseCIDR(r)
		pOnes, _ := private.Mask.Size()
		if private.Contains(block.IP) && ones >= pOnes {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ingressRules: every path an Ingress routes to a service is the prefix of one of that
// service's HTTP routes (router.get("/v1/...") and the like in services/<name>/).
var routeLiteral = regexp.MustCompile(`"(/v1/[^"]*)"`)

func ingressRules(objects []*Object, opt PolicyOptions, p *Problems) {
	if opt.SourceDir == "" {
		return
	}
	for _, o := range objects {
		ing, ok := o.Value.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, path := range rule.HTTP.Paths {
				if path.Backend.Service == nil {
					continue
				}
				service := strings.TrimPrefix(path.Backend.Service.Name, opt.Release+"-")
				routes, err := serviceRoutes(filepath.Join(opt.SourceDir, "services", service))
				if err != nil {
					p.Add(o, "reading the routes of %s: %v", service, err)
					continue
				}
				if len(routes) == 0 {
					// The health-only skeleton of a service still being built serves no
					// route at all: said out loud, and checked as soon as it has one.
					fmt.Printf("pending: %s has no HTTP route yet; %s's path %s is checked once it has\n", service, o.Ref(), path.Path)
					continue
				}
				found := false
				for _, r := range routes {
					found = found || r == path.Path || strings.HasPrefix(r, strings.TrimSuffix(path.Path, "/")+"/")
				}
				if !found {
					p.Add(o, "path %s matches no route of %s (%v)", path.Path, service, routes)
				}
			}
		}
	}
}

func serviceRoutes(dir string) ([]string, error) {
	var routes []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "tests" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".cpp") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range routeLiteral.FindAllSubmatch(data, -1) {
			routes = append(routes, string(m[1]))
		}
		return nil
	})
	return routes, err
}

// podRules hold for every pod the chart starts: daemons and hook Jobs alike.
func podRules(o *Object, objects []*Object, opt PolicyOptions, p *Problems) {
	t := podTemplate(o)
	spec := &t.Spec
	// No Kubernetes *_SERVICE_HOST/_PORT variables: a PAYPIPE_-prefixed one would make a
	// daemon refuse to start, and none of them is needed.
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		p.Add(o, "enableServiceLinks must be false")
	}
	// The daemons never call the Kubernetes API.
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		p.Add(o, "automountServiceAccountToken must be false")
	}
	podSC := spec.SecurityContext
	if podSC == nil {
		podSC = &corev1.PodSecurityContext{}
	}
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		where := "container " + c.Name
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		// Non-root, as the kubelet will enforce it: runAsNonRoot true, and a numeric
		// non-zero user (a user name in the image cannot be verified by the kubelet).
		nonRoot := firstBool(sc.RunAsNonRoot, podSC.RunAsNonRoot)
		user := firstInt64(sc.RunAsUser, podSC.RunAsUser)
		if nonRoot == nil || !*nonRoot {
			p.Add(o, "%s: runAsNonRoot must be true", where)
		}
		if user == nil || *user == 0 {
			p.Add(o, "%s: runAsUser must be set to a non-zero uid", where)
		}
		if group := firstInt64(sc.RunAsGroup, podSC.RunAsGroup); group != nil && *group == 0 {
			p.Add(o, "%s: runAsGroup 0 (root group)", where)
		}
		if sc.Privileged != nil && *sc.Privileged {
			p.Add(o, "%s: privileged", where)
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			p.Add(o, "%s: readOnlyRootFilesystem must be true", where)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			p.Add(o, "%s: allowPrivilegeEscalation must be false", where)
		}
		if sc.Capabilities == nil || !containsCap(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			p.Add(o, "%s: capabilities must drop ALL and add none", where)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = podSC.SeccompProfile
		}
		if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
			p.Add(o, "%s: seccompProfile must be RuntimeDefault", where)
		}
		// Requests let the scheduler place pods and the HPA compute utilisation; a memory
		// limit keeps one leaking daemon from starving its neighbours.
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				p.Add(o, "%s: no %s request", where, r)
			}
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			p.Add(o, "%s: no memory limit", where)
		}
		env, err := containerEnv(spec, &c, objects)
		if err != nil {
			p.Add(o, "%s: %v", where, err)
			continue
		}
		if bin, _ := binaryOf(&c); isExternalProgram(bin) {
			continue
		}
		for _, name := range sortedKeys(env) {
			if !strings.HasPrefix(name, "PAYPIPE_") && !libraryVariable.MatchString(name) {
				p.Add(o, "%s: variable %s does not start with PAYPIPE_ (the daemons read nothing else)", where, name)
			}
		}
		if v, ok := env["PAYPIPE_PROFILE"]; opt.Profile != "" && ok && v.Value != opt.Profile {
			p.Add(o, "%s: PAYPIPE_PROFILE=%s, expected %s", where, v.Value, opt.Profile)
		}
	}
}

func deploymentRules(d *Object, objects []*Object, opt PolicyOptions, p *Problems) {
	t := podTemplate(d)
	spec := &t.Spec
	for _, c := range spec.Containers {
		where := "container " + c.Name
		env, err := containerEnv(spec, &c, objects)
		if err != nil {
			continue // reported by podRules
		}
		httpPort := int32(8080)
		if v, ok := env["PAYPIPE_HTTP_PORT"]; ok {
			n, err := strconv.Atoi(v.Value)
			if err != nil {
				p.Add(d, "%s: PAYPIPE_HTTP_PORT=%q is not a number", where, v.Value)
			}
			httpPort = int32(n)
		}
		// Both probes, on the port the daemon really listens on.
		for _, probe := range []struct {
			name, path string
			probe      *corev1.Probe
		}{{"livenessProbe", "/healthz", c.LivenessProbe}, {"readinessProbe", "/readyz", c.ReadinessProbe}} {
			if probe.probe == nil || probe.probe.HTTPGet == nil {
				p.Add(d, "%s: no %s (httpGet %s)", where, probe.name, probe.path)
				continue
			}
			if probe.probe.HTTPGet.Path != probe.path {
				p.Add(d, "%s: %s path is %q, expected %q", where, probe.name, probe.probe.HTTPGet.Path, probe.path)
			}
			if port := resolvePort(&c, probe.probe.HTTPGet.Port); port != httpPort {
				p.Add(d, "%s: %s port resolves to %d but PAYPIPE_HTTP_PORT is %d", where, probe.name, port, httpPort)
			}
		}
		// The pod is killed terminationGracePeriodSeconds after the preStop hook starts:
		// the preStop pause plus the daemon's own shutdown bound must fit inside it.
		shutdownMs := int64(20000) // CommonConfig's default
		if v, ok := env["PAYPIPE_SHUTDOWN_TIMEOUT_MS"]; ok {
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil {
				p.Add(d, "%s: PAYPIPE_SHUTDOWN_TIMEOUT_MS=%q is not a number", where, v.Value)
			}
			shutdownMs = n
		} else {
			p.Add(d, "%s: PAYPIPE_SHUTDOWN_TIMEOUT_MS is not set; the chart derives the grace period from it", where)
		}
		preStopMs := preStopSleepMs(&c)
		grace := int64(30)
		if spec.TerminationGracePeriodSeconds != nil {
			grace = *spec.TerminationGracePeriodSeconds
		}
		if grace*1000 <= shutdownMs+preStopMs {
			p.Add(d, "terminationGracePeriodSeconds %d is not above preStop %d ms + PAYPIPE_SHUTDOWN_TIMEOUT_MS %d ms", grace, preStopMs, shutdownMs)
		}
	}

	// A Service for the HTTP port, a PodDisruptionBudget, and in production an HPA.
	var service, pdb, hpa bool
	for _, o := range objects {
		switch v := o.Value.(type) {
		case *corev1.Service:
			if len(v.Spec.Selector) > 0 && labels.SelectorFromSet(v.Spec.Selector).Matches(labels.Set(t.Labels)) {
				service = true
			}
		case *policyv1.PodDisruptionBudget:
			if v.Spec.Selector != nil && labels.SelectorFromSet(v.Spec.Selector.MatchLabels).Matches(labels.Set(t.Labels)) {
				pdb = true
			}
		case *ScaledObject:
			// KEDA makes the HPA from it (validate checks the two exclude each other).
			if v.Spec.ScaleTargetRef != nil && v.Spec.ScaleTargetRef.Name == d.Name() {
				hpa = true
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			if v.Spec.ScaleTargetRef.Name == d.Name() {
				hpa = true
				// With an HPA, a replicas field in the Deployment would reset the scale
				// at every helm upgrade.
				if d.Value.(*appsv1.Deployment).Spec.Replicas != nil {
					p.Add(d, "sets spec.replicas although %s scales it", o.Ref())
				}
			}
		}
	}
	if !service {
		p.Add(d, "no Service selects its pods")
	}
	if !pdb {
		p.Add(d, "no PodDisruptionBudget selects its pods")
	}
	if opt.Profile == "production" && !hpa {
		p.Add(d, "no HorizontalPodAutoscaler (nor KEDA ScaledObject) in the production profile")
	}
}

func resolvePort(c *corev1.Container, port intstr.IntOrString) int32 {
	if port.Type == intstr.Int {
		return port.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == port.StrVal {
			return cp.ContainerPort
		}
	}
	return -1
}

func preStopSleepMs(c *corev1.Container) int64 {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return 0
	}
	h := c.Lifecycle.PreStop
	if h.Sleep != nil {
		return h.Sleep.Seconds * 1000
	}
	if h.Exec != nil && len(h.Exec.Command) == 2 && path0(h.Exec.Command[0]) == "sleep" {
		if n, err := strconv.ParseFloat(h.Exec.Command[1], 64); err == nil {
			return int64(n * 1000)
		}
	}
	return 0
}

func path0(s string) string { return filepath.Base(s) }

// secretRules: every credential comes from a Secret, and nothing that looks like one is
// written anywhere in plain text.
func secretRules(objects []*Object, opt PolicyOptions, p *Problems) {
	for _, o := range objects {
		switch v := o.Value.(type) {
		case *corev1.ConfigMap:
			for _, k := range sortedKeys(v.Data) {
				if secretName.MatchString(k) {
					p.Add(o, "key %s looks like a credential; it belongs in a Secret", k)
				}
				checkSecretValue(o, "data "+k, v.Data[k], p)
			}
		case *corev1.Secret:
			// In production the Secrets are made outside the chart (by whoever holds the
			// credentials), so the chart must not render one with values in it.
			if opt.Profile == "production" {
				p.Add(o, "the production rendering must not create Secrets; reference existing ones")
			}
		}
		t := podTemplate(o)
		if t == nil {
			continue
		}
		for _, c := range append(append([]corev1.Container{}, t.Spec.InitContainers...), t.Spec.Containers...) {
			for _, e := range c.Env {
				where := "container " + c.Name + ": env " + e.Name
				// A credential as a file (secretFiles): <name>_FILE names a Secret key's
				// file in a volume mounted read-only.
				if secretName.MatchString(e.Name) && e.ValueFrom == nil && strings.HasSuffix(e.Name, "_FILE") {
					if file, ok := secretFileAt(&t.Spec, &c, e.Value); !ok {
						p.Add(o, "%s names %s, which is no key of a Secret mounted in the container", where, e.Value)
					} else if !file.ReadOnly {
						p.Add(o, "%s names a file of Secret %s whose volume is not mounted readOnly", where, file.Secret)
					}
					continue
				}
				if secretName.MatchString(e.Name) && (e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
					p.Add(o, "%s looks like a credential but does not come from a secretKeyRef", where)
				}
				if e.ValueFrom == nil {
					checkSecretValue(o, where, e.Value, p)
				}
			}
			for _, a := range append(append([]string{}, c.Command...), c.Args...) {
				checkSecretValue(o, "container "+c.Name+": argument", a, p)
			}
		}
	}
}

func checkSecretValue(o *Object, where, value string, p *Problems) {
	for _, re := range secretValues {
		if re.MatchString(value) {
			p.Add(o, "%s holds what looks like a credential (%s); use a Secret", where, re.String())
		}
	}
}

// hookRules: the topics Job and the migrations Job run before install and upgrade,
// topics first, with the values' partitions and durability.
func hookRules(objects []*Object, deployments map[string]*Object, opt PolicyOptions, p *Problems) {
	var topics, migrate *Object
	for _, o := range objects {
		j, ok := o.Value.(*batchv1.Job)
		if !ok {
			continue
		}
		for _, c := range j.Spec.Template.Spec.Containers {
			bin, args := binaryOf(&c)
			if bin == "paypipe-admin" && len(args) >= 2 && args[0] == "topics" && args[1] == "create" {
				topics = o
				topicArgs(o, args[2:], opt, p)
			}
			if len(args) == 1 && args[0] == "migrate" {
				migrate = o
			}
		}
	}
	if topics == nil {
		p.Add(nil, "no Job runs `paypipe-admin topics create`")
	}
	if migrate == nil {
		p.Add(nil, "no Job runs the services' `migrate` subcommand")
	}
	if topics == nil || migrate == nil {
		return
	}
	for _, j := range []*Object{topics, migrate} {
		hooks := strings.Split(strings.ReplaceAll(j.Meta.Annotations["helm.sh/hook"], " ", ""), ",")
		if !contains(hooks, "pre-install") || !contains(hooks, "pre-upgrade") {
			p.Add(j, "helm.sh/hook must include pre-install and pre-upgrade, has %q", j.Meta.Annotations["helm.sh/hook"])
		}
		if !strings.Contains(j.Meta.Annotations["helm.sh/hook-delete-policy"], "before-hook-creation") {
			p.Add(j, "helm.sh/hook-delete-policy must include before-hook-creation, or the next upgrade fails on the old Job")
		}
	}
	wt, _ := strconv.Atoi(topics.Meta.Annotations["helm.sh/hook-weight"])
	wm, _ := strconv.Atoi(migrate.Meta.Annotations["helm.sh/hook-weight"])
	if wt >= wm && topics != migrate {
		p.Add(topics, "hook-weight %d must be below the migrations Job's %d (topics first)", wt, wm)
	}
	// One migrate container per deployed service, running that service's own binary on
	// the same image and with the same configuration as its Deployment.
	job := migrate.Value.(*batchv1.Job)
	for name, d := range deployments {
		dc := podTemplate(d).Spec.Containers[0]
		service, _ := binaryOf(&dc)
		var found *corev1.Container
		all := append(append([]corev1.Container{}, job.Spec.Template.Spec.InitContainers...), job.Spec.Template.Spec.Containers...)
		for i := range all {
			if bin, args := binaryOf(&all[i]); bin == service && len(args) == 1 && args[0] == "migrate" {
				found = &all[i]
			}
		}
		if found == nil {
			p.Add(migrate, "does not run `%s migrate` for %s", service, name)
			continue
		}
		if found.Image != dc.Image {
			p.Add(migrate, "container %s runs image %s, its Deployment %s", found.Name, found.Image, dc.Image)
		}
		de, err1 := containerEnv(&podTemplate(d).Spec, &dc, objects)
		je, err2 := containerEnv(&job.Spec.Template.Spec, found, objects)
		if err1 == nil && err2 == nil {
			for _, k := range sortedKeys(de) {
				if _, ok := je[k]; !ok {
					p.Add(migrate, "container %s lacks %s, which Deployment %s sets", found.Name, k, name)
				} else if je[k].Value != de[k].Value {
					p.Add(migrate, "container %s: %s=%q differs from Deployment %s (%q)", found.Name, k, je[k].Value, name, de[k].Value)
				} else if je[k].Secret != de[k].Secret {
					p.Add(migrate, "container %s: %s is the file of Secret key %q there, of %q in Deployment %s", found.Name, k, je[k].Secret, de[k].Secret, name)
				}
			}
		}
	}
}

func topicArgs(o *Object, args []string, opt PolicyOptions, p *Problems) {
	values := map[string]int{}
	for i := 0; i+1 < len(args); i += 2 {
		n, err := strconv.Atoi(args[i+1])
		if err != nil {
			p.Add(o, "topics create %s %q is not a number", args[i], args[i+1])
		}
		values[args[i]] = n
	}
	for _, flag := range []string{"--partitions", "--replication", "--min-insync"} {
		if _, ok := values[flag]; !ok {
			p.Add(o, "topics create without %s (the values must decide it)", flag)
		}
	}
	if values["--partitions"] < 1 || values["--min-insync"] < 1 || values["--min-insync"] > values["--replication"] {
		p.Add(o, "topics create: partitions %d, replication %d, min-insync %d are inconsistent",
			values["--partitions"], values["--replication"], values["--min-insync"])
	}
	// What the daemons' durability check demands outside the local profile; and with
	// min-insync equal to replication one broker down would stop every producer.
	if opt.Profile == "production" &&
		(values["--replication"] < 3 || values["--min-insync"] < 2 || values["--min-insync"] >= values["--replication"]) {
		p.Add(o, "production needs replication >= 3 and 2 <= min-insync < replication, got %d and %d",
			values["--replication"], values["--min-insync"])
	}
}

// alertRules: every metric an alert reads is one the code exports (or kube-state-metrics').
var metricRef = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{`)
var metricDefinition = regexp.MustCompile(`Name\("([a-zA-Z_:][a-zA-Z0-9_:]*)"\)`)

func alertRules(objects []*Object, opt PolicyOptions, p *Problems) {
	if opt.SourceDir == "" {
		return
	}
	exported, err := exportedMetrics(opt.SourceDir)
	if err != nil {
		p.Add(nil, "reading metric names from %s: %v", opt.SourceDir, err)
		return
	}
	for _, o := range objects {
		r, ok := o.Value.(*monitoringv1.PrometheusRule)
		if !ok {
			continue
		}
		for _, g := range r.Spec.Groups {
			for _, rule := range g.Rules {
				expr := rule.Expr.String()
				refs := metricRef.FindAllStringSubmatch(expr, -1)
				if len(refs) == 0 {
					p.Add(o, "alert %s: its expr selects no metric with a {...} matcher", rule.Alert)
				}
				for _, m := range refs {
					name := m[1]
					if isPromKeyword(name) || strings.HasPrefix(name, "kube_") || name == "up" || kafkaExporterMetrics[name] {
						continue
					}
					base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count"), "_sum")
					if !exported[name] && !exported[base] {
						p.Add(o, "alert %s reads metric %s, which no Name(\"...\") in %s/{libs,services} defines", rule.Alert, name, opt.SourceDir)
					}
				}
			}
		}
	}
}

// The series of danielqsj/kafka-exporter (kafka_exporter.go, namespace "kafka") the rules may read.
var kafkaExporterMetrics = map[string]bool{
	"kafka_consumergroup_lag": true, "kafka_consumergroup_lag_sum": true, "kafka_consumergroup_members": true,
	"kafka_consumergroup_current_offset": true, "kafka_consumergroup_current_offset_sum": true,
	"kafka_topic_partition_current_offset": true, "kafka_topic_partitions": true, "kafka_brokers": true,
}

func isPromKeyword(s string) bool {
	switch s {
	case "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless":
		return true
	}
	return false
}

func exportedMetrics(root string) (map[string]bool, error) {
	found := map[string]bool{}
	for _, dir := range []string{"libs", "services"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(path, ".cpp") || strings.HasSuffix(path, ".hpp")) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range metricDefinition.FindAllSubmatch(data, -1) {
				found[string(m[1])] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("no metric definitions found")
	}
	return found, nil
}

func firstBool(a, b *bool) *bool {
	if a != nil {
		return a
	}
	return b
}

func firstInt64(a, b *int64) *int64 {
	if a != nil {
		return a
	}
	return b
}

func containsCap(list []corev1.Capability, c corev1.Capability) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
