package scenarios

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"time"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/gameday-sre/gameday/internal/domain/iampolicy"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// Condition is a typed predicate over the cluster, the AWS account and the
// run's findings. Exactly one key is set: all, any or not combine other
// conditions; every other key is a leaf kind.
type Condition struct {
	// All holds when every listed condition holds.
	All []Condition `yaml:"all"`
	// Any holds when at least one listed condition holds.
	Any []Condition `yaml:"any"`
	// Not holds when its condition does not.
	Not *Condition `yaml:"not"`

	// Kind is the leaf's YAML key ("pods"); set by the loader.
	Kind string `yaml:"-"`
	// Leaf is the decoded leaf condition; set by the loader.
	Leaf ConditionKind `yaml:"-"`

	// set are the keys the document set, sorted.
	set []string
}

// ConditionKind is one kind of leaf condition. A kind is a type in a file
// of its own (cond_*.go here) that registers itself with
// RegisterCondition; it may also implement Defaulter.
type ConditionKind interface {
	// Check validates the condition, whose YAML path is p, recording
	// every problem through c.
	Check(c *Checker, p string)
	// Eval reports whether the condition holds in w, and what was
	// observed, for messages.
	Eval(ctx context.Context, w World) (bool, string)
}

// World is the state conditions read: the cluster through informer
// caches, the AWS account, and the run's claims and objectives. Package
// verify provides it.
type World interface {
	// Pods lists the cluster's pods.
	Pods() []*corev1.Pod
	// Deployment returns one Deployment.
	Deployment(namespace, name string) (*appsv1.Deployment, bool)
	// EndpointSlices lists the cluster's EndpointSlices.
	EndpointSlices() []*discoveryv1.EndpointSlice
	// Nodes lists the cluster's nodes.
	Nodes() []*corev1.Node
	// Events lists the cluster's events.
	Events() []*corev1.Event
	// Object gets any object; the bool is false when it does not exist.
	Object(ctx context.Context, ref ObjectRef) (map[string]any, bool, error)
	// Restarted is when a Deployment's pods were last restarted (its
	// restartedAt annotation changed) after handover.
	Restarted(namespace, name string) (time.Time, bool)
	// Achieved is when an objective was achieved.
	Achieved(objective string) (time.Time, bool)
	// NodeGroupSize is a node group's desired size and whether it exists.
	NodeGroupSize(ctx context.Context, name string) (size int, exists bool, err error)
	// RolePolicies are a role's attached managed policy ARNs and all its
	// policy documents.
	RolePolicies(ctx context.Context, role string) (attached []string, docs []iampolicy.Named, err error)
	// RightClaim finds the first right claim matching q, describing it.
	RightClaim(q *FindingCondition) (string, bool)
	// Claims counts the claims made so far.
	Claims() int
	// Regexp compiles a validated regular expression with the scenario
	// variables inserted quoted.
	Regexp(expr string) *regexp.Regexp
	// Verification is the scenario's verification so far: whether it
	// ended, passed, and what was seen (": ..." or empty).
	Verification() (passed, done bool, why string)
	// Behaviour finds how an image behaves (the scenario's ECR images
	// declare it); false for an image that declares nothing.
	Behaviour(image string) (behaviour.App, bool)
	// Run runs a command with the scenario variables expanded and
	// returns its exit code (-1 when it did not exit).
	Run(ctx context.Context, argv []string, timeout time.Duration) int
}

// combinators are the keys of a condition that combine others.
var combinators = []string{"all", "any", "not"}

// conditionKinds are the registered leaf condition kinds.
var conditionKinds = newRegistry[ConditionKind]("condition", combinators...)

// RegisterCondition makes a leaf condition kind known under its YAML key.
// It panics if the name is taken or newKind does not return a pointer.
func RegisterCondition(name string, newKind func() ConditionKind) { conditionKinds.add(name, newKind) }

// ConditionKinds lists the registered leaf condition kinds by name.
func ConditionKinds() []Kind { return conditionKinds.list() }

// conditionKeys are every key a condition may hold: the combinators,
// then the leaf kinds.
func conditionKeys() []string {
	return append(slices.Clone(combinators), conditionKinds.names()...)
}

// decodeNode decodes the combinators as fields and a leaf key through
// the registry.
func (c *Condition) decodeNode(d *decoder, n *yaml.Node, path string) {
	d.mapping(n, path, func(k, val *yaml.Node, fp string) {
		switch k.Value {
		case "all":
			d.decode(val, reflectValue(&c.All), fp)
			if c.All == nil {
				c.All = []Condition{}
			}
		case "any":
			d.decode(val, reflectValue(&c.Any), fp)
			if c.Any == nil {
				c.Any = []Condition{}
			}
		case "not":
			d.decode(val, reflectValue(&c.Not), fp)
			if c.Not == nil {
				c.Not = &Condition{}
			}
		default:
			leaf, ok := conditionKinds.make(k.Value)
			if !ok {
				d.errorAt(k, fp, "unknown field %q%s", k.Value, didYouMean(k.Value, conditionKeys()))
				return
			}
			d.decode(val, reflect.ValueOf(leaf).Elem(), fp)
			if c.Leaf == nil {
				c.Kind, c.Leaf = k.Value, leaf
			}
		}
		c.set = append(c.set, k.Value)
	})
	keys := conditionKeys()
	slices.SortFunc(c.set, func(a, b string) int { return slices.Index(keys, a) - slices.Index(keys, b) })
}

// countHolds reports whether n is within c.
func countHolds(n int, c Count) bool {
	if c.AtLeast == nil && c.AtMost == nil {
		return n >= 1
	}
	return (c.AtLeast == nil || n >= *c.AtLeast) && (c.AtMost == nil || n <= *c.AtMost)
}

// countText says c in words.
func countText(c Count) string {
	switch {
	case c.AtLeast != nil && c.AtMost != nil:
		return fmt.Sprintf("%d..%d", *c.AtLeast, *c.AtMost)
	case c.AtLeast != nil:
		return fmt.Sprintf("at least %d", *c.AtLeast)
	case c.AtMost != nil:
		return fmt.Sprintf("at most %d", *c.AtMost)
	}
	return "at least 1"
}

// Count bounds a number. With neither bound set it means "at least 1".
type Count struct {
	// AtLeast is the inclusive lower bound.
	AtLeast *int `yaml:"atLeast"`
	// AtMost is the inclusive upper bound.
	AtMost *int `yaml:"atMost"`
}

// Permission is a set of actions on a resource.
type Permission struct {
	// Actions are concrete action names. At least one.
	Actions []string `yaml:"actions"`
	// Resource is a resource ARN. Default "*".
	Resource string `yaml:"resource"`
}
