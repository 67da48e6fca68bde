// Package environment composes a scenario's environment once, for every
// backend: the AWS plane and the ECR registry (infra/cloud), the EKS
// bookkeeping of node groups, cordon and drain (infra/nodeops), and the
// operator's environment. A backend (embedded, kind) is a small Cluster
// registered by name; it gets converted node groups, never a scenario.
//
// Node-group operations run in one order: EKS first, then the cluster.
package environment

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/infra/eksauth"
	"github.com/gameday-sre/gameday/infra/nodeops"
	"github.com/gameday-sre/gameday/infra/operator"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

// deleteDrainTimeout bounds the drain of a node group being deleted.
const deleteDrainTimeout = 2 * time.Minute

// Env is a running environment for one scenario.
type Env struct {
	*cloud.Cloud
	// Cluster is the backend's Kubernetes side.
	Cluster Cluster

	client kubernetes.Interface
	// clusterName is the EKS cluster's name when responders authenticate
	// through IAM (the backend takes EKS's webhooks); "" otherwise.
	clusterName string
	groups      map[string]eks.NodeGroup
	startedAt   map[string]time.Duration
}

// NodeGroups converts a scenario's node groups for the backends.
func NodeGroups(s *scenarios.Scenario) []eks.NodeGroup {
	var out []eks.NodeGroup
	for _, ng := range s.Spec.Environment.NodeGroups {
		var taints []corev1.Taint
		for _, t := range ng.Taints {
			taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
		}
		subnet, _ := netip.ParsePrefix(ng.Subnet) // validated at load
		g := eks.NodeGroup{
			Name: ng.Name, InstanceType: ng.InstanceType, CapacityType: ng.CapacityType, Zone: ng.Zone,
			Subnet: subnet, Labels: ng.Labels, Taints: taints, Size: ng.Size, Capacity: s.PeakSize(ng.Name),
		}
		if ng.Deferred {
			g.Size = 0
		}
		out = append(out, g)
	}
	return out
}

