package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gameday-sre/gameday/internal/domain/eks"
)

func init() { RegisterCondition("pods", func() ConditionKind { return &PodsCondition{} }) }

// PodsCondition counts pods in a namespace that match every given
// predicate.
type PodsCondition struct {
	// Namespace of the pods. Required.
	Namespace string `yaml:"namespace"`
	// Selector is a label selector (matchLabels form).
	Selector map[string]string `yaml:"selector"`
	// NodeGroup restricts to pods bound to nodes of this group.
	NodeGroup string `yaml:"nodeGroup"`
	// Phase is Pending, Running, Succeeded, Failed or Unknown.
	Phase string `yaml:"phase"`
	// Reason matches the pod's status reason: Evicted for a pod the
	// kubelet evicted under node pressure or for a storage limit.
	Reason string `yaml:"reason"`
	// WaitingReason matches any container's waiting reason
	// (ErrImagePull, ImagePullBackOff, CrashLoopBackOff, ...); several
	// reasons separated by | match any of them
	// (ErrImagePull|ImagePullBackOff).
	WaitingReason string `yaml:"waitingReason"`
	// Ready matches the pod's Ready condition.
	Ready *bool `yaml:"ready"`
	// RestartsAtLeast matches pods with a container restarted at least this
	// often.
	RestartsAtLeast *int `yaml:"restartsAtLeast"`
	// LastTerminationReason matches any container's last termination
	// reason (Error, OOMKilled, Completed); several separated by | match
	// any of them.
	LastTerminationReason string `yaml:"lastTerminationReason"`
	// Count bounds the number of matching pods. Default at least 1.
	Count Count `yaml:"count"`
}

// Check implements ConditionKind.
func (q *PodsCondition) Check(c *Checker, p string) {
	c.namespace(p+".namespace", q.Namespace)
	if q.NodeGroup != "" {
		c.nodeGroup(p+".nodeGroup", q.NodeGroup)
	}
	c.oneOf(p+".phase", q.Phase, phases)
	c.count(p+".count", q.Count)
}

// Eval implements ConditionKind.
func (q *PodsCondition) Eval(_ context.Context, w World) (bool, string) {
	var groupOf map[string]string
	if q.NodeGroup != "" {
		groupOf = map[string]string{}
		for _, n := range w.Nodes() {
			groupOf[n.Name] = n.Labels[eks.NodeGroupLabel]
		}
	}
	sel := labels.SelectorFromSet(q.Selector)
	reasonsWanted := strings.Split(q.WaitingReason, "|")
	n, total := 0, 0
	reasons := map[string]int{}
	for _, p := range w.Pods() {
		if p.Namespace != q.Namespace || !sel.Matches(labels.Set(p.Labels)) || p.DeletionTimestamp != nil {
			continue
		}
		total++
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Waiting != nil {
				reasons[cs.State.Waiting.Reason]++
			}
		}
		if q.NodeGroup != "" && groupOf[p.Spec.NodeName] != q.NodeGroup {
			continue
		}
		if q.Phase != "" && string(p.Status.Phase) != q.Phase {
			continue
		}
		if q.Reason != "" && p.Status.Reason != q.Reason {
			continue
		}
		if q.Ready != nil && podReady(p) != *q.Ready {
			continue
		}
		if q.WaitingReason != "" && !slices.ContainsFunc(p.Status.ContainerStatuses, func(cs corev1.ContainerStatus) bool {
			return cs.State.Waiting != nil && slices.Contains(reasonsWanted, cs.State.Waiting.Reason)
		}) {
			continue
		}
		if q.LastTerminationReason != "" && !slices.ContainsFunc(p.Status.ContainerStatuses, func(cs corev1.ContainerStatus) bool {
			t := cs.LastTerminationState.Terminated
			return t != nil && slices.Contains(strings.Split(q.LastTerminationReason, "|"), t.Reason)
		}) {
			continue
		}
		if q.RestartsAtLeast != nil && !slices.ContainsFunc(p.Status.ContainerStatuses, func(cs corev1.ContainerStatus) bool {
			return int(cs.RestartCount) >= *q.RestartsAtLeast
		}) {
			continue
		}
		n++
	}
	return countHolds(n, q.Count), fmt.Sprintf("%d of %d pods in %s match (want %s); waiting reasons %v", n, total, q.Namespace, countText(q.Count), reasons)
}

// podReady is the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
