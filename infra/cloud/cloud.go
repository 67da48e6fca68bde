// Package cloud is the AWS side of a scenario's environment, the same on
// every backend: the AWS emulator with the scenario's IAM, EKS and ECR
// objects (infra/aws), and the ECR registry whose pulls the nodes' IAM
// roles decide (infra/ecr). Backends add a cluster and tell the registry
// how to find a pulling node's node group.
package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"

	"github.com/gameday-sre/gameday/infra/aws"
	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/internal/domain/iampolicy"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// Cloud is a running AWS plane for one scenario.
type Cloud struct {
	// AWS is the emulator.
	AWS *aws.Emulator
	// Account applies AWS changes as gameday's admin.
	Account *aws.Account
	// Registry serves the account's ECR host, once ServeRegistry ran.
	Registry *ecr.Server
	// Scenario is the scenario the plane was built for.
	Scenario *scenarios.Scenario
	// Dir is the run directory.
	Dir string
	// RunID is the run id everything created is labelled with.
	RunID string
	// Log is the progress logger.
	Log *slog.Logger
	// ImageOptions build the scenario's images; a backend whose nodes
	// run them sets a base (ecr.WithBase).
	ImageOptions []ecr.BuildOption

	stops *Stops
}

type options struct {
	emulator string
	dir      string
	runID    string
	log      *slog.Logger
	onCall   func(aws.Call)
}

// Option configures an environment, on any backend.
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

// Params are the settings of Options that a backend's cluster needs too.
type Params struct {
	// Dir is the run directory.
	Dir string
	// RunID is the run id.
	RunID string
	// Log is the progress logger (a no-op by default).
	Log *slog.Logger
}

// ParamsOf applies opts and returns the shared settings, so that a
// backend can start its cluster while Start builds the AWS plane.
func ParamsOf(opts ...Option) (Params, error) {
	o, err := apply(opts)
	if err != nil {
		return Params{}, err
	}
	return Params{Dir: o.dir, RunID: o.runID, Log: o.log}, nil
}

// apply applies opts over the defaults and checks them.
func apply(opts []Option) (options, error) {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if o.dir == "" {
		return o, errkind.Errorf(errkind.Invalid, "environment: run directory required")
	}
	return o, nil
}

// Stops collects stop functions and runs them in reverse order.
type Stops []func(context.Context) error

// Add appends a stop function.
func (s *Stops) Add(f func(context.Context) error) { *s = append(*s, f) }

// Stop runs every stop function, last added first, and joins their
// errors. It runs each once.
func (s *Stops) Stop(ctx context.Context) error {
	var errs []error
	for i := len(*s) - 1; i >= 0; i-- {
		errs = append(errs, (*s)[i](ctx))
	}
	*s = nil
	return errors.Join(errs...)
}

// Start starts the AWS emulator and sets up the scenario's account. The
// returned stop function is never nil and undoes everything, including a
// registry started later by ServeRegistry.
func Start(ctx context.Context, s *scenarios.Scenario, opts ...Option) (*Cloud, func(context.Context) error, error) {
	stops := &Stops{}
	o, err := apply(opts)
	if err != nil {
		return nil, stops.Stop, err
	}
	env := s.Spec.Environment
	c := &Cloud{Scenario: s, Dir: o.dir, RunID: o.runID, Log: o.log}
	c.stops = stops
	emu, stopAWS, err := aws.Start(ctx, o.emulator, o.runID, aws.WithAccountID(env.AWS.AccountID), aws.WithRegion(env.AWS.Region),
		aws.WithLogFile(filepath.Join(o.dir, "moto.log")), aws.WithLogger(o.log), aws.WithCallLog(o.onCall))
	stops.Add(stopAWS)
	if err != nil {
		return nil, stops.Stop, err
	}
	c.AWS = emu
	c.Account = aws.NewAccount(emu, env.Cluster.Name, o.runID)
	if err := c.Account.Setup(ctx, env); err != nil {
		return nil, stops.Stop, errkind.E(errkind.Infra, fmt.Errorf("set up AWS account: %w", err))
	}
	return c, stops.Stop, nil
}

