package scenarios

import (
	"context"
	"reflect"
	"slices"
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

// NodeGroupOps change EKS managed node groups, in EKS and the cluster.
type NodeGroupOps interface {
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
}

// Node components a stopNode or startNode step acts on.
const (
	// NodeKubelet is the node's kubelet: stopped, it stops posting the
	// node's status, and after the grace period the node is NotReady
	// (Unknown: "Kubelet stopped posting node status.").
	NodeKubelet = "kubelet"
	// NodeRuntime is the node's container runtime (containerd): stopped,
	// the kubelet reports the node NotReady with "container runtime is
	// down", and no new container starts there.
	NodeRuntime = "runtime"
)

// NodeRef names one node of a node group: its index in the group's
// nodes, ordered by name (the lowest address first).
type NodeRef struct {
	// NodeGroup is the node's group. Required.
	NodeGroup string `yaml:"nodeGroup"`
	// Index is the node's place in the group, from 0. Default 0.
	Index int `yaml:"index"`
}

// node checks a reference to one node (fields nodeGroup and index
// under p): its group exists and has that many nodes at some point.
func (v *Checker) node(p string, n NodeRef) {
	if v.nodeGroup(p+".nodeGroup", n.NodeGroup) == nil {
		return
	}
	if size := v.s.PeakSize(n.NodeGroup); n.Index < 0 || n.Index >= size {
		v.errs.add(p+".index", "node group %s has at most %d node(s); there is no node %d", n.NodeGroup, size, n.Index)
	}
}

// NodeOps fail and repair one node, as an instance's troubles would.
type NodeOps interface {
	// StopNode stops a node's kubelet or its container runtime
	// (NodeKubelet, NodeRuntime).
	StopNode(ctx context.Context, node NodeRef, component string) error
	// StartNode starts it again.
	StartNode(ctx context.Context, node NodeRef, component string) error
	// FillNodeDisk writes bytes to the node's root volume, outside any
	// pod (a runaway log, a core dump); 0 frees what was written.
	FillNodeDisk(ctx context.Context, node NodeRef, bytes int64) error
}

// IAMOps change IAM roles.
type IAMOps interface {
	// AttachRolePolicy attaches a managed policy to a role.
	AttachRolePolicy(ctx context.Context, role, policyARN string) error
	// DetachRolePolicy detaches a managed policy from a role.
	DetachRolePolicy(ctx context.Context, role, policyARN string) error
	// PutRolePolicy adds or replaces an inline policy.
	PutRolePolicy(ctx context.Context, role, name string, doc PolicyDocument) error
	// DeleteRolePolicy removes an inline policy.
	DeleteRolePolicy(ctx context.Context, role, name string) error
}

// ImageOps change ECR images.
type ImageOps interface {
	// PushImage pushes a new tag to a repository.
	PushImage(ctx context.Context, repo, tag string, layers int) error
	// DeleteImage deletes a tag from a repository.
	DeleteImage(ctx context.Context, repo, tag string) error
}

// ObjectOps change Kubernetes objects, as gameday's own identity.
type ObjectOps interface {
	// ApplyWorkload server-side applies a workload's objects.
	ApplyWorkload(ctx context.Context, name string) error
	// PatchObject patches one object with a patch of the given type
	// (PatchStrategic, PatchMerge, PatchJSON); body is JSON.
	PatchObject(ctx context.Context, target ObjectRef, patchType string, body []byte) error
	// DeleteObject deletes one object.
	DeleteObject(ctx context.Context, target ObjectRef) error
}

// Waiter waits for a condition of the scenario language.
type Waiter interface {
	// Wait blocks until the condition holds, or fails after timeout.
	Wait(ctx context.Context, c *Condition, timeout time.Duration) error
}

// Commander runs a command, as the operator.
type Commander interface {
	// Command runs argv with the operator's environment, failing on a
	// non-zero exit.
	Command(ctx context.Context, argv []string) error
}

// Expander expands the scenario's variables.
type Expander interface {
	// Expand replaces the scenario variables in text.
	Expand(text string) (string, error)
}

// StepEnv is what a step action may act on: one small capability per
// concern. The runner fills every field; a step uses the ones it needs
// (a node-group step its NodeGroups, a patch its Objects and Vars), and
// a step's test fills only those.
type StepEnv struct {
	NodeGroups NodeGroupOps
	Nodes      NodeOps
	IAM        IAMOps
	Images     ImageOps
	Objects    ObjectOps
	Conditions Waiter
	Shell      Commander
	Vars       Expander
}

// stepKinds are the registered step action kinds.
var stepKinds = newRegistry[StepAction]("step", "name", "phase")

// RegisterStep makes a step action kind known under its YAML key. It
// panics if the name is taken or newAction does not return a pointer.
func RegisterStep(name string, newAction func() StepAction) { stepKinds.add(name, newAction) }

// StepKinds lists the registered step action kinds by name.
func StepKinds() []Kind { return stepKinds.list() }

// decodeNode decodes name and phase as fields and the one action key
// through the registry.
func (st *Step) decodeNode(d *decoder, n *yaml.Node, path string) {
	var actions []string
	d.mapping(n, path, func(k, val *yaml.Node, fp string) {
		switch k.Value {
		case "name":
			d.decode(val, reflectValue(&st.Name), fp)
			return
		case "phase":
			d.decode(val, reflectValue(&st.Phase), fp)
			return
		}
		a, ok := stepKinds.make(k.Value)
		if !ok {
			d.errorAt(k, fp, "unknown field %q%s", k.Value, didYouMean(k.Value, append([]string{"name", "phase"}, stepKinds.names()...)))
			return
		}
		actions = append(actions, k.Value)
		d.decode(val, reflect.ValueOf(a).Elem(), fp)
		if len(actions) == 1 {
			st.Kind, st.Action = k.Value, a
		}
	})
	slices.Sort(actions)
	st.actions = actions
	if len(actions) > 1 {
		st.Kind, st.Action = "", nil
	}
}
