package live

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"

	"github.com/gameday-sre/gameday/internal/domain/iampolicy"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// world is the live state one evaluation round reads: the evaluator's
// informer caches, and the AWS account through the round's cache, so
// that many conditions on one role cost one lookup.
type world struct {
	e *Evaluator
	r *Round
}

var _ scenarios.World = world{}

func list[T any](idx cache.Indexer) []*T {
	objs := idx.List()
	out := make([]*T, 0, len(objs))
	for _, o := range objs {
		if t, ok := o.(*T); ok {
			out = append(out, t)
		}
	}
	return out
}

// Pods implements scenarios.World.
func (w world) Pods() []*corev1.Pod { return list[corev1.Pod](w.e.pods) }

// Deployment implements scenarios.World.
func (w world) Deployment(namespace, name string) (*appsv1.Deployment, bool) {
	obj, ok, _ := w.e.deps.GetByKey(namespace + "/" + name)
	if !ok {
		return nil, false
	}
	d, ok := obj.(*appsv1.Deployment)
	return d, ok
}

// EndpointSlices implements scenarios.World.
func (w world) EndpointSlices() []*discoveryv1.EndpointSlice {
	return list[discoveryv1.EndpointSlice](w.e.slices)
}

// Nodes implements scenarios.World.
func (w world) Nodes() []*corev1.Node { return list[corev1.Node](w.e.nodes) }

// Events implements scenarios.World.
func (w world) Events() []*corev1.Event { return list[corev1.Event](w.e.events) }

// Object implements scenarios.World.
func (w world) Object(ctx context.Context, ref scenarios.ObjectRef) (map[string]any, bool, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, false, err
	}
	m, err := w.e.mapper.RESTMapping(gv.WithKind(ref.Kind).GroupKind(), gv.Version)
	if err != nil {
		return nil, false, fmt.Errorf("%s %s: %w", ref.APIVersion, ref.Kind, err)
	}
	var ri dynamic.ResourceInterface = w.e.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = w.e.dyn.Resource(m.Resource).Namespace(ref.Namespace)
	}
	obj, err := ri.Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	return obj.Object, true, nil
}

// Restarted implements scenarios.World: restarts before handover do not
// count.
func (w world) Restarted(namespace, name string) (time.Time, bool) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	at, ok := w.e.restarts[namespace+"/"+name]
	return at, ok && !at.Before(w.e.handover)
}

// Achieved implements scenarios.World.
func (w world) Achieved(objective string) (time.Time, bool) {
	if w.e.achieved == nil {
		return time.Time{}, false
	}
	return w.e.achieved(objective)
}

// NodeGroupSize implements scenarios.World.
func (w world) NodeGroupSize(ctx context.Context, name string) (int, bool, error) {
	g, ok := w.r.groups[name]
	if !ok {
		g.size, g.exists, g.err = w.e.cloud.NodegroupSize(ctx, name)
		w.r.groups[name] = g
	}
	return g.size, g.exists, g.err
}

// RolePolicies implements scenarios.World.
func (w world) RolePolicies(ctx context.Context, role string) ([]string, []iampolicy.Named, error) {
	rs, ok := w.r.roles[role]
	if !ok {
		rs.attached, rs.docs, rs.err = w.e.cloud.RolePolicies(ctx, role)
		w.r.roles[role] = rs
	}
	return rs.attached, rs.docs, rs.err
}

// RightClaim implements scenarios.World.
func (w world) RightClaim(q *scenarios.FindingCondition) (string, bool) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	if f := w.e.claimLocked(q); f != nil {
		return "finding " + f.Cause + " on " + f.Resource, true
	}
	return "", false
}

// Claims implements scenarios.World.
func (w world) Claims() int {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	return len(w.e.findings)
}

// Regexp implements scenarios.World.
func (w world) Regexp(expr string) *regexp.Regexp { return w.e.re(expr) }

// Verification implements scenarios.World.
func (w world) Verification() (passed, done bool, why string) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	return w.e.verified, w.e.verifyDone, w.e.verifyWhy
}

// Behaviour implements scenarios.World.
func (w world) Behaviour(image string) (behaviour.App, bool) {
	app, ok := w.e.behaviours[image]
	return app, ok
}

// Run implements scenarios.World: a command runs at most once a second,
// its exit code cached in between.
func (w world) Run(ctx context.Context, command []string, timeout time.Duration) int {
	key := strings.Join(command, "\x00")
	w.e.mu.Lock()
	last, ok := w.e.execCache[key]
	w.e.mu.Unlock()
	if ok && time.Since(last.at) < time.Second {
		return last.code
	}
	argv := make([]string, len(command))
	for i, a := range command {
		argv[i], _ = w.e.s.Expand(a)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code := 0
	if err := exec.CommandContext(ctx, argv[0], argv[1:]...).Run(); err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	w.e.mu.Lock()
	w.e.execCache[key] = execResult{code: code, at: time.Now()}
	w.e.mu.Unlock()
	return code
}
