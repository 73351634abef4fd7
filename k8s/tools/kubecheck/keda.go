package main

// KEDA's ScaledObject and TriggerAuthentication (keda.sh/v1alpha1), declared here with the
// fields of KEDA's API (apis/keda/v1alpha1) so that strict decoding catches a misspelt
// field: KEDA's own module would pull its operator's whole dependency tree into this tool.
// Status fields are left out: a chart never renders them.

import (
	"encoding/json"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var kedaGroupVersion = schema.GroupVersion{Group: "keda.sh", Version: "v1alpha1"}

type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ScaledObjectSpec `json:"spec"`
}

type ScaledObjectSpec struct {
	ScaleTargetRef        *KedaScaleTarget    `json:"scaleTargetRef"`
	PollingInterval       *int32              `json:"pollingInterval,omitempty"`
	CooldownPeriod        *int32              `json:"cooldownPeriod,omitempty"`
	IdleReplicaCount      *int32              `json:"idleReplicaCount,omitempty"`
	MinReplicaCount       *int32              `json:"minReplicaCount,omitempty"`
	MaxReplicaCount       *int32              `json:"maxReplicaCount,omitempty"`
	Advanced              *KedaAdvancedConfig `json:"advanced,omitempty"`
	Triggers              []KedaScaleTrigger  `json:"triggers"`
	Fallback              *KedaFallback       `json:"fallback,omitempty"`
	InitialCooldownPeriod int32               `json:"initialCooldownPeriod,omitempty"`
}

type KedaScaleTarget struct {
	Name                   string `json:"name"`
	APIVersion             string `json:"apiVersion,omitempty"`
	Kind                   string `json:"kind,omitempty"`
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

type KedaAdvancedConfig struct {
	HorizontalPodAutoscalerConfig *struct {
		Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
		Name     string                                         `json:"name,omitempty"`
	} `json:"horizontalPodAutoscalerConfig,omitempty"`
	RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
	ScalingModifiers              *struct {
		Formula          string `json:"formula,omitempty"`
		Target           string `json:"target,omitempty"`
		ActivationTarget string `json:"activationTarget,omitempty"`
		MetricType       string `json:"metricType,omitempty"`
	} `json:"scalingModifiers,omitempty"`
}

type KedaFallback struct {
	FailureThreshold int32 `json:"failureThreshold"`
	Replicas         int32 `json:"replicas"`
}

type KedaScaleTrigger struct {
	Type              string            `json:"type"`
	Name              string            `json:"name,omitempty"`
	UseCachedMetrics  bool              `json:"useCachedMetrics,omitempty"`
	Metadata          map[string]string `json:"metadata"`
	AuthenticationRef *struct {
		Name string `json:"name"`
		Kind string `json:"kind,omitempty"`
	} `json:"authenticationRef,omitempty"`
	MetricType string `json:"metricType,omitempty"`
}

type TriggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              TriggerAuthenticationSpec `json:"spec"`
}

