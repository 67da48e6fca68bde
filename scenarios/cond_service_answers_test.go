package scenarios

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

func TestServiceAnswers(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	const app, public = "ecr/shop/storefront:3.2.1", "docker.io/library/redis:7"
	behaviours := func(image string) (behaviour.App, bool) {
		if image == app {
			return behaviour.App{Startup: behaviour.Startup{WarmUp: 20 * time.Second, Port: 8080, Readiness: "/ready"},
				Resources: behaviour.Resources{IdleCPU: 20, CPUPerLoad: 2, MaxCPU: 500}}, true
		}
		return behaviour.App{}, false
	}
	pod := func(name, image string, runningFor time.Duration) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
		st := corev1.ContainerStatus{Name: "app"}
		if runningFor >= 0 {
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(now.Add(-runningFor))}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{st}
		return p
	}
	endpoints := func(ready map[string]bool) []*discoveryv1.EndpointSlice {
		s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Labels: map[string]string{discoveryv1.LabelServiceName: "storefront"}}}
		for name, r := range ready {
			s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.1." + name}, Conditions: discoveryv1.EndpointConditions{Ready: &r},
				TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: name}})
		}
		return []*discoveryv1.EndpointSlice{s}
	}
	warm, cold := 5*time.Minute, 3*time.Second
	tests := []struct {
		name  string
		ready map[string]bool
		pods  []*corev1.Pod
		load  float64
		want  bool
		obs   string
	}{
		{"every ready endpoint warm", map[string]bool{"a": true, "b": true}, []*corev1.Pod{pod("a", app, warm), pod("b", app, warm)}, 0, true, "all 2 ready endpoints answer /"},
		{"a ready endpoint still warming up", map[string]bool{"a": true, "b": true}, []*corev1.Pod{pod("a", app, warm), pod("b", app, cold)}, 0, false,
			"1 of 2 ready endpoints fail requests for / (b: HTTP 503, warming up)"},
		{"a warming pod that is not ready gets no traffic", map[string]bool{"a": true, "b": false}, []*corev1.Pod{pod("a", app, warm), pod("b", app, cold)}, 0, true, "all 1"},
		{"no ready endpoints", map[string]bool{"a": false}, []*corev1.Pod{pod("a", app, cold)}, 0, false, "no ready endpoints"},
		{"an image without a behaviour answers once running", map[string]bool{"r": true}, []*corev1.Pod{pod("r", public, cold)}, 0, true, "all 1"},
		{"a ready endpoint whose pod is gone", map[string]bool{"a": true}, nil, 0, false, "a: pod gone"},
		{"load within what each pod can use", map[string]bool{"a": true, "b": true}, []*corev1.Pod{pod("a", app, warm), pod("b", app, warm)}, 400, true, "all 2"},
		{"load over what two pods can use: every request may fail", map[string]bool{"a": true, "b": true}, []*corev1.Pod{pod("a", app, warm), pod("b", app, warm)}, 600, false,
			"2 of 2 ready endpoints fail requests for / (a: HTTP 503, overloaded at 500m CPU by 300 requests a second"},
		{"the same load over three pods is served", map[string]bool{"a": true, "b": true, "c": true}, []*corev1.Pod{pod("a", app, warm), pod("b", app, warm), pod("c", app, warm)}, 600, true, "all 3"},
		{"a ready endpoint whose container is not running", map[string]bool{"a": true}, []*corev1.Pod{pod("a", app, -1)}, 0, false, "a: not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, obs := ServiceAnswers(endpoints(tt.ready), tt.pods, behaviours, "prod", "storefront", "/", tt.load, now)
			if got != tt.want || !strings.Contains(obs, tt.obs) {
				t.Errorf("got %v %q; want %v, observed containing %q", got, obs, tt.want, tt.obs)
			}
		})
	}
}

func TestReadyPods(t *testing.T) {
	yes, no := true, false
	slice := func(ns, svc string, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}}, Endpoints: eps}
	}
	ep := func(kind, name string, ready *bool) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{TargetRef: &corev1.ObjectReference{Kind: kind, Name: name}, Conditions: discoveryv1.EndpointConditions{Ready: ready}}
	}
	tests := []struct {
		name string
		eps  []*discoveryv1.EndpointSlice
		want []string
	}{
		{"ready and unknown count, not-ready does not", []*discoveryv1.EndpointSlice{slice("prod", "web", ep("Pod", "a", &yes), ep("Pod", "b", nil), ep("Pod", "c", &no))}, []string{"a", "b"}},
		{"a pod in two slices (IPv4 and IPv6) once", []*discoveryv1.EndpointSlice{slice("prod", "web", ep("Pod", "a", &yes)), slice("prod", "web", ep("Pod", "a", &yes))}, []string{"a"}},
		{"other Services, namespaces and targets are left out", []*discoveryv1.EndpointSlice{
			slice("prod", "api", ep("Pod", "x", &yes)), slice("dev", "web", ep("Pod", "y", &yes)), slice("prod", "web", ep("Node", "z", &yes)),
			{ObjectMeta: metav1.ObjectMeta{Namespace: "prod", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}}, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}}},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReadyPods(tt.eps, "prod", "web"); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("ReadyPods = %q, want %q", got, tt.want)
			}
		})
	}
}
