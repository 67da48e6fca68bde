// Package stack assembles a scenario's whole environment on the embedded
// backend: the in-process Kubernetes cluster (infra/embedded) beside the
// AWS plane (infra/cloud). It offers the operations that scenario steps
// perform on node groups, each applied to both EKS and the cluster; IAM
// and image operations come from the AWS plane.
package stack

import (
	"context"
	"errors"
	"net/netip"
	"sync"
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

	puller    atomic.Pointer[ecr.Puller]
	startedAt map[string]time.Duration
}

// Start provisions the scenario's environment: AWS account, registry
// with the scenario's images, and the cluster with its initial node
// groups. The AWS plane and the cluster start at the same time: neither
// needs the other until a node pulls an image, which no node does before
// Start returns. The returned stop function is never nil and undoes
// everything.
func Start(ctx context.Context, s *scenarios.Scenario, opts ...cloud.Option) (st *Stack, stop func(context.Context) error, err error) {
	t0 := time.Now()
	stops := &cloud.Stops{}
	p, err := cloud.ParamsOf(opts...)
	if err != nil {
		return nil, stops.Stop, err
	}
	st = &Stack{startedAt: map[string]time.Duration{}}
	// The registry asks the cluster for a pulling node's group; the
	// cluster may not exist yet when the registry starts.
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
	env := s.Spec.Environment
	var groups []embedded.NodeGroup
	for _, ng := range env.NodeGroups {
		if !ng.Deferred {
			groups = append(groups, st.nodeGroup(ng))
		}
	}

	// The first failure cancels the other half; it is the one reported.
	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg                      sync.WaitGroup
		once                    sync.Once
		firstErr                error
		c                       *cloud.Cloud
		cl                      *embedded.Env
		stopCloud, stopCluster  func(context.Context) error
		awsReady, clusterOffset time.Duration
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		var err error
		if c, stopCloud, err = cloud.Start(startCtx, s, opts...); err == nil {
			err = c.ServeRegistry(startCtx, groupOf)
		}
		if err != nil {
			fail(err)
			return
		}
		st.puller.Store(&ecr.Puller{Server: c.Registry})
		awsReady = time.Since(t0)
	}()
	go func() {
		defer wg.Done()
		clusterOffset = time.Since(t0)
		var err error
		cl, stopCluster, err = embedded.Start(startCtx, embedded.WithDir(p.Dir), embedded.WithRunID(p.RunID),
			embedded.WithRegion(env.AWS.Region), embedded.WithNodeGroups(groups...), embedded.WithLogger(p.Log))
		if err != nil {
			fail(err)
		}
	}()
	wg.Wait()
	// Stops run last added first: the cluster goes before the AWS plane.
	stops.Add(stopCloud)
	stops.Add(stopCluster)
	if ctx.Err() != nil {
		return nil, stops.Stop, ctx.Err()
	}
	if firstErr != nil {
		return nil, stops.Stop, firstErr
	}
	clusterRef.Store(cl)
	st.Cloud, st.Cluster = c, cl
	st.startedAt["aws"] = awsReady
	st.startedAt["control plane"] = clusterOffset + cl.Ready.ControlPlane
	st.startedAt["nodes"] = clusterOffset + cl.Ready.Nodes
	return st, stops.Stop, nil
}

// StartTimes says when each part of the environment was ready, since
// Start began: the AWS plane (emulator, account, registry and images),
// the control plane, and the initial nodes.
func (st *Stack) StartTimes() map[string]time.Duration { return st.startedAt }

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
			p := st.puller.Load()
			if p == nil {
				return 0, errors.New("the registry is not serving yet")
			}
			return p.Pull(ctx, n.Name, image)
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
