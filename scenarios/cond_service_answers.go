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
// requests: what users see during a bad rollout.
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
func (q *ServiceAnswersCondition) Eval(_ context.Context, w World) (bool, string) {
	path := q.Path
	if path == "" {
		path = "/"
	}
	return ServiceAnswers(w.EndpointSlices(), w.Pods(), w.Behaviour, q.Namespace, q.Service, path, time.Now())
}

// ServiceAnswers says whether a Service answers path at now, and what was
// observed: see ServiceAnswersCondition. behaviourOf finds an image's
// behaviour.
func ServiceAnswers(eps []*discoveryv1.EndpointSlice, pods []*corev1.Pod, behaviourOf func(image string) (behaviour.App, bool),
	namespace, service, path string, now time.Time) (bool, string) {
	byName := map[string]*corev1.Pod{}
	for _, p := range pods {
		if p.Namespace == namespace {
			byName[p.Name] = p
		}
	}
	var ready, failing []string
	for _, s := range eps {
		if s.Namespace != namespace || s.Labels[discoveryv1.LabelServiceName] != service {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready == nil || !*ep.Conditions.Ready || ep.TargetRef == nil || slices.Contains(ready, ep.TargetRef.Name) {
				continue
			}
			ready = append(ready, ep.TargetRef.Name)
			if why := podAnswers(byName[ep.TargetRef.Name], behaviourOf, path, now); why != "" {
				failing = append(failing, ep.TargetRef.Name+": "+why)
			}
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

// podAnswers says why a pod's app does not answer path now, or "" when
// it does.
func podAnswers(p *corev1.Pod, behaviourOf func(string) (behaviour.App, bool), path string, now time.Time) string {
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
		state := app.StateAt(behaviour.Inputs{}, now.Sub(st.State.Running.StartedAt.Time))
		if code := app.Response(state, path); code < http.StatusOK || code >= http.StatusBadRequest {
			why := fmt.Sprintf("HTTP %d", code)
			if state.Waiting != "" {
				why += ", " + state.Waiting
			}
			return why
		}
	}
	return ""
}