// Start provisions the scenario's environment on the named backend: the
// AWS plane (emulator and account) and the cluster start at the same
// time, as neither needs the other until a node pulls an image; then the
// registry serves the scenario's images where the nodes reach it. The
// returned stop function is never nil and undoes everything; the cluster
// goes before the AWS plane.
func Start(ctx context.Context, s *scenarios.Scenario, backend string, opts ...cloud.Option) (env *Env, stop func(context.Context) error, err error) {
	t0 := time.Now()
	stops := &cloud.Stops{}
	b, err := lookup(backend)
	if err != nil {
		return nil, stops.Stop, err
	}
	p, err := cloud.ParamsOf(opts...)
	if err != nil {
		return nil, stops.Stop, err
	}
	env = &Env{groups: map[string]eks.NodeGroup{}, startedAt: map[string]time.Duration{}}
	groups := NodeGroups(s)
	for _, g := range groups {
		env.groups[g.Name] = g
	}
	var (
		registry atomic.Pointer[ecr.Puller]
		cluster  atomic.Pointer[Cluster]
	)
	// The registry asks the cluster for a pulling node's group; the
	// cluster may not be up yet when the registry starts.
	groupOf := func(node string) (string, bool) {
		if c := cluster.Load(); c != nil {
			return (*c).NodeGroupOf(node)
		}
		return "", false
	}
	var (
		identity *eksauth.Server
		hooks    *Webhooks
		issuer   string
	)
	if b.Webhooks {
		if issuer, err = oidcIssuer(s.Spec.Environment.AWS.Region); err != nil {
			return nil, stops.Stop, errkind.E(errkind.Infra, err)
		}
		identity, hooks, err = startIdentity(p.Dir)
		if identity != nil {
			stops.Add(identity.Close)
		}
		if err != nil {
			return nil, stops.Stop, err
		}
	}
	params := Params{
		Dir: p.Dir, RunID: p.RunID, Region: s.Spec.Environment.AWS.Region, Log: p.Log, NodeGroups: groups,
		Behaviours: s.Behaviours(), MetricsServer: s.Spec.Environment.Cluster.HasAddon(scenarios.AddonMetricsServer),
		Timings:  timings(s.Spec.Environment.Cluster.Timings),
		Webhooks: hooks, OIDCIssuer: issuer,
		Pull: func(ctx context.Context, node, image string) (uint64, error) {
			r := registry.Load()
			if r == nil {
				return 0, errors.New("the registry is not serving yet")
			}
			return r.Pull(ctx, node, image)
		},
	}

	// The first failure cancels the other half; it is the one reported.
	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg                     sync.WaitGroup
		once                   sync.Once
		firstErr               error
		c                      *cloud.Cloud
		cl                     Cluster
		stopCloud, stopCluster func(context.Context) error
		clusterOffset, awsAt   time.Duration
	)
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	wg.Add(2)
	go func() {
		defer wg.Done()
		var err error
		if c, stopCloud, err = cloud.Start(startCtx, s, opts...); err == nil && !b.Network {
			if err = c.ServeRegistry(startCtx, groupOf); err == nil {
				registry.Store(&ecr.Puller{Server: c.Registry})
			}
		}
		if err != nil {
			fail(err)
			return
		}
		awsAt = time.Since(t0)
	}()
	go func() {
		defer wg.Done()
		clusterOffset = time.Since(t0)
		var err error
		if cl, stopCluster, err = b.Start(startCtx, params); err != nil {
			fail(err)
		}
	}()
	wg.Wait()
	// Stops run last added first: the cluster goes before the AWS plane
	// (and the registry, which the AWS plane's stop stops).
	stops.Add(stopCloud)
	stops.Add(stopCluster)
	if ctx.Err() != nil {
		return nil, stops.Stop, ctx.Err()
	}
	if firstErr != nil {
		return nil, stops.Stop, firstErr
	}
	env.Cloud, env.Cluster = c, cl
	cluster.Store(&cl)
	if env.client, err = kubernetes.NewForConfig(cl.Admin()); err != nil {
		return nil, stops.Stop, errkind.E(errkind.Infra, err)
	}
	if b.Network {
		if err := env.serveRegistry(ctx, s); err != nil {
			return nil, stops.Stop, err
		}
		awsAt = time.Since(t0)
	}
	if identity != nil {
		if err := env.useIdentity(ctx, identity, c, s.Spec.Environment.Cluster.Name, issuer, stops); err != nil {
			return nil, stops.Stop, err
		}
	}
	env.startedAt["aws"] = awsAt
	if t, ok := cl.(Timed); ok {
		for part, d := range t.StartTimes() {
			env.startedAt[part] = clusterOffset + d
		}
	}
	return env, stops.Stop, nil
}

// serveRegistry starts the registry where a Network backend's nodes
// reach it, with the scenario's images built to run there, and points
// the nodes at it.
func (e *Env) serveRegistry(ctx context.Context, s *scenarios.Scenario) error {
	np, ok := e.Cluster.(NetworkPuller)
	if !ok {
		return errkind.Errorf(errkind.Internal, "a network backend's cluster %T is no NetworkPuller", e.Cluster)
	}
	regOpts, build, err := np.RegistryOptions(ctx)
	if err != nil {
		return err
	}
	e.ImageOptions = append(e.ImageOptions, build...)
	if err := e.ServeRegistry(ctx, e.Cluster.NodeGroupOf, regOpts...); err != nil {
		return err
	}
	return np.UseRegistry(ctx, e.Registry, s.Images())
}

// StartTimes says when each part of the environment was ready, since
// Start began: "aws" (emulator, account, registry and images), and the
// backend's parts ("control plane", "nodes").
func (e *Env) StartTimes() map[string]time.Duration { return e.startedAt }

