package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/verify"
)

// Defaults, applied in one place by applyDefaults.
const (
	DefaultAccountID      = "123456789012"
	DefaultRegion         = "us-east-1"
	DefaultClusterVersion = "1.32"
	DefaultDifficulty     = "intermediate"
	DefaultTimeLimit      = 30 * time.Minute
	DefaultNodeGroupSize  = 2
	DefaultInstanceType   = eks.DefaultInstanceType
	DefaultCapacityType   = eks.DefaultCapacityType
	DefaultImageLayers    = 2
	DefaultSymptomTimeout = 3 * time.Minute
	// DefaultVerificationTimeout bounds a verification (Verification).
	DefaultVerificationTimeout = 3 * time.Minute
	DefaultStepTimeout         = 2 * time.Minute
	DefaultExecTimeout         = time.Minute
	DefaultCheckTimeout        = 10 * time.Second
	DefaultPolicyVersion       = "2012-10-17"
	// DefaultWrongFixObserve is how long a wrong fix's game goes on after
	// its last step (WrongFix.Observe).
	DefaultWrongFixObserve = 20 * time.Second
)

// managedPolicyPrefix is the ARN prefix of AWS managed policies.
const managedPolicyPrefix = "arn:aws:iam::aws:policy/"

// PolicyARN expands a bare AWS managed policy name to its ARN and returns
// an ARN unchanged.
func PolicyARN(nameOrARN string) string {
	if strings.HasPrefix(nameOrARN, "arn:") {
		return nameOrARN
	}
	return managedPolicyPrefix + nameOrARN
}

// applyDefaults fills every defaulted field. It runs after a successful
// decode and before validation.
func applyDefaults(s *Scenario) {
	md := &s.Metadata
	if md.Difficulty == "" {
		md.Difficulty = DefaultDifficulty
	}
	if md.TimeLimit.IsZero() {
		md.TimeLimit.Duration = DefaultTimeLimit
	}
	defaultEnvironment(&s.Spec.Environment)
	for i := range s.Spec.Steps {
		st := &s.Spec.Steps[i]
		if st.Phase == "" {
			st.Phase = PhaseSetup
		}
		if d, ok := st.Action.(Defaulter); ok {
			d.Default()
		}
	}
	if vf := s.Spec.Verification; vf != nil {
		for _, steps := range [][]Step{vf.Steps, vf.Again} {
			for i := range steps {
				if d, ok := steps[i].Action.(Defaulter); ok {
					d.Default()
				}
			}
		}
		if vf.Timeout.IsZero() {
			vf.Timeout.Duration = DefaultVerificationTimeout
		}
		if vf.Attempts == 0 {
			vf.Attempts = DefaultVerificationAttempts
		}
	}
	for i := range s.Spec.AlertMatchers {
		if m := &s.Spec.AlertMatchers[i]; m.Resource == "" {
			m.Resource = "{{namespace}}/{{pod}}"
		}
	}
	if s.Spec.Symptoms.Timeout.IsZero() {
		s.Spec.Symptoms.Timeout.Duration = DefaultSymptomTimeout
	}
	for i := range s.Spec.Objectives {
		o := &s.Spec.Objectives[i]
		if o.Target.IsZero() {
			o.Target = md.TimeLimit
		}
	}
	for i := range s.Spec.WrongFixes {
		if w := &s.Spec.WrongFixes[i]; w.Observe.IsZero() {
			w.Observe.Duration = DefaultWrongFixObserve
		}
	}
	walkConditions(s, func(c *Condition) {
		if d, ok := c.Leaf.(Defaulter); ok {
			d.Default()
		}
	})
}

