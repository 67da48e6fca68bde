// Package stack assembles a scenario's whole environment on the embedded
// backend: the in-process Kubernetes cluster (infra/embedded) beside the
// AWS plane (infra/cloud). It offers the operations that scenario steps
// perform on node groups, each applied to both EKS and the cluster; IAM
// and image operations come from the AWS plane.
package stack

import (
	"context"
	"net/netip"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/infra/embedded"
	"github.com/gameday-sre/gameday/scenarios"
)

// Stack is a running environment for one scenario.
type Stack struct {
	*cloud.Cloud
	// Cluster is the Kubernetes side.
	Cluster *embedded.Env

	puller *ecr.Puller
}

// Start provisions the scenario's environment: AWS account, registry
// with the scenario's images, and the cluster with its initial node
// groups. The returned stop function is never nil and undoes everything.
func Start(ctx context.Context, s *scenarios.Scenario, opts ...cloud.Option) (st *Stack, stop func(context.Context) error, err error) {
	c, stopCloud, err := cloud.Start(ctx, s, opts...)
	stops := &cloud.Stops{}
	stops.Add(stopCloud)
	if err != nil {
		return nil, stops.Stop, err
	}
	st = &Stack{Cloud: c}

	// The cluster is created below; the authorizer asks it for node
	// groups at pull time.
	var clusterRef atomic.Pointer[embedded.Env]
	groupOf := func(node string) (string, bool) {
		cluster := clusterRef.Load()
		if cluster == nil {
			return "", false
		}
		for _, g := range cluster.NodeGroups() {
			for _, n := range cluster.Nodes(g) {
				if n.Name == node {
					return g, true
				}
			}
		}
		return "", false
	}
	if err := c.ServeRegistry(ctx, groupOf); err != nil {
		return nil, stops.Stop, err
	}
	st.puller = &ecr.Puller{Server: c.Registry}

	env := s.Spec.Environment
	var groups []embedded.NodeGroup
	for _, ng := range env.NodeGroups {
		if !ng.Deferred {
			groups = append(groups, st.nodeGroup(ng))
		}
	}
	cl, stopCluster, err := embedded.Start(ctx, embedded.WithDir(c.Dir), embedded.WithRunID(c.RunID),
		embedded.WithRegion(env.AWS.Region), embedded.WithNodeGroups(groups...), embedded.WithLogger(c.Log))
	stops.Add(stopCluster)
	if err != nil {
		return nil, stops.Stop, err
	}
	clusterRef.Store(cl)
	st.Cluster = cl
	return st, stops.Stop, nil
}

// nodeGroup converts a scenario node group for the embedded cluster.
func (st *Stack) nodeGroup(ng scenarios.NodeGroup) embedded.NodeGroup {
	var taints []corev1.Taint
	for _, t := range ng.Taints {
		taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	return embedded.NodeGroup{
		Name: ng.Name, Size: ng.Size, InstanceType: ng.InstanceType, CapacityType: ng.CapacityType,
		Zone: ng.Zone, Subnet: netip.MustParsePrefix(ng.Subnet), Labels: ng.Labels, Taints: taints,
		Puller: embedded.PullerFunc(func(ctx context.Context, n embedded.Node, image string) (uint64, error) {
			return st.puller.Pull(ctx, n.Name, image)
		}),
	}
}

// CreateNodeGroup creates a (deferred) node group in EKS and brings its
// nodes up.
func (st *Stack) CreateNodeGroup(ctx context.Context, name string) error {
	ng, err := st.NodeGroup(name)
	if err != nil {
		return err
	}
	if err := st.Account.CreateNodegroup(ctx, ng); err != nil {
		return err
	}
	return st.Cluster.AddNodeGroup(ctx, st.nodeGroup(ng))
}

// ScaleNodeGroup changes a node group's size in EKS and the cluster.
func (st *Stack) ScaleNodeGroup(ctx context.Context, name string, size int) error {
	if err := st.Account.ScaleNodegroup(ctx, name, size); err != nil {
		return err
	}
	return st.Cluster.ScaleNodeGroup(ctx, name, size)
}

// DeleteNodeGroup deletes a node group from EKS and the cluster.
func (st *Stack) DeleteNodeGroup(ctx context.Context, name string) error {
	if err := st.Cluster.DeleteNodeGroup(ctx, name); err != nil {
		return err
	}
	return st.Account.DeleteNodegroup(ctx, name)
}

// OperatorEnv returns the environment that points kubectl and the aws CLI
// at the stack as the operator.
func (st *Stack) OperatorEnv() []string {
	return append([]string{"KUBECONFIG=" + st.Cluster.OperatorKubeconfig}, st.AWS.OperatorEnv()...)
}

// Admin returns gameday's own Kubernetes client config.
func (st *Stack) Admin() *rest.Config { return st.Cluster.Admin() }

// AuditLog returns the API server's audit log path.
func (st *Stack) AuditLog() string { return st.Cluster.AuditLog }

// CordonNodeGroup (un)cordons a node group's nodes.
func (st *Stack) CordonNodeGroup(ctx context.Context, name string, unschedulable bool) error {
	return st.Cluster.CordonNodeGroup(ctx, name, unschedulable)
}

// DrainNodeGroup drains a node group's nodes.
func (st *Stack) DrainNodeGroup(ctx context.Context, name string, timeout time.Duration) error {
	return st.Cluster.DrainNodeGroup(ctx, name, timeout)
}
