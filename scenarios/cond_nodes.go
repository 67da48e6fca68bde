package scenarios

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/gameday-sre/gameday/internal/domain/eks"
)

func init() { RegisterCondition("nodes", func() ConditionKind { return &NodesCondition{} }) }

// NodesCondition counts nodes that match every given predicate.
type NodesCondition struct {
	// NodeGroup restricts to nodes of this group.
	NodeGroup string `yaml:"nodeGroup"`
	// Ready matches the node's Ready condition.
	Ready *bool `yaml:"ready"`
	// Schedulable matches !spec.unschedulable.
	Schedulable *bool `yaml:"schedulable"`
	// ConditionType with ConditionStatus matches a node condition, for
	// example DiskPressure True.
	ConditionType string `yaml:"conditionType"`
	// ConditionStatus is True, False or Unknown. Default True.
	ConditionStatus string `yaml:"conditionStatus"`
	// Count bounds the number of matching nodes. Default at least 1.
	Count Count `yaml:"count"`
}

// Default implements Defaulter.
func (q *NodesCondition) Default() {
	if q.ConditionType != "" && q.ConditionStatus == "" {
		q.ConditionStatus = "True"
	}
}

// Check implements ConditionKind.
func (q *NodesCondition) Check(c *Checker, p string) {
	if q.NodeGroup != "" {
		c.nodeGroup(p+".nodeGroup", q.NodeGroup)
	}
	c.oneOf(p+".conditionStatus", q.ConditionStatus, []string{"True", "False", "Unknown"})
	if q.ConditionStatus != "" && q.ConditionType == "" {
		c.errs.add(p+".conditionType", "required with conditionStatus")
	}
	c.count(p+".count", q.Count)
}

// Eval implements ConditionKind.
func (q *NodesCondition) Eval(_ context.Context, w World) (bool, string) {
	n := 0
	for _, node := range w.Nodes() {
		if q.NodeGroup != "" && node.Labels[eks.NodeGroupLabel] != q.NodeGroup {
			continue
		}
		if q.Schedulable != nil && node.Spec.Unschedulable == *q.Schedulable {
			continue
		}
		if q.Ready != nil && nodeReady(node) != *q.Ready {
			continue
		}
		if q.ConditionType != "" && !slices.ContainsFunc(node.Status.Conditions, func(c corev1.NodeCondition) bool {
			return string(c.Type) == q.ConditionType && string(c.Status) == q.ConditionStatus
		}) {
			continue
		}
		n++
	}
	return countHolds(n, q.Count), fmt.Sprintf("%d nodes match (want %s)", n, countText(q.Count))
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
