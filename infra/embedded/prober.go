package embedded

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/kubernetes/pkg/kubelet/lifecycle"
	probetest "k8s.io/kubernetes/pkg/kubelet/prober/testing"
)

// modelProber stands in for the kubelet's prober. There are no processes
// to probe, so each container's readiness probe is evaluated against its
// app's behaviour model, as the real prober would against the app: an
// httpGet probe succeeds when the app answers the path on the port with
// a 2xx or 3xx status (a readiness endpoint says 503 while the app warms
// up), a tcpSocket probe when the app listens on the port (from its
// start: such a probe passes before warm-up, as in real life), an exec
// probe when the command exits 0. A container without a readiness probe
// is ready while it runs. Liveness and startup probes are not evaluated:
// a container is started while it runs.
//
// The real prober tells the kubelet of a changed result through channels
// the kubelet selects on; this one is a pod sync loop handler instead:
// the kubelet asks it every second whether a pod needs a sync, and it says
// yes when a readiness result differs from the one it last reported.
type modelProber struct {
	probetest.FakeManager
	exec *executor

	mu       sync.Mutex
	reported map[string]bool // container id → the readiness last reported
}

func newModelProber(x *executor) *modelProber {
	return &modelProber{exec: x, reported: map[string]bool{}}
}

var _ lifecycle.PodSyncLoopHandler = (*modelProber)(nil)

// UpdatePodStatus sets each container's readiness and started flags.
func (p *modelProber) UpdatePodStatus(_ context.Context, pod *v1.Pod, st *v1.PodStatus) {
	now := time.Now()
	for i := range st.ContainerStatuses {
		cs := &st.ContainerStatuses[i]
		running := cs.State.Running != nil
		cs.Started = &running
		cs.Ready = running && p.ready(pod, cs.Name, containerID(cs.ContainerID), now)
		if running {
			p.mu.Lock()
			p.reported[containerID(cs.ContainerID)] = cs.Ready
			p.mu.Unlock()
		}
	}
	for i := range st.InitContainerStatuses {
		cs := &st.InitContainerStatuses[i]
		cs.Ready = cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
	}
}

// ShouldSync reports whether a running container of the pod has a
// readiness result other than the one last reported.
func (p *modelProber) ShouldSync(pod *v1.Pod) bool {
	now := time.Now()
	for _, c := range pod.Spec.Containers {
		if c.ReadinessProbe == nil {
			continue
		}
		for _, id := range p.exec.ofPod(string(pod.UID), c.Name) {
			p.mu.Lock()
			last, seen := p.reported[id]
			p.mu.Unlock()
			if seen && last != p.ready(pod, c.Name, id, now) {
				return true
			}
		}
	}
	return false
}

// RemovePod forgets the pod's containers.
func (p *modelProber) RemovePod(pod *v1.Pod) {
	for _, c := range pod.Spec.Containers {
		for _, id := range p.exec.ofPod(string(pod.UID), c.Name) {
			p.mu.Lock()
			delete(p.reported, id)
			p.mu.Unlock()
		}
	}
}

// ready evaluates a running container's readiness probe now.
func (p *modelProber) ready(pod *v1.Pod, name, id string, now time.Time) bool {
	var spec *v1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			spec = &pod.Spec.Containers[i]
		}
	}
	if spec == nil || spec.ReadinessProbe == nil {
		return true
	}
	c, ok := p.exec.container(id)
	if !ok {
		return true // not run by the executor: the default behaviour
	}
	return c.probe(spec.ReadinessProbe, spec, now)
}

// probe evaluates a probe against the model at now: not before its
// initial delay, then as the app would answer it.
func (c running) probe(pr *v1.Probe, spec *v1.Container, now time.Time) bool {
	if now.Sub(c.t0) < time.Duration(pr.InitialDelaySeconds)*time.Second {
		return false
	}
	switch {
	case pr.HTTPGet != nil:
		port, ok := portOf(pr.HTTPGet.Port, spec)
		if !ok || !c.serves(port) {
			return false
		}
		status := c.app.Response(c.app.StateAt(c.in, now.Sub(c.t0)), pr.HTTPGet.Path)
		return status >= http.StatusOK && status < http.StatusBadRequest
	case pr.TCPSocket != nil:
		port, ok := portOf(pr.TCPSocket.Port, spec)
		return ok && c.serves(port) && c.app.StateAt(c.in, now.Sub(c.t0)).Exit == nil
	case pr.Exec != nil:
		return len(pr.Exec.Command) > 0 && c.exec(pr.Exec.Command, io.Discard, io.Discard) == 0
	}
	return c.app.StateAt(c.in, now.Sub(c.t0)).Ready // grpc: the app's health
}

// portOf resolves a probe's port, by number or by the container port's
// name.
func portOf(p intstr.IntOrString, spec *v1.Container) (int, bool) {
	if p.Type == intstr.Int {
		return p.IntValue(), true
	}
	for _, cp := range spec.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort), true
		}
	}
	return 0, false
}

// containerID strips the runtime's scheme from a status's container id.
func containerID(s string) string {
	if _, id, ok := strings.Cut(s, "://"); ok {
		return id
	}
	return s
}
