// Package stack assembles a scenario's whole environment on the embedded
// backend: the in-process Kubernetes cluster (infra/embedded), the AWS
// emulator with the scenario's IAM, EKS and ECR objects (infra/aws), and
// the ECR registry whose pulls the nodes' IAM roles decide (infra/ecr).
// It offers the operations that scenario steps perform on node groups,
// IAM and images, each applied to both the AWS plane and the cluster.
package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/gameday-sre/gameday/infra/aws"
	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/infra/embedded"
	"github.com/gameday-sre/gameday/internal/errkind"
	"github.com/gameday-sre/gameday/internal/iampolicy"
	"github.com/gameday-sre/gameday/scenarios"
)

// Stack is a running environment for one scenario.
type Stack struct {
	// Cluster is the Kubernetes side.
	Cluster *embedded.Env
	// AWS is the emulator.
	AWS *aws.Emulator
	// Account applies AWS changes as gameday's admin.
	Account *aws.Account
	// Registry serves the account's ECR host.
	Registry *ecr.Server

	scenario *scenarios.Scenario
	puller   *ecr.Puller
	log      *slog.Logger
	dir      string
}

type options struct {
	emulator string
	dir      string
	runID    string
	log      *slog.Logger
	onCall   func(aws.Call)
}

// Option configures Start.
type Option func(*options) error

// WithDir sets the run directory (required).
func WithDir(dir string) Option { return func(o *options) error { o.dir = dir; return nil } }

// WithRunID sets the run id.
func WithRunID(id string) Option { return func(o *options) error { o.runID = id; return nil } }

// WithLogger sets the progress logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) error { o.log = l; return nil } }

// WithEmulator chooses the AWS emulator: auto (default), moto,
// moto-container or localstack.
func WithEmulator(kind string) Option {
	return func(o *options) error { o.emulator = kind; return nil }
}

// WithAWSCallLog receives every call made to the AWS emulator.
func WithAWSCallLog(f func(aws.Call)) Option {
	return func(o *options) error { o.onCall = f; return nil }
}

// Start provisions the scenario's environment: AWS account, registry
// with the scenario's images, and the cluster with its initial node
// groups. The returned stop function is never nil and undoes everything.
func Start(ctx context.Context, s *scenarios.Scenario, opts ...Option) (st *Stack, stop func(context.Context) error, err error) {
	o := options{log: slog.New(slog.DiscardHandler)}
	var stops []func(context.Context) error
	stop = func(ctx context.Context) error {
		var errs []error
		for i := len(stops) - 1; i >= 0; i-- {
			errs = append(errs, stops[i](ctx))
		}
		stops = nil
		return errors.Join(errs...)
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, stop, err
		}
	}
	if o.dir == "" {
		return nil, stop, errkind.Errorf(errkind.Invalid, "stack: run directory required")
	}
	env := s.Spec.Environment
	st = &Stack{scenario: s, log: o.log, dir: o.dir}

	emu, stopAWS, err := aws.Start(ctx, o.emulator, o.runID, aws.WithAccountID(env.AWS.AccountID), aws.WithRegion(env.AWS.Region),
		aws.WithLogFile(filepath.Join(o.dir, "moto.log")), aws.WithLogger(o.log), aws.WithCallLog(o.onCall))
	stops = append(stops, stopAWS)
	if err != nil {
		return nil, stop, err
	}
	st.AWS = emu
	st.Account = aws.NewAccount(emu, env.Cluster.Name, o.runID)
	if err := st.Account.Setup(ctx, env); err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("set up AWS account: %w", err))
	}

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
	host := scenarios.ECRRegistry(env.AWS.AccountID, env.AWS.Region)
	reg, stopReg, err := ecr.Start(ctx, host, aws.NewPullAuthorizer(st.Account, groupOf), ecr.WithLogger(o.log))
	stops = append(stops, stopReg)
	if err != nil {
		return nil, stop, errkind.E(errkind.Infra, err)
	}
	st.Registry = reg
	st.puller = &ecr.Puller{Server: reg}
	for _, r := range env.ECR.Repositories {
		for _, img := range r.Images {
			if err := st.PushImage(ctx, r.Name, img.Tag, img.Layers); err != nil {
				return nil, stop, err
			}
		}
	}

	var groups []embedded.NodeGroup
	for _, ng := range env.NodeGroups {
		if !ng.Deferred {
			groups = append(groups, st.nodeGroup(ng))
		}
	}
	c, stopCluster, err := embedded.Start(ctx, embedded.WithDir(o.dir), embedded.WithRunID(o.runID),
		embedded.WithRegion(env.AWS.Region), embedded.WithNodeGroups(groups...), embedded.WithLogger(o.log))
	stops = append(stops, stopCluster)
	if err != nil {
		return nil, stop, err
	}
	clusterRef.Store(c)
	st.Cluster = c
	return st, stop, nil
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

func (st *Stack) spec(name string) (scenarios.NodeGroup, error) {
	for _, ng := range st.scenario.Spec.Environment.NodeGroups {
		if ng.Name == name {
			return ng, nil
		}
	}
	return scenarios.NodeGroup{}, errkind.Errorf(errkind.Invalid, "no node group %q in the scenario", name)
}

// CreateNodeGroup creates a (deferred) node group in EKS and brings its
// nodes up.
func (st *Stack) CreateNodeGroup(ctx context.Context, name string) error {
	ng, err := st.spec(name)
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

// PushImage builds repository:tag, pushes it to the registry and records
// it in ECR.
func (st *Stack) PushImage(ctx context.Context, repo, tag string, layers int) error {
	img, err := ecr.BuildImage(repo, tag, layers)
	if err != nil {
		return err
	}
	manifest, _, err := st.Registry.Push(ctx, repo, tag, img)
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	return st.Account.PutImage(ctx, repo, tag, manifest, string(mt))
}

// DeleteImage removes a tag from the registry and ECR.
func (st *Stack) DeleteImage(ctx context.Context, repo, tag string) error {
	if err := st.Registry.Delete(ctx, repo, tag); err != nil {
		return err
	}
	return st.Account.BatchDeleteImage(ctx, repo, tag)
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

// AttachRolePolicy attaches a managed policy to a role.
func (st *Stack) AttachRolePolicy(ctx context.Context, role, policyARN string) error {
	return st.Account.AttachRolePolicy(ctx, role, policyARN)
}

// DetachRolePolicy detaches a managed policy from a role.
func (st *Stack) DetachRolePolicy(ctx context.Context, role, policyARN string) error {
	return st.Account.DetachRolePolicy(ctx, role, policyARN)
}

// PutRolePolicy adds an inline policy to a role.
func (st *Stack) PutRolePolicy(ctx context.Context, role, name string, doc scenarios.PolicyDocument) error {
	return st.Account.PutRolePolicy(ctx, role, name, doc)
}

// DeleteRolePolicy removes an inline policy from a role.
func (st *Stack) DeleteRolePolicy(ctx context.Context, role, name string) error {
	return st.Account.DeleteRolePolicy(ctx, role, name)
}

// RolePolicies returns a role's attached policies and documents.
func (st *Stack) RolePolicies(ctx context.Context, role string) ([]string, []iampolicy.Named, error) {
	return st.Account.RolePolicies(ctx, role)
}

// NodegroupSize returns a node group's desired size in EKS.
func (st *Stack) NodegroupSize(ctx context.Context, name string) (int, bool, error) {
	return st.Account.NodegroupSize(ctx, name)
}
