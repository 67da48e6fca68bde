package scenarios

import "context"

func init() { RegisterStep("stopNode", func() StepAction { return &StopNode{} }) }

// StopNode stops one node's kubelet or its container runtime, as a
// crashed or hung kubelet, or a dead containerd, would. With the kubelet
// stopped the node stops posting its status: after the controller's
// grace period it is NotReady (Unknown, "Kubelet stopped posting node
// status."), tainted unreachable, and its pods are evicted once their
// toleration runs out (300 s by default). With the runtime stopped the
// kubelet reports the node NotReady, "container runtime is down", and no
// new container starts there. Running containers keep running.
type StopNode struct {
	// NodeGroup is the node's group. Required.
	NodeGroup string `yaml:"nodeGroup"`
	// Index is the node's place in its group, from 0, by name.
	Index int `yaml:"index"`
	// Component is kubelet or runtime. Default kubelet.
	Component string `yaml:"component"`
}

// Default implements Defaulter.
func (a *StopNode) Default() {
	if a.Component == "" {
		a.Component = NodeKubelet
	}
}

// Check implements StepAction.
func (a *StopNode) Check(c *Checker, p string) {
	c.node(p, NodeRef{NodeGroup: a.NodeGroup, Index: a.Index})
	c.oneOf(p+".component", a.Component, []string{NodeKubelet, NodeRuntime})
}

// Run implements StepAction.
func (a *StopNode) Run(ctx context.Context, env StepEnv) error {
	return env.Nodes.StopNode(ctx, NodeRef{NodeGroup: a.NodeGroup, Index: a.Index}, a.Component)
}
