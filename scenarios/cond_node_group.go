package scenarios

import (
	"context"
	"fmt"
)

func init() { RegisterCondition("nodeGroup", func() ConditionKind { return &NodeGroupCondition{} }) }

// NodeGroupCondition checks a node group's existence and size.
type NodeGroupCondition struct {
	// Name of the node group. Required.
	Name string `yaml:"name"`
	// Exists checks that the group exists (or, false, that it was
	// deleted).
	Exists *bool `yaml:"exists"`
	// Size bounds the group's desired size.
	Size *Count `yaml:"size"`
}

// Check implements ConditionKind.
func (q *NodeGroupCondition) Check(c *Checker, p string) {
	c.nodeGroup(p+".name", q.Name)
	if q.Size != nil {
		c.count(p+".size", *q.Size)
	}
}

// Eval implements ConditionKind.
func (q *NodeGroupCondition) Eval(ctx context.Context, w World) (bool, string) {
	size, exists, err := w.NodeGroupSize(ctx, q.Name)
	if err != nil {
		return false, "node group " + q.Name + ": " + err.Error()
	}
	if q.Exists != nil && exists != *q.Exists {
		return false, fmt.Sprintf("node group %s exists: %v", q.Name, exists)
	}
	if q.Size != nil && (!exists || !countHolds(size, *q.Size)) {
		return false, fmt.Sprintf("node group %s size %d", q.Name, size)
	}
	return true, fmt.Sprintf("node group %s exists: %v, size %d", q.Name, exists, size)
}