// Admin returns gameday's own Kubernetes client config.
func (e *Env) Admin() *rest.Config { return e.Cluster.Admin() }

// AuditLog returns the path of the API server's audit log.
func (e *Env) AuditLog() string { return e.Cluster.AuditLog() }

// Client returns an admin clientset.
func (e *Env) Client() kubernetes.Interface { return e.client }

// OperatorEnv returns the environment that points kubectl and the aws CLI
// at the environment as the operator.
func (e *Env) OperatorEnv() []string {
	return append([]string{"KUBECONFIG=" + e.Cluster.OperatorKubeconfig()}, e.AWS.OperatorEnv()...)
}

// ResponderEnv gives a named responder an identity of their own, with
// the operator's rights: an IAM user of that name, and a Kubernetes user
// of that name in the operators' group. Where the backend takes EKS's
// webhooks, that Kubernetes user is the IAM user's access entry and the
// kubeconfig is the one `aws eks update-kubeconfig` writes (kubectl runs
// `aws eks get-token`); elsewhere it is a client certificate. It returns
// the environment that points kubectl and the aws CLI at the environment
// as that responder.
func (e *Env) ResponderEnv(ctx context.Context, name string) ([]string, error) {
	path := filepath.Join(e.Dir, "responder-"+name+".kubeconfig")
	creds, err := e.AWS.AddUser(ctx, name)
	if err != nil {
		return nil, errkind.E(errkind.Infra, fmt.Errorf("responder %s: %w", name, err))
	}
	if e.clusterName != "" {
		err = e.Account.GrantClusterAccess(ctx, e.Account.UserARN(name), name, []string{operator.Group})
		if err == nil {
			err = e.writeIAMKubeconfig(path, name)
		}
	} else {
		err = e.Cluster.IssueKubeconfig(ctx, name, path)
	}
	if err != nil {
		return nil, errkind.E(errkind.Infra, fmt.Errorf("responder %s: %w", name, err))
	}
	return append([]string{"KUBECONFIG=" + path}, e.AWS.UserEnv(creds)...), nil
}

// group returns a node group's converted spec.
func (e *Env) group(name string) (eks.NodeGroup, error) {
	g, ok := e.groups[name]
	if !ok {
		return eks.NodeGroup{}, errkind.Errorf(errkind.Invalid, "no node group %q in the scenario", name)
	}
	return g, nil
}

// CreateNodeGroup creates a (deferred) node group in EKS, then brings its
// nodes into service.
func (e *Env) CreateNodeGroup(ctx context.Context, name string) error {
	ng, err := e.NodeGroup(name)
	if err != nil {
		return err
	}
	g, err := e.group(name)
	if err != nil {
		return err
	}
	if err := e.Account.CreateNodegroup(ctx, ng); err != nil {
		return err
	}
	return e.Cluster.SetNodeGroupSize(ctx, g, ng.Size)
}

// ScaleNodeGroup changes a node group's size in EKS, then in the cluster.
func (e *Env) ScaleNodeGroup(ctx context.Context, name string, size int) error {
	g, err := e.group(name)
	if err != nil {
		return err
	}
	if err := eks.CheckSize(size, 0); err != nil {
		return errkind.Errorf(errkind.Invalid, "node group %s: %v", name, err)
	}
	if err := e.Account.ScaleNodegroup(ctx, name, size); err != nil {
		return err
	}
	return e.Cluster.SetNodeGroupSize(ctx, g, size)
}

// DeleteNodeGroup deletes a node group from EKS, then drains its nodes
// and takes them out of the cluster.
func (e *Env) DeleteNodeGroup(ctx context.Context, name string) error {
	g, err := e.group(name)
	if err != nil {
		return err
	}
	if err := e.Account.DeleteNodegroup(ctx, name); err != nil {
		return err
	}
	if err := nodeops.Drain(ctx, e.client, name, deleteDrainTimeout, e.Log); err != nil {
		return fmt.Errorf("delete node group %s: %w", name, err)
	}
	return e.Cluster.SetNodeGroupSize(ctx, g, 0)
}

