package scenarios

import "context"

func init() { RegisterStep("drainNodeGroup", func() StepAction { return &DrainNodeGroup{} }) }

// DrainNodeGroup cordons a group and evicts its pods, honouring
// PodDisruptionBudgets.
type DrainNodeGroup struct {
	// NodeGroup is the node group's name. Required.
	NodeGroup string `yaml:"nodeGroup"`
	// Timeout bounds the drain. Default 2m.
	Timeout Duration `yaml:"timeout"`
}

// Default implements Defaulter.
func (a *DrainNodeGroup) Default() {
	if a.Timeout.IsZero() {
		a.Timeout.Duration = DefaultStepTimeout
	}
}

// Check implements StepAction.
func (a *DrainNodeGroup) Check(c *Checker, p string) { c.nodeGroup(p+".nodeGroup", a.NodeGroup) }

// Run implements StepAction.
func (a *DrainNodeGroup) Run(ctx context.Context, env StepEnv) error {
	return env.NodeGroups.DrainNodeGroup(ctx, a.NodeGroup, a.Timeout.Duration)
}
