package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

func init() {
	RegisterCondition("serviceAnswers", func() ConditionKind { return &ServiceAnswersCondition{} })
}

// ServiceAnswersCondition holds when a Service answers requests: it has
// ready endpoints, and the app in every one of them answers the path
// with a 2xx or 3xx status now, by its image's behaviour (an image
// without one answers once running). A request may be routed to any
// ready endpoint, so one endpoint that is ready but still warming up
// (a readiness probe that passes too early, or none) means failed
// requests: what users see during a bad rollout. So does an endpoint
// whose app is overloaded: the Service's load (setLoad), spread over
// its ready endpoints, needs more CPU than the app can use.
type ServiceAnswersCondition struct {
	// Namespace of the Service. Required.
	Namespace string `yaml:"namespace"`
	// Service name. Required.
	Service string `yaml:"service"`
	// Path is the path requested. Default "/".
	Path string `yaml:"path"`
}

// Check implements ConditionKind.
func (q *ServiceAnswersCondition) Check(c *Checker, p string) {
	c.service(p, q.Namespace, q.Service)
	if q.Path != "" && !strings.HasPrefix(q.Path, "/") {
		c.errs.add(p+".path", "must start with /, got %q", q.Path)
	}
}

// Eval implements ConditionKind.
func (q *ServiceAnswersCondition) Eval(ctx context.Context, w World) (bool, string) {
	path := q.Path
	if path == "" {
		path = "/"
	}
	load := 0.0
	svc, exists, err := w.Object(ctx, ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: q.Namespace, Name: q.Service})
	if err != nil {
		return false, fmt.Sprintf("service %s/%s: %v", q.Namespace, q.Service, err)
	}
	if exists {
		annotations, _, _ := unstructured.NestedStringMap(svc, "metadata", "annotations")
		load, _ = behaviour.ParseLoad(annotations[behaviour.LoadAnnotation])
	}
	return ServiceAnswers(w.EndpointSlices(), w.Pods(), w.Behaviour, q.Namespace, q.Service, path, load, time.Now())
}

// ServiceAnswers says whether a Service answers path at now, and what was
// observed: see ServiceAnswersCondition. behaviourOf finds an image's
// behaviour; load is the Service's, in requests a second.
func ServiceAnswers(eps []*discoveryv1.EndpointSlice, pods []*corev1.Pod, behaviourOf func(image string) (behaviour.App, bool),
	namespace, service, path string, load float64, now time.Time) (bool, string) {
	byName := map[string]*corev1.Pod{}
	for _, p := range pods {
		if p.Namespace == namespace {
			byName[p.Name] = p
		}
	}
	var failing []string
	ready := ReadyPods(eps, namespace, service)
	share := behaviour.Share(load, len(ready))
	for _, name := range ready {
		if why := podAnswers(byName[name], behaviourOf, path, share, now); why != "" {
			failing = append(failing, name+": "+why)
		}
	}
	what := fmt.Sprintf("service %s/%s", namespace, service)
	switch {
	case len(ready) == 0:
		return false, what + " has no ready endpoints: every request fails"
	case len(failing) > 0:
		slices.Sort(failing)
		return false, fmt.Sprintf("%s: %d of %d ready endpoints fail requests for %s (%s)", what, len(failing), len(ready), path, strings.Join(failing, "; "))
	}
	return true, fmt.Sprintf("%s: all %d ready endpoints answer %s", what, len(ready), path)
}

// ReadyPods are the names of the pods that are ready endpoints of a
// Service in its EndpointSlices, each once: where its requests go (and
// over which its load spreads). An endpoint whose readiness is unknown
// counts as ready, as the EndpointSlice API asks of consumers.
func ReadyPods(eps []*discoveryv1.EndpointSlice, namespace, service string) []string {
	var out []string
	for _, s := range eps {
		if s.Namespace != namespace || s.Labels[discoveryv1.LabelServiceName] != service {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.TargetRef == nil || ep.TargetRef.Kind != "Pod" || (ep.Conditions.Ready != nil && !*ep.Conditions.Ready) || slices.Contains(out, ep.TargetRef.Name) {
				continue
			}
			out = append(out, ep.TargetRef.Name)
		}
	}
	return out
}

// podAnswers says why a pod's app does not answer path now, serving load
// requests a second, or "" when it does.
func podAnswers(p *corev1.Pod, behaviourOf func(string) (behaviour.App, bool), path string, load float64, now time.Time) string {
	if p == nil {
		return "pod gone"
	}
	for _, c := range p.Spec.Containers {
		app, ok := behaviourOf(c.Image)
		if !ok {
			continue
		}
		var st *corev1.ContainerStatus
		for i := range p.Status.ContainerStatuses {
			if p.Status.ContainerStatuses[i].Name == c.Name {
				st = &p.Status.ContainerStatuses[i]
			}
		}
		if st == nil || st.State.Running == nil {
			return "not running"
		}
		in := behaviour.Inputs{Load: load}
		if lim, ok := c.Resources.Limits[corev1.ResourceCPU]; ok {
			in.CPULimit = lim.MilliValue()
		}
		state := app.StateAt(in, now.Sub(st.State.Running.StartedAt.Time))
		if code := app.Response(state, path); code < http.StatusOK || code >= http.StatusBadRequest {
			why := fmt.Sprintf("HTTP %d", code)
			switch {
			case state.Waiting != "":
				why += ", " + state.Waiting
			case state.Overloaded:
				why += fmt.Sprintf(", overloaded at %dm CPU by %.0f requests a second", state.CPU, load)
			}
			return why
		}
	}
	return ""
}
