package scenarios

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Step is one setup or fault action. Besides name and phase, a step has
// exactly one action key, which says what it does.
type Step struct {
	// Name describes the step in progress output and the journal. Required.
	Name string `yaml:"name"`
	// Phase is setup or fault. Default setup.
	Phase string `yaml:"phase"`

	// Kind is the action's YAML key ("drainNodeGroup"); set by the loader.
	Kind string `yaml:"-"`
	// Action is the decoded action; set by the loader.
	Action StepAction `yaml:"-"`

	// actions are the action keys the document set, sorted; the Checker
	// reports a step with none or several.
	actions []string
}

// StepAction is one kind of step action: the value under a step's action
// key. A kind is a type in a file of its own (step_*.go here) that
// registers itself with RegisterStep; it may also implement Defaulter.
type StepAction interface {
	// Check validates the action, whose YAML path is p, recording every
	// problem through c.
	Check(c *Checker, p string)
	// Run performs the action.
	Run(ctx context.Context, env StepEnv) error
}

// Defaulter is implemented by step actions and conditions that fill in
// defaults before they are checked.
type Defaulter interface {
	Default()
}

// StepEnv is what a step action acts on; the runner provides it.
type StepEnv interface {
	// CreateNodeGroup brings up a deferred node group.
	CreateNodeGroup(ctx context.Context, name string) error
	// ScaleNodeGroup changes a node group's size.
	ScaleNodeGroup(ctx context.Context, name string, size int) error
	// CordonNodeGroup marks a group's nodes (un)schedulable.
	CordonNodeGroup(ctx context.Context, name string, unschedulable bool) error
	// DrainNodeGroup cordons a group and evicts its pods.
	DrainNodeGroup(ctx context.Context, name string, timeout time.Duration) error
	// DeleteNodeGroup removes a node group and its nodes.
	DeleteNodeGroup(ctx context.Context, name string) error
	// AttachRolePolicy attaches a managed policy to a role.
	AttachRolePolicy(ctx context.Context, role, policyARN string) error
	// DetachRolePolicy detaches a managed policy from a role.
	DetachRolePolicy(ctx context.Context, role, policyARN string) error
	// PutRolePolicy adds or replaces an inline policy.
	PutRolePolicy(ctx context.Context, role, name string, doc PolicyDocument) error
	// DeleteRolePolicy removes an inline policy.
	DeleteRolePolicy(ctx context.Context, role, name string) error
	// PushImage pushes a new tag to a repository.
	PushImage(ctx context.Context, repo, tag string, layers int) error
	// DeleteImage deletes a tag from a repository.
	DeleteImage(ctx context.Context, repo, tag string) error
	// ApplyWorkload server-side applies a workload's objects.
	ApplyWorkload(ctx context.Context, name string) error
	// PatchObject patches one object with a patch of the given type
	// (PatchStrategic, PatchMerge, PatchJSON); body is JSON.
	PatchObject(ctx context.Context, target ObjectRef, patchType string, body []byte) error
	// DeleteObject deletes one object.
	DeleteObject(ctx context.Context, target ObjectRef) error
	// Wait blocks until the condition holds, or fails after timeout.
	Wait(ctx context.Context, c *Condition, timeout time.Duration) error
	// Command runs argv with the operator's environment, failing on a
	// non-zero exit.
	Command(ctx context.Context, argv []string) error
	// Expand replaces the scenario variables in text.
	Expand(text string) (string, error)
}

// StepKind describes a registered kind of step action.
type StepKind struct {
	// Name is the action's YAML key.
	Name string
	// Type is the Go type name of the action, whose doc comment and
	// fields document it.
	Type string
	new  func() StepAction
}

var (
	stepKindsMu sync.RWMutex
	stepKinds   = map[string]StepKind{}
)

// RegisterStep makes a step action kind known under its YAML key. It
// panics if the name is taken or newAction does not return a pointer, as
// two kinds of one name are a programming error.
func RegisterStep(name string, newAction func() StepAction) {
	a := newAction()
	t := reflect.TypeOf(a)
	if t == nil || t.Kind() != reflect.Pointer {
		panic(fmt.Sprintf("scenarios: step kind %q: action must be a pointer, got %T", name, a))
	}
	stepKindsMu.Lock()
	defer stepKindsMu.Unlock()
	if _, dup := stepKinds[name]; dup || name == "name" || name == "phase" {
		panic(fmt.Sprintf("scenarios: step kind %q registered twice", name))
	}
	stepKinds[name] = StepKind{Name: name, Type: t.Elem().Name(), new: newAction}
}

// StepKinds lists the registered step action kinds by name.
func StepKinds() []StepKind {
	stepKindsMu.RLock()
	defer stepKindsMu.RUnlock()
	out := make([]StepKind, 0, len(stepKinds))
	for _, k := range stepKinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func stepKind(name string) (StepKind, bool) {
	stepKindsMu.RLock()
	defer stepKindsMu.RUnlock()
	k, ok := stepKinds[name]
	return k, ok
}

func stepKindNames() []string {
	var names []string
	for _, k := range StepKinds() {
		names = append(names, k.Name)
	}
	return names
}

// decodeNode decodes name and phase as fields and the one action key
// through the registry.
func (st *Step) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorAt(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	var actions []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k, path, "expected a field name, got %s", kindName(k))
			continue
		}
		fp := joinPath(path, k.Value)
		if seen[k.Value] {
			d.errorAt(k, fp, "duplicate field %q", k.Value)
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "name":
			d.decode(val, reflectValue(&st.Name), fp)
			continue
		case "phase":
			d.decode(val, reflectValue(&st.Phase), fp)
			continue
		}
		kind, ok := stepKind(k.Value)
		if !ok {
			d.errorAt(k, fp, "unknown field %q%s", k.Value, didYouMean(k.Value, append([]string{"name", "phase"}, stepKindNames()...)))
			continue
		}
		actions = append(actions, k.Value)
		a := kind.new()
		d.decode(val, reflect.ValueOf(a).Elem(), fp)
		if len(actions) == 1 {
			st.Kind, st.Action = k.Value, a
		}
	}
	slices.Sort(actions)
	st.actions = actions
	if len(actions) > 1 {
		st.Kind, st.Action = "", nil
	}
}

// registerStepForTest registers a kind for the length of a test.
func registerStepForTest(t interface{ Cleanup(func()) }, name string, newAction func() StepAction) {
	RegisterStep(name, newAction)
	t.Cleanup(func() {
		stepKindsMu.Lock()
		delete(stepKinds, name)
		stepKindsMu.Unlock()
	})
}
