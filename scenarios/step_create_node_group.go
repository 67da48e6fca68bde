package scenarios

import "context"

func init() { RegisterStep("createNodeGroup", func() StepAction { return &CreateNodeGroup{} }) }

// CreateNodeGroup brings up a deferred node group.
type CreateNodeGroup struct {
	// NodeGroup is the node group's name; it must be deferred, and is
	// created once. Required.
	NodeGroup string `yaml:"nodeGroup"`
}

// Check implements StepAction.
func (a *CreateNodeGroup) Check(c *Checker, p string) {
	p += ".nodeGroup"
	ng := c.nodeGroup(p, a.NodeGroup)
	if ng == nil {
		return
	}
	if !ng.Deferred {
		c.errs.add(p, "node group %q already exists at provision time; mark it deferred: true", ng.Name)
	}
	if c.created[ng.Name] {
		c.errs.add(p, "node group %q is created twice", ng.Name)
	}
	c.created[ng.Name] = true
}

// Run implements StepAction.
func (a *CreateNodeGroup) Run(ctx context.Context, env StepEnv) error {
	return env.NodeGroups.CreateNodeGroup(ctx, a.NodeGroup)
}
