package scenarios

import "context"

func init() { RegisterStep("deleteNodeGroup", func() StepAction { return &DeleteNodeGroup{} }) }

// DeleteNodeGroup removes a node group and its nodes.
type DeleteNodeGroup struct {
	// NodeGroup is the node group's name. Required.
	NodeGroup string `yaml:"nodeGroup"`
}

// Check implements StepAction.
func (a *DeleteNodeGroup) Check(c *Checker, p string) { c.nodeGroup(p+".nodeGroup", a.NodeGroup) }

// Run implements StepAction.
func (a *DeleteNodeGroup) Run(ctx context.Context, env StepEnv) error {
	return env.NodeGroups.DeleteNodeGroup(ctx, a.NodeGroup)
}
