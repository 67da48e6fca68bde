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

	"github.com/gameday-sre/gameday/internal/errkind"
	"github.com/gameday-sre/gameday/internal/rundir"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// fieldManager is gameday's server-side-apply field manager.
const fieldManager = "gameday"

// setup creates the namespaces, applies the workloads and runs the setup
// steps.
func (r *run) setup(ctx context.Context) error {
	for _, ns := range r.s.Spec.Environment.Namespaces {
		obj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{rundir.RunIDLabel: r.cfg.RunID}}}
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
		labels[rundir.RunIDLabel] = r.cfg.RunID
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
			Message: fmt.Sprintf("%s done in %s", st.Action(), time.Since(t0).Round(time.Millisecond))})
	}
	return nil
}

func (r *run) step(ctx context.Context, st *scenarios.Step) error {
	e := r.env
	switch {
	case st.CreateNodeGroup != nil:
		return e.CreateNodeGroup(ctx, st.CreateNodeGroup.NodeGroup)
	case st.ScaleNodeGroup != nil:
		return e.ScaleNodeGroup(ctx, st.ScaleNodeGroup.NodeGroup, st.ScaleNodeGroup.Size)
	case st.CordonNodeGroup != nil:
		return e.CordonNodeGroup(ctx, st.CordonNodeGroup.NodeGroup, true)
	case st.DrainNodeGroup != nil:
		return e.DrainNodeGroup(ctx, st.DrainNodeGroup.NodeGroup, st.DrainNodeGroup.Timeout.Duration)
	case st.DeleteNodeGroup != nil:
		return e.DeleteNodeGroup(ctx, st.DeleteNodeGroup.NodeGroup)
	case st.AttachRolePolicy != nil:
		return e.AttachRolePolicy(ctx, st.AttachRolePolicy.Role, st.AttachRolePolicy.Policy)
	case st.DetachRolePolicy != nil:
		return e.DetachRolePolicy(ctx, st.DetachRolePolicy.Role, st.DetachRolePolicy.Policy)
	case st.PutRolePolicy != nil:
		return e.PutRolePolicy(ctx, st.PutRolePolicy.Role, st.PutRolePolicy.Name, st.PutRolePolicy.Document)
	case st.DeleteRolePolicy != nil:
		return e.DeleteRolePolicy(ctx, st.DeleteRolePolicy.Role, st.DeleteRolePolicy.Name)
	case st.Apply != nil:
		for i := range r.s.Spec.Workloads {
			if w := &r.s.Spec.Workloads[i]; w.Name == st.Apply.Workload {
				return r.apply(ctx, w)
			}
		}
		return errkind.Errorf(errkind.Invalid, "no workload %q", st.Apply.Workload)
	case st.Patch != nil:
		return r.patch(ctx, st.Patch)
	case st.SetImage != nil:
		return r.setImage(ctx, st.SetImage)
	case st.Delete != nil:
		ri, err := r.resource(schema.FromAPIVersionAndKind(st.Delete.APIVersion, st.Delete.Kind), st.Delete.Namespace)
		if err != nil {
			return err
		}
		return ri.Delete(ctx, st.Delete.Name, metav1.DeleteOptions{})
	case st.PushImage != nil:
		return e.PushImage(ctx, st.PushImage.Repository, st.PushImage.Tag, scenarios.DefaultImageLayers)
	case st.DeleteImage != nil:
		return e.DeleteImage(ctx, st.DeleteImage.Repository, st.DeleteImage.Tag)
	case st.Wait != nil:
		return r.wait(ctx, &st.Wait.For, st.Wait.Timeout.Duration)
	case st.Sleep != nil:
		select {
		case <-time.After(st.Sleep.Duration):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case st.Exec != nil:
		argv := make([]string, len(st.Exec.Command))
		for i, a := range st.Exec.Command {
			argv[i], _ = r.s.Expand(a)
		}
		cctx, cancel := context.WithTimeout(ctx, st.Exec.Timeout.Duration)
		defer cancel()
		cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
		cmd.Env = append(cmd.Environ(), r.env.OperatorEnv()...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("exec %s: %w: %s", argv[0], err, lastLine(out.String()))
		}
		return nil
	}
	return errkind.Errorf(errkind.Internal, "step %q has no action", st.Name)
}

func (r *run) patch(ctx context.Context, p *scenarios.Patch) error {
	ri, err := r.resource(schema.FromAPIVersionAndKind(p.Target.APIVersion, p.Target.Kind), p.Target.Namespace)
	if err != nil {
		return err
	}
	body, err := r.s.Expand(p.Patch)
	if err != nil {
		return err
	}
	data, err := yamlToJSON([]byte(body))
	if err != nil {
		return errkind.E(errkind.Invalid, fmt.Errorf("patch body: %w", err))
	}
	pt := map[string]types.PatchType{scenarios.PatchStrategic: types.StrategicMergePatchType, scenarios.PatchMerge: types.MergePatchType, scenarios.PatchJSON: types.JSONPatchType}[p.Type]
	_, err = ri.Patch(ctx, p.Target.Name, pt, data, metav1.PatchOptions{FieldManager: fieldManager})
	return err
}

func (r *run) setImage(ctx context.Context, si *scenarios.SetImage) error {
	image, err := r.s.Expand(si.Image)
	if err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []map[string]string{{"name": si.Container, "image": image}}}}}})
	_, err = r.cs.AppsV1().Deployments(si.Namespace).Patch(ctx, si.Deployment, types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: fieldManager})
	return err
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
