package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// fieldManager is gameday's server-side-apply field manager.
const fieldManager = "gameday"

// setup creates the namespaces, applies the workloads and runs the setup
// steps.
func (r *run) setup(ctx context.Context) error {
	for _, ns := range r.s.Spec.Environment.Namespaces {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{eks.RunIDLabel: r.cfg.RunID}}}
		if _, err := r.cs.CoreV1().Namespaces().Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return errkind.E(errkind.Infra, fmt.Errorf("create namespace %s: %w", ns, err))
		}
	}
	for i := range r.s.Spec.Workloads {
		w := &r.s.Spec.Workloads[i]
		if w.Deferred {
			continue
		}
		if err := r.apply(ctx, w); err != nil {
			return err
		}
	}
	return r.steps(ctx, scenarios.PhaseSetup)
}

// apply server-side applies a workload's objects, labelled with the run.
func (r *run) apply(ctx context.Context, w *scenarios.Workload) error {
	for _, o := range w.Objects {
		u := &unstructured.Unstructured{}
		if err := json.Unmarshal(o.JSON, &u.Object); err != nil {
			return errkind.E(errkind.Internal, fmt.Errorf("workload %s: %w", w.Name, err))
		}
		labels := u.GetLabels()
		if labels == nil {
			labels = map[string]string{}
		}
		labels[eks.RunIDLabel] = r.cfg.RunID
		u.SetLabels(labels)
		if o.Namespace != "" {
			u.SetNamespace(o.Namespace)
		}
		ri, err := r.resource(u.GroupVersionKind(), o.Namespace)
		if err != nil {
			return errkind.E(errkind.Infra, fmt.Errorf("workload %s: %w", w.Name, err))
		}
		data, _ := json.Marshal(u.Object)
		if _, err := ri.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: fieldManager, Force: new(true)}); err != nil {
			return errkind.E(errkind.Infra, fmt.Errorf("apply %s %s: %w", o.Kind, o.Name, err))
		}
	}
	r.rec.Add(verify.Event{Type: verify.EventStep, Step: "apply " + w.Name, Actor: "gameday", Message: fmt.Sprintf("applied %d objects", len(w.Objects))})
	return nil
}

func (r *run) resource(gvk schema.GroupVersionKind, ns string) (dynamic.ResourceInterface, error) {
	m, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.dyn.Resource(m.Resource).Namespace(ns), nil
	}
	return r.dyn.Resource(m.Resource), nil
}

// steps runs the scenario's steps of one phase, in order.
func (r *run) steps(ctx context.Context, phase string) error {
	for i := range r.s.Spec.Steps {
		st := &r.s.Spec.Steps[i]
		if st.Phase != phase {
			continue
		}
		t0 := time.Now()
		r.cfg.Progress(phase, st.Name)
		if err := r.step(ctx, st); err != nil {
			r.rec.Add(verify.Event{Type: verify.EventStep, Step: st.Name, Actor: "gameday", Message: "failed: " + err.Error()})
			if errkind.Of(err) == errkind.Internal {
				err = errkind.E(errkind.Infra, err)
			}
			return fmt.Errorf("%s step %q: %w", phase, st.Name, err)
		}
		r.rec.Add(verify.Event{Type: verify.EventStep, Step: st.Name, Actor: "gameday",
			Message: fmt.Sprintf("%s done in %s", st.Kind, time.Since(t0).Round(time.Millisecond))})
	}
	return nil
}

func (r *run) step(ctx context.Context, st *scenarios.Step) error {
	if st.Action == nil {
		return errkind.Errorf(errkind.Internal, "step %q has no action", st.Name)
	}
	ops := runOps{r}
	return st.Action.Run(ctx, scenarios.StepEnv{NodeGroups: r.env, Nodes: r.env, IAM: r.env, Images: r.env,
		Objects: ops, Conditions: ops, Shell: ops, Vars: r.s})
}

// runOps are the step capabilities the run itself provides, through its
// Kubernetes clients: objects, waits and commands.
type runOps struct{ r *run }

// ApplyWorkload implements a scenarios.StepEnv capability.
func (e runOps) ApplyWorkload(ctx context.Context, name string) error {
	for i := range e.r.s.Spec.Workloads {
		if w := &e.r.s.Spec.Workloads[i]; w.Name == name {
			return e.r.apply(ctx, w)
		}
	}
	return errkind.Errorf(errkind.Invalid, "no workload %q", name)
}

// patchTypes maps the scenario's patch types to Kubernetes'.
var patchTypes = map[string]types.PatchType{
	scenarios.PatchStrategic: types.StrategicMergePatchType,
	scenarios.PatchMerge:     types.MergePatchType,
	scenarios.PatchJSON:      types.JSONPatchType,
}

// PatchObject implements a scenarios.StepEnv capability.
func (e runOps) PatchObject(ctx context.Context, target scenarios.ObjectRef, patchType string, body []byte) error {
	pt, ok := patchTypes[patchType]
	if !ok {
		return errkind.Errorf(errkind.Invalid, "unknown patch type %q", patchType)
	}
	ri, err := e.r.resource(schema.FromAPIVersionAndKind(target.APIVersion, target.Kind), target.Namespace)
	if err != nil {
		return err
	}
	u, err := ri.Patch(ctx, target.Name, pt, body, metav1.PatchOptions{FieldManager: fieldManager})
	if err != nil {
		return err
	}
	if target.Kind == "Deployment" && target.APIVersion == "apps/v1" {
		e.r.readOwnWrite(ctx, target.Namespace, target.Name, u.GetResourceVersion())
	}
	return nil
}

// readOwnWrite waits, for up to 10 s, until the conditions' cache holds
// a Deployment this run wrote: what a step did is then what the next
// condition reads (a verification's settle, right after its restart,
// would otherwise find the Deployment rolled out as it was before).
func (r *run) readOwnWrite(ctx context.Context, namespace, name, rv string) {
	if r.ev == nil || rv == "" {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for !r.ev.DeploymentCaughtUp(namespace, name, rv) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// DeleteObject implements a scenarios.StepEnv capability.
func (e runOps) DeleteObject(ctx context.Context, target scenarios.ObjectRef) error {
	ri, err := e.r.resource(schema.FromAPIVersionAndKind(target.APIVersion, target.Kind), target.Namespace)
	if err != nil {
		return err
	}
	return ri.Delete(ctx, target.Name, metav1.DeleteOptions{})
}

// Wait implements a scenarios.StepEnv capability.
func (e runOps) Wait(ctx context.Context, c *scenarios.Condition, timeout time.Duration) error {
	return e.r.wait(ctx, c, timeout)
}

// Command implements a scenarios.StepEnv capability: the command runs with the
// operator's credentials, and its last output line explains a failure.
func (e runOps) Command(ctx context.Context, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(cmd.Environ(), e.r.env.OperatorEnv()...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("exec %s: %w: %s", argv[0], err, lastLine(out.String()))
	}
	return nil
}

// wait blocks until the condition holds.
func (r *run) wait(ctx context.Context, c *scenarios.Condition, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		ok, obs := r.ev.Holds(ctx, c)
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errkind.Errorf(errkind.Infra, "condition not met within %s: %s", timeout, obs)
		case <-r.ev.Changed():
		case <-tick.C:
		}
	}
}

func lastLine(s string) string {
	s = string(bytes.TrimSpace([]byte(s)))
	if i := bytes.LastIndexByte([]byte(s), '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
