package kind

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

var _ environment.NodeFaults = (*Env)(nil)

// units are the systemd units of a kind node's components.
var units = map[string]string{scenarios.NodeKubelet: "kubelet", scenarios.NodeRuntime: "containerd"}

// StopNode implements environment.NodeFaults: systemd stops the
// component in the node's container, as on a real instance.
func (e *Env) StopNode(ctx context.Context, node, component string) error {
	return e.systemctl(ctx, node, component, "stop")
}

// StartNode implements environment.NodeFaults.
func (e *Env) StartNode(ctx context.Context, node, component string) error {
	return e.systemctl(ctx, node, component, "start")
}

// FillNodeDisk implements environment.NodeFaults by refusing: a kind
// node's root volume is the Docker host's own disk, which a game day must
// not fill.
func (e *Env) FillNodeDisk(context.Context, string, int64) error {
	return errkind.Errorf(errkind.Invalid, "fillNodeDisk would fill the Docker host's own disk on kind; it runs on the embedded backend")
}

// systemctl runs systemctl verb on a component's unit in a node.
func (e *Env) systemctl(ctx context.Context, node, component, verb string) error {
	unit, ok := units[component]
	if !ok {
		return errkind.Errorf(errkind.Invalid, "node %s has no component %q (kubelet or runtime)", node, component)
	}
	n, err := e.container(node)
	if err != nil {
		return err
	}
	if out, err := kindexec.CombinedOutputLines(n.CommandContext(ctx, "systemctl", verb, unit)); err != nil {
		return errkind.E(errkind.Infra, fmt.Errorf("systemctl %s %s on %s: %w: %s", verb, unit, node, err, strings.Join(out, "; ")))
	}
	e.log.Info("systemctl "+verb+" "+unit, "node", node)
	return nil
}

// container finds the kind node (container) of a Kubernetes node: kind
// names each node after its container.
func (e *Env) container(node string) (nodes.Node, error) {
	for _, n := range e.nodes {
		if n.String() == node {
			return n, nil
		}
	}
	return nil, errkind.Errorf(errkind.Invalid, "no kind node %q", node)
}
