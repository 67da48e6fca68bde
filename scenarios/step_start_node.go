package scenarios

import "context"

func init() { RegisterStep("startNode", func() StepAction { return &StartNode{} }) }

// StartNode starts a node's kubelet or container runtime again, after a
// stopNode step: the node posts its status again and is Ready within
// seconds.
type StartNode struct {
	// NodeGroup is the node's group. Required.
	NodeGroup string `yaml:"nodeGroup"`
	// Index is the node's place in its group, from 0, by name.
	Index int `yaml:"index"`
	// Component is kubelet or runtime. Default kubelet.
	Component string `yaml:"component"`
}

// Default implements Defaulter.
func (a *StartNode) Default() {
	if a.Component == "" {
		a.Component = NodeKubelet
	}
}

// Check implements StepAction.
func (a *StartNode) Check(c *Checker, p string) {
	c.node(p, NodeRef{NodeGroup: a.NodeGroup, Index: a.Index})
	c.oneOf(p+".component", a.Component, []string{NodeKubelet, NodeRuntime})
}

// Run implements StepAction.
func (a *StartNode) Run(ctx context.Context, env StepEnv) error {
	return env.Nodes.StartNode(ctx, NodeRef{NodeGroup: a.NodeGroup, Index: a.Index}, a.Component)
}
