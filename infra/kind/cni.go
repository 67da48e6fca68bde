package kind

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// The pod network gameday gives a kind cluster in place of kind's
// default CNI (kindnetd, whose image no registry serves here), built the
// way kindnetd builds it: on every node, a ptp veth per pod with an
// address from the node's pod CIDR (host-local IPAM), and a route to
// every other node's pod CIDR through that node's address on the kind
// network. The plugins are the node image's (Debian's
// containernetworking-plugins on the offline image).

// CNIConfigPath is where the network configuration goes on each node.
const CNIConfigPath = "/etc/cni/net.d/10-gameday.conflist"

// CNIConfig is a node's CNI network configuration for its pod CIDR.
// Traffic from a pod to anywhere outside its node's pod CIDR leaves
// masqueraded as the node (ptp's ipMasq), so that the kind network's
// other hosts need no routes back.
func CNIConfig(podCIDR string) string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "gameday",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": true,
      "mtu": 1500,
      "ipam": {
        "type": "host-local",
        "dataDir": "/run/cni-ipam-state",
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR)
}

// nodeNet is a node's address and pod CIDR.
type nodeNet struct {
	name    string
	ip      netip.Addr
	podCIDR netip.Prefix
}

// Routes are the commands that send, on node n, every other node's pod
// CIDR to that node.
func routes(n nodeNet, all []nodeNet) [][]string {
	var out [][]string
	for _, m := range all {
		if m.name != n.name {
			out = append(out, []string{"ip", "route", "replace", m.podCIDR.String(), "via", m.ip.String()})
		}
	}
	return out
}

// installCNI waits for every node to have a pod CIDR, writes CNIConfig
// on each and adds the routes between them, then waits for every node to
// be Ready (a node is NotReady until its CNI configuration exists).
func installCNI(ctx context.Context, cs kubernetes.Interface, ns []nodes.Node, timeout time.Duration) error {
	var nets []nodeNet
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // the API server may still be settling: poll again
		}
		nets = nets[:0]
		for _, n := range list.Items {
			nn, ok := netOf(n)
			if !ok {
				return false, nil
			}
			nets = append(nets, nn)
		}
		return len(nets) == len(ns), nil
	})
	if err != nil {
		return errkind.Errorf(errkind.Infra, "pod network: not every node has a pod CIDR and an address after %s: %v", timeout, err)
	}
	byName := map[string]nodeNet{}
	for _, n := range nets {
		byName[n.name] = n
	}
	for _, n := range ns {
		nn, ok := byName[n.String()]
		if !ok {
			return errkind.Errorf(errkind.Infra, "pod network: kind node %s has not registered", n.String())
		}
		if err := configureNodes(ctx, []nodes.Node{n}, CNIConfigPath, CNIConfig(nn.podCIDR.String())); err != nil {
			return err
		}
		for _, r := range routes(nn, nets) {
			var out bytes.Buffer
			cmd := n.CommandContext(ctx, r[0], r[1:]...)
			cmd.SetStdout(&out)
			cmd.SetStderr(&out)
			if err := cmd.Run(); err != nil {
				msg := strings.TrimSpace(out.String())
				if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
					msg = msg[i+1:] // the command's last word on it
				}
				return errkind.Errorf(errkind.Infra, "pod network: %s on %s: %v: %s", strings.Join(r, " "), n.String(), err, msg)
			}
		}
	}
	return waitNodesReady(ctx, cs, len(ns), timeout)
}

// netOf reads a node's pod CIDR and internal address.
func netOf(n corev1.Node) (nodeNet, bool) {
	cidr, err := netip.ParsePrefix(n.Spec.PodCIDR)
	if err != nil {
		return nodeNet{}, false
	}
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			if ip, err := netip.ParseAddr(a.Address); err == nil && ip.Is4() {
				return nodeNet{name: n.Name, ip: ip, podCIDR: cidr}, true
			}
		}
	}
	return nodeNet{}, false
}

// waitNodesReady waits for want nodes to be Ready.
func waitNodesReady(ctx context.Context, cs kubernetes.Interface, want int, timeout time.Duration) error {
	var notReady []string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil //nolint:nilerr // poll again
		}
		notReady = notReady[:0]
		for _, n := range list.Items {
			if !nodeReady(n) {
				notReady = append(notReady, n.Name)
			}
		}
		return len(list.Items) == want && len(notReady) == 0, nil
	})
	if err != nil {
		return errkind.Errorf(errkind.Infra, "nodes not Ready after %s: %s: %v", timeout, strings.Join(notReady, ", "), err)
	}
	return nil
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