// defaultEnvironment fills in the environment's defaults: the AWS
// account and region, the cluster's version and timings, and each
// role's, node group's and image's.
func defaultEnvironment(env *Environment) {
	if env.AWS.AccountID == "" {
		env.AWS.AccountID = DefaultAccountID
	}
	if env.AWS.Region == "" {
		env.AWS.Region = DefaultRegion
	}
	if env.Cluster.Version == "" {
		env.Cluster.Version = DefaultClusterVersion
	}
	DefaultTimings(&env.Cluster.Timings)
	for i := range env.IAM.Policies {
		defaultPolicy(&env.IAM.Policies[i].Document)
	}
	for i := range env.IAM.Roles {
		r := &env.IAM.Roles[i]
		if len(r.AssumedBy) == 0 {
			r.AssumedBy = []string{"ec2.amazonaws.com"}
		}
		for j, p := range r.ManagedPolicies {
			r.ManagedPolicies[j] = PolicyARN(p)
		}
		for j := range r.InlinePolicies {
			defaultPolicy(&r.InlinePolicies[j].Document)
		}
	}
	for i := range env.NodeGroups {
		ng := &env.NodeGroups[i]
		if ng.Size == 0 {
			ng.Size = DefaultNodeGroupSize
		}
		if ng.InstanceType == "" {
			ng.InstanceType = DefaultInstanceType
		}
		if ng.CapacityType == "" {
			ng.CapacityType = DefaultCapacityType
		}
		if ng.Zone == "" {
			ng.Zone = env.AWS.Region + "a"
		}
		if ng.Subnet == "" {
			ng.Subnet = fmt.Sprintf("10.0.%d.0/24", i+1)
		}
	}
	for i := range env.ECR.Repositories {
		for j := range env.ECR.Repositories[i].Images {
			if img := &env.ECR.Repositories[i].Images[j]; img.Layers == 0 {
				img.Layers = DefaultImageLayers
			}
		}
	}
}

func expandPolicy(p string) string {
	if p == "" {
		return ""
	}
	return PolicyARN(p)
}

func defaultPolicy(d *PolicyDocument) {
	if d.Version == "" {
		d.Version = DefaultPolicyVersion
	}
}

// Step phases.
const (
	PhaseSetup = "setup"
	PhaseFault = "fault"
)

// Patch types.
const (
	PatchStrategic = "strategic"
	PatchMerge     = "merge"
	PatchJSON      = "json"
)

// Finding sources: the journal's vocabulary, which the language shares.
const (
	SourceAny      = verify.SourceAny
	SourceOperator = verify.SourceOperator
	SourceDetector = verify.SourceDetector
)

// Objective categories: the journal's vocabulary, which the language
// shares.
const (
	CategoryDetect    = verify.CategoryDetect
	CategoryRootCause = verify.CategoryRootCause
	CategoryFix       = verify.CategoryFix
	CategoryRestart   = verify.CategoryRestart
	CategoryRecover   = verify.CategoryRecover
	CategoryOther     = verify.CategoryOther
)

// walkConditions calls fn on every condition in the scenario, depth first,
// parents before children.
func walkConditions(s *Scenario, fn func(*Condition)) {
	var walk func(c *Condition)
	walk = func(c *Condition) {
		fn(c)
		for i := range c.All {
			walk(&c.All[i])
		}
		for i := range c.Any {
			walk(&c.Any[i])
		}
		if c.Not != nil {
			walk(c.Not)
		}
	}
	for i := range s.Spec.Steps {
		if h, ok := s.Spec.Steps[i].Action.(interface{ conditions() []*Condition }); ok {
			for _, c := range h.conditions() {
				walk(c)
			}
		}
	}
	for i := range s.Spec.Symptoms.Checks {
		walk(&s.Spec.Symptoms.Checks[i].When)
	}
	for i := range s.Spec.Objectives {
		walk(&s.Spec.Objectives[i].When)
	}
	for i := range s.Spec.Penalties {
		walk(&s.Spec.Penalties[i].When)
	}
	if vf := s.Spec.Verification; vf != nil {
		if vf.Ready != nil {
			walk(vf.Ready)
		}
		walk(&vf.Watch)
		walk(&vf.Settled)
	}
}

// Backends a scenario's environment.infra may name.
const (
	InfraEmbedded = "embedded"
	InfraKind     = "kind"
)

// Infras are the backends, default first.
var Infras = []string{InfraEmbedded, InfraKind}
