package embedded

import (
	"context"
	"time"

	"k8s.io/client-go/rest"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// Name is the backend's name (--infra embedded).
const Name = "embedded"

func init() {
	environment.Register(Name, environment.Backend{Start: startBackend})
}

// cluster is an Env as an environment.Cluster: its nodes pull in process,
// through Params.Pull.
type cluster struct {
	env  *Env
	pull func(ctx context.Context, node, image string) (uint64, error)
}

// startBackend starts the control plane with the node groups in service
// at start.
func startBackend(ctx context.Context, p environment.Params) (environment.Cluster, func(context.Context) error, error) {
	c := &cluster{pull: p.Pull}
	var groups []NodeGroup
	for _, g := range p.NodeGroups {
		if g.Size > 0 {
			groups = append(groups, c.nodeGroup(g, g.Size))
		}
	}
	behaviours := func(image string) (behaviour.App, bool) {
		app, ok := p.Behaviours[image]
		return app, ok
	}
	opts := []Option{WithDir(p.Dir), WithRunID(p.RunID), WithRegion(p.Region), WithNodeGroups(groups...),
		WithLogger(p.Log), WithBehaviours(behaviours), WithTimings(p.Timings)}
	if p.MetricsServer {
		opts = append(opts, WithMetricsServer())
	}
	e, stop, err := Start(ctx, opts...)
	if err != nil {
		return nil, stop, err
	}
	c.env = e
	return c, stop, nil
}

// nodeGroup converts a node group with size nodes.
func (c *cluster) nodeGroup(g environment.NodeGroup, size int) NodeGroup {
	var puller ImagePuller
	if c.pull != nil {
		puller = PullerFunc(func(ctx context.Context, n Node, image string) (uint64, error) { return c.pull(ctx, n.Name, image) })
	}
	return NodeGroup{
		Name: g.Name, Size: size, InstanceType: g.InstanceType, CapacityType: g.CapacityType,
		Zone: g.Zone, Subnet: g.Subnet, Labels: g.Labels, Taints: g.Taints, Puller: puller,
	}
}

// Admin implements environment.Cluster.
func (c *cluster) Admin() *rest.Config { return c.env.Admin() }

// OperatorKubeconfig implements environment.Cluster.
func (c *cluster) OperatorKubeconfig() string { return c.env.OperatorKubeconfig }

// IssueKubeconfig implements environment.Cluster.
func (c *cluster) IssueKubeconfig(_ context.Context, user, path string) error {
	return c.env.IssueKubeconfig(user, path)
}

// AuditLog implements environment.Cluster.
func (c *cluster) AuditLog() string { return c.env.AuditLog }

// NodeGroupOf implements environment.Cluster.
func (c *cluster) NodeGroupOf(node string) (string, bool) {
	for _, g := range c.env.NodeGroups() {
		for _, n := range c.env.Nodes(g) {
			if n.Name == node {
				return g, true
			}
		}
	}
	return "", false
}

// SetNodeGroupSize implements environment.Cluster: hollow nodes are
// started or stopped; a group's first nodes create it.
func (c *cluster) SetNodeGroupSize(ctx context.Context, g environment.NodeGroup, size int) error {
	if _, err := c.env.group(g.Name); err == nil {
		return c.env.ScaleNodeGroup(ctx, g.Name, size)
	}
	if size == 0 {
		return nil
	}
	return c.env.AddNodeGroup(ctx, c.nodeGroup(g, size))
}

// StartTimes implements environment.Timed.
func (c *cluster) StartTimes() map[string]time.Duration {
	return map[string]time.Duration{"control plane": c.env.Ready.ControlPlane, "nodes": c.env.Ready.Nodes}
}

// StopNode implements environment.NodeFaults.
func (c *cluster) StopNode(ctx context.Context, node, component string) error {
	return c.env.StopNode(ctx, node, component)
}

// StartNode implements environment.NodeFaults.
func (c *cluster) StartNode(ctx context.Context, node, component string) error {
	return c.env.StartNode(ctx, node, component)
}

// FillNodeDisk implements environment.NodeFaults.
func (c *cluster) FillNodeDisk(ctx context.Context, node string, bytes int64) error {
	return c.env.FillNodeDisk(ctx, node, bytes)
}

var _ environment.NodeFaults = (*cluster)(nil)