type KedaTargetRef struct {
	Parameter string `json:"parameter"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

type TriggerAuthenticationSpec struct {
	PodIdentity *struct {
		Provider      string  `json:"provider"`
		IdentityID    *string `json:"identityId,omitempty"`
		RoleArn       *string `json:"roleArn,omitempty"`
		IdentityOwner *string `json:"identityOwner,omitempty"`
	} `json:"podIdentity,omitempty"`
	SecretTargetRef    []KedaTargetRef `json:"secretTargetRef,omitempty"`
	ConfigMapTargetRef []KedaTargetRef `json:"configMapTargetRef,omitempty"`
	Env                []struct {
		Parameter     string `json:"parameter"`
		Name          string `json:"name"`
		ContainerName string `json:"containerName,omitempty"`
	} `json:"env,omitempty"`
}

func (o *ScaledObject) DeepCopyObject() runtime.Object { return deepCopyJSON(o, &ScaledObject{}) }
func (o *TriggerAuthentication) DeepCopyObject() runtime.Object {
	return deepCopyJSON(o, &TriggerAuthentication{})
}

func deepCopyJSON[T runtime.Object](from T, to T) runtime.Object {
	data, err := json.Marshal(from)
	if err != nil {
		panic(err)
	}
	if err := json.Unmarshal(data, to); err != nil {
		panic(err)
	}
	return to
}

func addKedaToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(kedaGroupVersion, &ScaledObject{}, &TriggerAuthentication{})
	return nil
}

// validateScaledObject: it scales a rendered Deployment that no HPA of the chart scales
// too (KEDA makes its own, and two HPAs fight), within sane bounds, and a kafka trigger
// names the brokers, the group and a numeric lag threshold, with a rendered
// TriggerAuthentication when it refers to one.
func validateScaledObject(o *Object, so *ScaledObject, objects []*Object, p *Problems) {
	ref := so.Spec.ScaleTargetRef
	if ref == nil || ref.Name == "" {
		p.Add(o, "spec.scaleTargetRef.name is empty")
	} else if (ref.Kind == "" || ref.Kind == "Deployment") && findObject(objects, "Deployment", ref.Name) == nil {
		p.Add(o, "spec.scaleTargetRef names Deployment %q, which the chart does not render", ref.Name)
	} else {
		for _, h := range objects {
			if hpa, ok := h.Value.(*autoscalingv2.HorizontalPodAutoscaler); ok && hpa.Spec.ScaleTargetRef.Name == ref.Name {
				p.Add(o, "%s scales Deployment %s too: KEDA makes its own HPA, the two would fight", h.Ref(), ref.Name)
			}
		}
		if d := findObject(objects, "Deployment", ref.Name); d != nil && d.Value.(*appsv1.Deployment).Spec.Replicas != nil {
			p.Add(d, "sets spec.replicas although %s scales it", o.Ref())
		}
	}
	lo, hi := int32(1), int32(100)
	if so.Spec.MinReplicaCount != nil {
		lo = *so.Spec.MinReplicaCount
	}
	if so.Spec.MaxReplicaCount != nil {
		hi = *so.Spec.MaxReplicaCount
	}
	if lo < 0 || hi < 1 || lo > hi {
		p.Add(o, "minReplicaCount %d and maxReplicaCount %d are inconsistent", lo, hi)
	}
	if len(so.Spec.Triggers) == 0 {
		p.Add(o, "spec.triggers is empty")
	}
	for i, t := range so.Spec.Triggers {
		if t.Type == "kafka" {
			for _, key := range []string{"bootstrapServers", "consumerGroup", "lagThreshold"} {
				if t.Metadata[key] == "" {
					p.Add(o, "triggers[%d] (kafka): metadata.%s is empty", i, key)
				}
			}
			if n, err := strconv.Atoi(t.Metadata["lagThreshold"]); t.Metadata["lagThreshold"] != "" && (err != nil || n < 1) {
				p.Add(o, "triggers[%d] (kafka): lagThreshold %q is not a positive integer", i, t.Metadata["lagThreshold"])
			}
		}
		if a := t.AuthenticationRef; a != nil && (a.Kind == "" || a.Kind == "TriggerAuthentication") &&
			findObject(objects, "TriggerAuthentication", a.Name) == nil {
			p.Add(o, "triggers[%d]: authenticationRef names TriggerAuthentication %q, which the chart does not render", i, a.Name)
		}
	}
}

func validateTriggerAuthentication(o *Object, ta *TriggerAuthentication, p *Problems) {
	refs := append(append([]KedaTargetRef{}, ta.Spec.SecretTargetRef...), ta.Spec.ConfigMapTargetRef...)
	if len(refs) == 0 && len(ta.Spec.Env) == 0 && ta.Spec.PodIdentity == nil {
		p.Add(o, "spec names no credential source")
	}
	seen := map[string]bool{}
	for _, r := range refs {
		if r.Parameter == "" || r.Name == "" || r.Key == "" {
			p.Add(o, "a target ref needs parameter, name and key: %+v", r)
		}
		if seen[r.Parameter] {
			p.Add(o, "parameter %q is given twice", r.Parameter)
		}
		seen[r.Parameter] = true
	}
}
