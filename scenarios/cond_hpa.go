package scenarios

import (
	"context"
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime"
)

func init() { RegisterCondition("hpa", func() ConditionKind { return &HPACondition{} }) }

// HPACondition checks one HorizontalPodAutoscaler (autoscaling/v2): its
// replicas and its conditions, as `kubectl describe hpa` shows them.
// Every set predicate must hold.
type HPACondition struct {
	// Namespace of the HPA. Required.
	Namespace string `yaml:"namespace"`
	// Name of the HPA. Required.
	Name string `yaml:"name"`
	// Exists checks that the HPA exists (or, false, that it does not).
	// The other predicates imply exists: true.
	Exists *bool `yaml:"exists"`
	// CurrentAtLeast: the HPA's current replicas are at least this.
	CurrentAtLeast *int32 `yaml:"currentAtLeast"`
	// CurrentAtMost: the HPA's current replicas are at most this.
	CurrentAtMost *int32 `yaml:"currentAtMost"`
	// ScalingActive: the ScalingActive condition is True (the HPA can
	// compute its metrics) or, false, that it is not.
	ScalingActive *bool `yaml:"scalingActive"`
	// Reason: some condition of the HPA has this reason, for example
	// FailedGetResourceMetric.
	Reason string `yaml:"reason"`
	// Message: some condition's message contains this text, for example
	// "missing request for cpu".
	Message string `yaml:"message"`
}

// Check implements ConditionKind.
func (q *HPACondition) Check(c *Checker, p string) {
	c.namespace(p+".namespace", q.Namespace)
	c.required(p+".name", q.Name)
	if q.CurrentAtLeast != nil && q.CurrentAtMost != nil && *q.CurrentAtLeast > *q.CurrentAtMost {
		c.errs.add(p+".currentAtLeast", "is above currentAtMost (%d > %d)", *q.CurrentAtLeast, *q.CurrentAtMost)
	}
	if q.Exists != nil && !*q.Exists && (q.CurrentAtLeast != nil || q.CurrentAtMost != nil || q.ScalingActive != nil || q.Reason != "" || q.Message != "") {
		c.errs.add(p+".exists", "exists: false cannot go with other predicates")
	}
}

// Eval implements ConditionKind.
func (q *HPACondition) Eval(ctx context.Context, w World) (bool, string) {
	key := q.Namespace + "/" + q.Name
	obj, exists, err := w.Object(ctx, ObjectRef{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler", Namespace: q.Namespace, Name: q.Name})
	if err != nil {
		return false, fmt.Sprintf("hpa %s: %v", key, err)
	}
	if q.Exists != nil && !*q.Exists {
		return !exists, fmt.Sprintf("hpa %s exists: %v", key, exists)
	}
	if !exists {
		return false, "hpa " + key + " does not exist"
	}
	var h autoscalingv2.HorizontalPodAutoscaler
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &h); err != nil {
		return false, fmt.Sprintf("hpa %s: %v", key, err)
	}
	return HPAHolds(q, &h)
}

// HPAHolds evaluates q's predicates on an HPA, and says what was seen.
func HPAHolds(q *HPACondition, h *autoscalingv2.HorizontalPodAutoscaler) (bool, string) {
	st := h.Status
	var conds []string
	active, reasonSeen, messageSeen := false, q.Reason == "", q.Message == ""
	for _, c := range st.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s (%s: %s)", c.Type, c.Status, c.Reason, c.Message))
		if c.Type == autoscalingv2.ScalingActive && c.Status == "True" {
			active = true
		}
		if c.Reason == q.Reason {
			reasonSeen = true
		}
		if q.Message != "" && strings.Contains(c.Message, q.Message) {
			messageSeen = true
		}
	}
	obs := fmt.Sprintf("hpa %s/%s: %d current, %d desired replicas; %s", h.Namespace, h.Name, st.CurrentReplicas, st.DesiredReplicas, strings.Join(conds, "; "))
	ok := reasonSeen && messageSeen &&
		(q.CurrentAtLeast == nil || st.CurrentReplicas >= *q.CurrentAtLeast) &&
		(q.CurrentAtMost == nil || st.CurrentReplicas <= *q.CurrentAtMost) &&
		(q.ScalingActive == nil || active == *q.ScalingActive)
	return ok, obs
}
