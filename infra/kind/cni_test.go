package kind

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCNIConfig(t *testing.T) {
	var cfg struct {
		CNIVersion string `json:"cniVersion"`
		Plugins    []struct {
			Type string `json:"type"`
			IPAM struct {
				Type   string `json:"type"`
				Ranges [][]struct {
					Subnet string `json:"subnet"`
				} `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(CNIConfig("10.244.3.0/24")), &cfg); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if len(cfg.Plugins) != 2 || cfg.Plugins[0].Type != "ptp" || cfg.Plugins[0].IPAM.Type != "host-local" || cfg.Plugins[1].Type != "portmap" {
		t.Fatalf("plugins %+v, want ptp with host-local, then portmap", cfg.Plugins)
	}
	if got := cfg.Plugins[0].IPAM.Ranges[0][0].Subnet; got != "10.244.3.0/24" {
		t.Errorf("subnet %s", got)
	}
}

func TestRoutes(t *testing.T) {
	nets := []nodeNet{
		{"cp", netip.MustParseAddr("172.18.0.2"), netip.MustParsePrefix("10.244.0.0/24")},
		{"w1", netip.MustParseAddr("172.18.0.3"), netip.MustParsePrefix("10.244.1.0/24")},
		{"w2", netip.MustParseAddr("172.18.0.4"), netip.MustParsePrefix("10.244.2.0/24")},
	}
	var got []string
	for _, r := range routes(nets[1], nets) {
		got = append(got, strings.Join(r, " "))
	}
	want := []string{"ip route replace 10.244.0.0/24 via 172.18.0.2", "ip route replace 10.244.2.0/24 via 172.18.0.4"}
	if !slices.Equal(got, want) {
		t.Errorf("routes on w1: %q, want %q", got, want)
	}
}

func TestNetOf(t *testing.T) {
	node := func(cidr string, addrs ...corev1.NodeAddress) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "w1"}, Spec: corev1.NodeSpec{PodCIDR: cidr}, Status: corev1.NodeStatus{Addresses: addrs}}
	}
	internal := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "172.18.0.3"}
	tests := []struct {
		name string
		node corev1.Node
		ok   bool
	}{
		{"pod CIDR and internal address", node("10.244.1.0/24", corev1.NodeAddress{Type: corev1.NodeHostName, Address: "w1"}, internal), true},
		{"no pod CIDR yet", node("", internal), false},
		{"no internal address yet", node("10.244.1.0/24"), false},
		{"an IPv6 address only", node("10.244.1.0/24", corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fc00::3"}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := netOf(tt.node)
			if ok != tt.ok {
				t.Fatalf("ok %v, want %v", ok, tt.ok)
			}
			if ok && (n.ip.String() != "172.18.0.3" || n.podCIDR.String() != "10.244.1.0/24") {
				t.Errorf("got %+v", n)
			}
		})
	}
}
