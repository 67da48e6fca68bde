package scenarios

import "context"

func init() { RegisterStep("freeNodeDisk", func() StepAction { return &FreeNodeDisk{} }) }

// FreeNodeDisk removes what fillNodeDisk wrote to a node's root volume.
type FreeNodeDisk struct {
	// NodeGroup is the node's group. Required.
	NodeGroup string `yaml:"nodeGroup"`
	// Index is the node's place in its group, from 0, by name.
	Index int `yaml:"index"`
}

// Check implements StepAction.
func (a *FreeNodeDisk) Check(c *Checker, p string) {
	c.node(p, NodeRef{NodeGroup: a.NodeGroup, Index: a.Index})
}

// Run implements StepAction.
func (a *FreeNodeDisk) Run(ctx context.Context, env StepEnv) error {
	return env.Nodes.FillNodeDisk(ctx, NodeRef{NodeGroup: a.NodeGroup, Index: a.Index}, 0)
}
