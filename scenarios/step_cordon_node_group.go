package scenarios

import "context"

func init() { RegisterStep("cordonNodeGroup", func() StepAction { return &CordonNodeGroup{} }) }

// CordonNodeGroup marks every node of a group unschedulable.
type CordonNodeGroup struct {
	// NodeGroup is the node group's name. Required.
	NodeGroup string `yaml:"nodeGroup"`
}

// Check implements StepAction.
func (a *CordonNodeGroup) Check(c *Checker, p string) { c.nodeGroup(p+".nodeGroup", a.NodeGroup) }

// Run implements StepAction.
func (a *CordonNodeGroup) Run(ctx context.Context, env StepEnv) error {
	return env.NodeGroups.CordonNodeGroup(ctx, a.NodeGroup, true)
}
