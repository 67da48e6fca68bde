package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"k8s.io/kubernetes/pkg/kubelet"
	"k8s.io/kubernetes/pkg/probe"
	grpcprobe "k8s.io/kubernetes/pkg/probe/grpc"
	utilexec "k8s.io/utils/exec"
)

// The kubelet's own prober manager runs every readiness, liveness and
// startup probe, with its timing rules (initial delay, period, success
// and failure thresholds), its events ("Readiness probe failed: HTTP
// probe failed with statuscode: 503") and its results: readiness reaches
// the pod's status and EndpointSlices, and a failed liveness or startup
// probe makes the kubelet kill the container ("Container app failed
// liveness probe, will be restarted") and restart it with its back-off.
//
// There are no processes to probe, so only the prober's transport is
// replaced: its HTTP, TCP and gRPC probers ask the app's behaviour model
// at the pod's IP and port, as a real probe would ask the app, and exec
// probes reach the runtime's ExecSync, which runs the command against
// the model. A readiness endpoint says 503 while the app warms up; a
// tcpSocket probe passes as soon as the app listens (at once: such a
// probe passes before warm-up, as in real life).

// modelTransport answers the kubelet prober's HTTP, TCP and gRPC probes
// from the behaviour models of the node's containers.
type modelTransport struct{ exec *executor }

// at finds the running container at a pod IP that serves port; reach is
// the dial error a real probe would get otherwise.
func (t modelTransport) at(host string, port int) (running, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	sandbox, ok := t.exec.rt.sandboxOf(host)
	if !ok {
		return running{}, fmt.Errorf("dial tcp %s: i/o timeout", addr)
	}
	c, ok := t.exec.listening(sandbox, port)
	if !ok || c.state().Exit != nil {
		return running{}, fmt.Errorf("dial tcp %s: connect: connection refused", addr)
	}
	return c, nil
}

// Probe answers an httpGet probe as the app would: 2xx and 3xx pass,
// anything else fails with the kubelet's message.
func (t modelTransport) Probe(req *http.Request, _ time.Duration) (probe.Result, string, error) {
	port, err := strconv.Atoi(req.URL.Port())
	if err != nil {
		return probe.Failure, err.Error(), nil
	}
	c, err := t.at(req.URL.Hostname(), port)
	if err != nil {
		return probe.Failure, fmt.Sprintf("Get %q: %v", req.URL.String(), err), nil
	}
	status, body := c.respond(req.URL.Path)
	if status >= http.StatusOK && status < http.StatusBadRequest {
		return probe.Success, body, nil
	}
	return probe.Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", status), nil
}

// ProbeH2C answers as Probe.
func (t modelTransport) ProbeH2C(req *http.Request, timeout time.Duration) (probe.Result, string, error) {
	return t.Probe(req, timeout)
}

// tcpTransport answers tcpSocket probes: they pass while the app listens.
type tcpTransport struct{ modelTransport }

// Probe passes when the app at host listens on port.
func (t tcpTransport) Probe(host string, port int, _ time.Duration) (probe.Result, string, error) {
	if _, err := t.at(host, port); err != nil {
		return probe.Failure, err.Error(), nil
	}
	return probe.Success, "", nil
}

// grpcTransport answers grpc probes with the app's readiness.
type grpcTransport struct{ modelTransport }

// Probe passes when the app at host serves port and is ready.
func (t grpcTransport) Probe(host, _ string, port int, _ time.Duration, _ grpcprobe.ProbeOptions) (probe.Result, string, error) {
	c, err := t.at(host, port)
	if err != nil {
		return probe.Failure, fmt.Sprintf("timeout: failed to connect service %q within 1s: %v", net.JoinHostPort(host, strconv.Itoa(port)), err), nil
	}
	if !c.state().Ready {
		return probe.Failure, `service unhealthy (responded with "NOT_SERVING")`, nil
	}
	return probe.Success, "service healthy", nil
}

// useModelTransport replaces the transport of a kubelet's prober
// manager (its HTTP, TCP and gRPC probers) with the models'. The fields
// are unexported; if a Kubernetes upgrade renames them this fails, and
// the node does not start, rather than probing fake addresses.
func useModelTransport(k *kubelet.Kubelet, x *executor) error {
	manager := field(reflect.ValueOf(k).Elem(), "probeManager")
	if !manager.IsValid() || manager.IsNil() || manager.Elem().Kind() != reflect.Pointer {
		return errors.New("the kubelet has no probe manager")
	}
	prober := field(manager.Elem().Elem(), "prober")
	if !prober.IsValid() || prober.IsNil() {
		return errors.New("the kubelet's probe manager has no prober")
	}
	t := modelTransport{exec: x}
	for name, v := range map[string]any{"http": t, "tcp": tcpTransport{t}, "grpc": grpcTransport{t}} {
		f := field(prober.Elem(), name)
		if !f.IsValid() || !reflect.TypeOf(v).Implements(f.Type()) {
			return fmt.Errorf("the kubelet's prober has no %s prober that the model can stand in for", name)
		}
		f.Set(reflect.ValueOf(v))
	}
	return nil
}

// field is a struct's field by name, settable even when unexported.
func field(v reflect.Value, name string) reflect.Value {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	f := v.FieldByName(name)
	if !f.IsValid() || !f.CanAddr() {
		return reflect.Value{}
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

// ExecSync runs a command against the container's model (exec probes
// and the kubelet's command runner), and reports a non-zero exit as the
// CRI client does.
func (r *runtime) ExecSync(_ context.Context, id string, cmd []string, _ time.Duration) ([]byte, []byte, error) {
	c, ok := r.exec.container(id)
	if !ok {
		return nil, nil, fmt.Errorf("container %q is not running", id)
	}
	var stdout, stderr bytes.Buffer
	if code := c.exec(cmd, &stdout, &stderr); code != 0 {
		return stdout.Bytes(), stderr.Bytes(), utilexec.CodeExitError{
			Err:  fmt.Errorf("command '%s' exited with %d: %s", strings.Join(cmd, " "), code, stderr.String()),
			Code: code,
		}
	}
	return stdout.Bytes(), stderr.Bytes(), nil
}
