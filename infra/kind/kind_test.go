package kind

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/testkit/golden"
	"github.com/gameday-sre/gameday/scenarios"
)

func TestConfigGolden(t *testing.T) {
	s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config(environment.NodeGroups(s), s.Spec.Environment.AWS.Region, "20261126-080000-abcdef", "/var/lib/gameday/runs/20261126-080000-abcdef/audit",
		WithTimings(environment.DefaultTimings()))
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "ecr-imagepullbackoff.kind.yaml", b)

	if cfg.Name != "gameday-20261126-080000-abcdef" || len(cfg.Nodes) != 5 {
		t.Fatalf("name %s, %d nodes; want 1 control plane and 4 workers", cfg.Name, len(cfg.Nodes))
	}
	var pending, v1 int
	for _, n := range cfg.Nodes[1:] {
		switch n.Labels["eks.amazonaws.com/nodegroup"] {
		case "ng-general-v2":
			if len(n.KubeadmConfigPatches) != 1 || !strings.Contains(n.KubeadmConfigPatches[0], PendingTaint) {
				t.Errorf("deferred group's node not tainted: %v", n.KubeadmConfigPatches)
			}
			pending++
		case "ng-general-v1":
			if len(n.KubeadmConfigPatches) != 0 {
				t.Errorf("initial group's node tainted: %v", n.KubeadmConfigPatches)
			}
			v1++
		}
	}
	if pending != 2 || v1 != 2 {
		t.Errorf("%d pending and %d initial workers, want 2 and 2", pending, v1)
	}
}

func TestHostsTOML(t *testing.T) {
	host := scenarios.ECRRegistry("123456789012", "us-east-1")
	golden.Check(t, "hosts.toml", []byte(HostsTOML(host, "http://172.18.0.1:45001")))
	if got := HostsTOMLPath(host); got != "/etc/containerd/certs.d/123456789012.dkr.ecr.us-east-1.amazonaws.com/hosts.toml" {
		t.Errorf("path %s", got)
	}
}

func TestResolver(t *testing.T) {
	r := NewResolver(
		NodeAddr{Name: "gameday-x-worker", Group: "ng-general-v1", IP: netip.MustParseAddr("172.18.0.3")},
		NodeAddr{Name: "gameday-x-worker3", Group: "ng-general-v2", IP: netip.MustParseAddr("172.18.0.5")},
	)
	tests := []struct {
		name, remote, want string
	}{
		{"v1 node", "172.18.0.3:51234", "gameday-x-worker"},
		{"v2 node", "172.18.0.5:40000", "gameday-x-worker3"},
		{"IPv4-mapped IPv6", "[::ffff:172.18.0.5]:40000", "gameday-x-worker3"},
		{"the host itself", "172.18.0.1:1234", ""},
		{"garbage", "not-an-address", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Identity(&http.Request{RemoteAddr: tt.remote}); got != tt.want {
				t.Errorf("Identity(%s) = %q, want %q", tt.remote, got, tt.want)
			}
		})
	}
	want := map[string]string{"gameday-x-worker": "ng-general-v1", "gameday-x-worker3": "ng-general-v2"}
	if diff := cmp.Diff(want, r.Groups()); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}

func TestHostsTOMLParses(t *testing.T) {
	var cfg struct {
		Server       string
		Capabilities []string
		Host         map[string]any
	}
	if _, err := toml.Decode(HostsTOML("1.dkr.ecr.us-east-1.amazonaws.com", "http://172.18.0.1:45001"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Server != "http://172.18.0.1:45001" {
		t.Errorf("server = %q, want the registry", cfg.Server)
	}
	if !slices.Equal(cfg.Capabilities, []string{"pull", "resolve"}) {
		t.Errorf("capabilities = %q", cfg.Capabilities)
	}
	// containerd 1.7 ignores a file with no [host] table; containerd
	// tries every host before the server, so each must be the registry.
	if len(cfg.Host) != 1 || cfg.Host["http://172.18.0.1:45001"] == nil {
		t.Errorf("host entries %v, want the registry only: containerd goes on past a refusing host", cfg.Host)
	}
}

// TestCapacity checks that the cluster has every node a group will need:
// its size, or the most a scale step asks for; the spare and the
// deferred group's are pending.
func TestCapacity(t *testing.T) {
	s := &scenarios.Scenario{}
	s.Spec.Environment.NodeGroups = []scenarios.NodeGroup{{Name: "a", Size: 2}, {Name: "b", Size: 1, Deferred: true}}
	s.Spec.Steps = []scenarios.Step{
		{Name: "scale a up", Kind: "scaleNodeGroup", Action: &scenarios.ScaleNodeGroup{NodeGroup: "a", Size: 4}},
		{Name: "scale a in", Kind: "scaleNodeGroup", Action: &scenarios.ScaleNodeGroup{NodeGroup: "a", Size: 1}},
	}
	cfg := Config(environment.NodeGroups(s), "us-east-1", "r", "/audit")
	var pending int
	for _, n := range cfg.Nodes[1:] {
		if len(n.KubeadmConfigPatches) == 1 && strings.Contains(n.KubeadmConfigPatches[0], PendingTaint) {
			pending++
		}
	}
	if len(cfg.Nodes) != 6 || pending != 3 {
		t.Errorf("%d nodes, %d pending; want 1+5 nodes, 2 spare of a and 1 of deferred b pending", len(cfg.Nodes), pending)
	}
}