// ServeRegistry starts the ECR registry, with pulls decided by the
// pulling node's node group's role (groupOf finds the group), and pushes
// the scenario's images. Start's stop function stops it.
func (c *Cloud) ServeRegistry(ctx context.Context, groupOf aws.NodeGroupOf, opts ...ecr.Option) error {
	env := c.Scenario.Spec.Environment
	host := scenarios.ECRRegistry(env.AWS.AccountID, env.AWS.Region)
	opts = append([]ecr.Option{ecr.WithLogger(c.Log)}, opts...)
	reg, stopReg, err := ecr.Start(ctx, host, aws.NewPullAuthorizer(c.Account, groupOf), opts...)
	c.stops.Add(stopReg)
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	c.Registry = reg
	for _, r := range env.ECR.Repositories {
		for _, img := range r.Images {
			if err := c.PushImage(ctx, r.Name, img.Tag, img.Layers); err != nil {
				return err
			}
		}
	}
	return nil
}

// behaviourOf is how the scenario says repo:tag behaves, or nil.
func (c *Cloud) behaviourOf(repo, tag string) *behaviour.App {
	for _, r := range c.Scenario.Spec.Environment.ECR.Repositories {
		for _, img := range r.Images {
			if r.Name == repo && img.Tag == tag {
				return img.Behaviour
			}
		}
	}
	return nil
}

// NodeGroup returns the scenario's node group called name.
func (c *Cloud) NodeGroup(name string) (scenarios.NodeGroup, error) {
	for _, ng := range c.Scenario.Spec.Environment.NodeGroups {
		if ng.Name == name {
			return ng, nil
		}
	}
	return scenarios.NodeGroup{}, errkind.Errorf(errkind.Invalid, "no node group %q in the scenario", name)
}

// PushImage builds repository:tag, pushes it to the registry and records
// it in ECR.
func (c *Cloud) PushImage(ctx context.Context, repo, tag string, layers int) error {
	opts := slices.Clone(c.ImageOptions)
	if app := c.behaviourOf(repo, tag); app != nil {
		spec, err := json.Marshal(app)
		if err != nil {
			return fmt.Errorf("behaviour of %s:%s: %w", repo, tag, err)
		}
		opts = append(opts, ecr.WithSpec(spec))
	}
	img, err := ecr.BuildImage(repo, tag, layers, opts...)
	if err != nil {
		return err
	}
	manifest, _, err := c.Registry.Push(ctx, repo, tag, img)
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	return c.Account.PutImage(ctx, repo, tag, manifest, string(mt))
}

// DeleteImage removes a tag from the registry and ECR.
func (c *Cloud) DeleteImage(ctx context.Context, repo, tag string) error {
	if err := c.Registry.Delete(ctx, repo, tag); err != nil {
		return err
	}
	return c.Account.BatchDeleteImage(ctx, repo, tag)
}

// AttachRolePolicy attaches a managed policy to a role.
func (c *Cloud) AttachRolePolicy(ctx context.Context, role, policyARN string) error {
	return c.Account.AttachRolePolicy(ctx, role, policyARN)
}

// DetachRolePolicy detaches a managed policy from a role.
func (c *Cloud) DetachRolePolicy(ctx context.Context, role, policyARN string) error {
	return c.Account.DetachRolePolicy(ctx, role, policyARN)
}

// PutRolePolicy adds an inline policy to a role.
func (c *Cloud) PutRolePolicy(ctx context.Context, role, name string, doc scenarios.PolicyDocument) error {
	return c.Account.PutRolePolicy(ctx, role, name, doc)
}

// DeleteRolePolicy removes an inline policy from a role.
func (c *Cloud) DeleteRolePolicy(ctx context.Context, role, name string) error {
	return c.Account.DeleteRolePolicy(ctx, role, name)
}

// RolePolicies returns a role's attached policies and documents.
func (c *Cloud) RolePolicies(ctx context.Context, role string) ([]string, []iampolicy.Named, error) {
	return c.Account.RolePolicies(ctx, role)
}

// NodegroupSize returns a node group's desired size in EKS.
func (c *Cloud) NodegroupSize(ctx context.Context, name string) (int, bool, error) {
	return c.Account.NodegroupSize(ctx, name)
}
