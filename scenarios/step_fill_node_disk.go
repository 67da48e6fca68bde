package scenarios

import (
	"context"

	"k8s.io/apimachinery/pkg/api/resource"
)

func init() { RegisterStep("fillNodeDisk", func() StepAction { return &FillNodeDisk{} }) }

// FillNodeDisk writes to one node's root volume outside any pod, as a
// runaway system log or a core dump would: the kubelet sees the space go,
// and below its eviction threshold (10% free) the node reports
// DiskPressure, is tainted, and evicts pods. A freeNodeDisk step, or a
// fillNodeDisk of 0, gives the space back.
type FillNodeDisk struct {
	// NodeGroup is the node's group. Required.
	NodeGroup string `yaml:"nodeGroup"`
	// Index is the node's place in its group, from 0, by name.
	Index int `yaml:"index"`
	// Size is how much to write, as a Kubernetes quantity ("14Gi"); it
	// replaces what an earlier fill of the node wrote. Required.
	Size string `yaml:"size"`
}

// Check implements StepAction.
func (a *FillNodeDisk) Check(c *Checker, p string) {
	c.node(p, NodeRef{NodeGroup: a.NodeGroup, Index: a.Index})
	if c.required(p+".size", a.Size) {
		if q, err := resource.ParseQuantity(a.Size); err != nil {
			c.errs.add(p+".size", "not a quantity such as 14Gi: %q", a.Size)
		} else if q.Sign() < 0 {
			c.errs.add(p+".size", "must not be negative, got %s", a.Size)
		}
	}
}

// Run implements StepAction.
func (a *FillNodeDisk) Run(ctx context.Context, env StepEnv) error {
	q, err := resource.ParseQuantity(a.Size)
	if err != nil {
		return err
	}
	return env.Nodes.FillNodeDisk(ctx, NodeRef{NodeGroup: a.NodeGroup, Index: a.Index}, q.Value())
}
