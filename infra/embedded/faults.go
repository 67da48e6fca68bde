package embedded

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

// containerdSocket is where the kubelet reaches containerd on EKS nodes.
const containerdSocket = "/run/containerd/containerd.sock"

// reachable fails, as the CRI client does, while the runtime is stopped.
func (r *runtime) reachable() error {
	if r.down.Load() {
		return status.Errorf(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial unix %s: connect: connection refused"`, containerdSocket)
	}
	return nil
}

// Status fails while the runtime is stopped: the kubelet's runtime check
// then goes stale, and after 30 s the node is NotReady with "container
// runtime is down".
func (r *runtime) Status(ctx context.Context, verbose bool) (*runtimeapi.StatusResponse, error) {
	if err := r.reachable(); err != nil {
		return nil, err
	}
	return r.FakeRuntimeService.Status(ctx, verbose)
}

// hollow finds a running node by name.
func (e *Env) hollow(name string) (*hollowNode, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, g := range e.groups {
		for _, n := range g.nodes {
			if n.Name == name {
				return n, nil
			}
		}
	}
	return nil, errkind.Errorf(errkind.Invalid, "no node %q", name)
}

// StopNode stops a node's kubelet (its connections to the API server are
// cut and refused, and its API refuses connections) or its container
// runtime (every CRI call fails). Running containers keep running.
func (e *Env) StopNode(_ context.Context, name, component string) error {
	return e.setNode(name, component, false)
}

// StartNode starts a node's kubelet or runtime again.
func (e *Env) StartNode(_ context.Context, name, component string) error {
	return e.setNode(name, component, true)
}

func (e *Env) setNode(name, component string, up bool) error {
	n, err := e.hollow(name)
	if err != nil {
		return err
	}
	switch component {
	case scenarios.NodeKubelet:
		n.conns.setPaused(!up)
		if n.router != nil {
			n.router.setRefused(!up, n.Name, n.IP.String())
		}
	case scenarios.NodeRuntime:
		n.runtime.down.Store(!up)
	default:
		return errkind.Errorf(errkind.Invalid, "node %s has no component %q (kubelet or runtime)", name, component)
	}
	verb := "stopped"
	if up {
		verb = "started"
	}
	e.p.Log.Info(fmt.Sprintf("node %s %s", component, verb), "node", name)
	return nil
}

// FillNodeDisk writes bytes to a node's root volume, outside any pod; it
// replaces an earlier fill, and 0 frees it.
func (e *Env) FillNodeDisk(_ context.Context, name string, bytes int64) error {
	n, err := e.hollow(name)
	if err != nil {
		return err
	}
	if bytes < 0 {
		return errkind.Errorf(errkind.Invalid, "cannot write %d bytes", bytes)
	}
	n.machine.filled.Store(bytes)
	return nil
}