// CordonNodeGroup (un)cordons a node group's nodes.
func (e *Env) CordonNodeGroup(ctx context.Context, name string, unschedulable bool) error {
	if _, err := e.group(name); err != nil {
		return err
	}
	return nodeops.Cordon(ctx, e.client, name, unschedulable)
}

// DrainNodeGroup cordons a node group and evicts its pods, honouring
// PodDisruptionBudgets.
func (e *Env) DrainNodeGroup(ctx context.Context, name string, timeout time.Duration) error {
	if _, err := e.group(name); err != nil {
		return err
	}
	return nodeops.Drain(ctx, e.client, name, timeout, e.Log)
}

// node resolves a reference to one node of a group to the node's name:
// the group's nodes ordered by name, the index-th.
func (e *Env) node(ctx context.Context, ref scenarios.NodeRef) (string, error) {
	if _, err := e.group(ref.NodeGroup); err != nil {
		return "", err
	}
	nodes, err := nodeops.Nodes(ctx, e.client, ref.NodeGroup)
	if err != nil {
		return "", err
	}
	if ref.Index < 0 || ref.Index >= len(nodes) {
		return "", errkind.Errorf(errkind.Invalid, "node group %s has %d nodes now; there is no node %d", ref.NodeGroup, len(nodes), ref.Index)
	}
	return nodes[ref.Index].Name, nil // ordered by name
}

// onNode runs fn with the cluster's NodeFaults and the name of the node
// ref names; a backend that cannot fail a node says so.
func (e *Env) onNode(ctx context.Context, ref scenarios.NodeRef, fn func(f NodeFaults, node string) error) error {
	f, ok := e.Cluster.(NodeFaults)
	if !ok {
		return errkind.Errorf(errkind.Invalid, "this backend cannot stop a node's kubelet or runtime, or fill its disk")
	}
	name, err := e.node(ctx, ref)
	if err != nil {
		return err
	}
	return fn(f, name)
}

// StopNode stops one node's kubelet or container runtime.
func (e *Env) StopNode(ctx context.Context, ref scenarios.NodeRef, component string) error {
	return e.onNode(ctx, ref, func(f NodeFaults, node string) error { return f.StopNode(ctx, node, component) })
}

// StartNode starts one node's kubelet or container runtime again.
func (e *Env) StartNode(ctx context.Context, ref scenarios.NodeRef, component string) error {
	return e.onNode(ctx, ref, func(f NodeFaults, node string) error { return f.StartNode(ctx, node, component) })
}

// FillNodeDisk writes bytes to one node's root volume (0 frees it).
func (e *Env) FillNodeDisk(ctx context.Context, ref scenarios.NodeRef, bytes int64) error {
	return e.onNode(ctx, ref, func(f NodeFaults, node string) error { return f.FillNodeDisk(ctx, node, bytes) })
}

// DefaultTimings are the timings of a scenario that sets none.
func DefaultTimings() Timings {
	var s scenarios.Scenario
	scenarios.DefaultTimings(&s.Spec.Environment.Cluster.Timings)
	return timings(s.Spec.Environment.Cluster.Timings)
}

// timings converts a scenario's timings for the backends.
func timings(t scenarios.Timings) Timings {
	return Timings{
		HPASyncPeriod: t.HPASyncPeriod.Duration, MetricsResolution: t.MetricsResolution.Duration,
		NodeMonitorGracePeriod: t.NodeMonitorGracePeriod.Duration, EvictionPressureTransitionPeriod: t.EvictionPressureTransitionPeriod.Duration,
		CrashLoopBackOffMax: t.CrashLoopBackOffMax.Duration, VolumeStatsAggPeriod: t.VolumeStatsAggPeriod.Duration,
	}
}
