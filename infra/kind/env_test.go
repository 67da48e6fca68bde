package kind

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/infra/nodeops"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

// localNode is a kind node whose commands run on this machine, with
// absolute paths moved under root: the shell and tail that gameday runs
// in nodes really run.
type localNode struct {
	name, role, ip string
	root           string
	// fake replaces commands the machine lacks (containerd, ctr) by a
	// shell script, run with the command's arguments.
	fake map[string]string
}

func (n *localNode) String() string              { return n.name }
func (n *localNode) Role() (string, error)       { return n.role, nil }
func (n *localNode) IP() (string, string, error) { return n.ip, "", nil }
func (n *localNode) SerialLogs(io.Writer) error  { return nil }
func (n *localNode) Command(c string, a ...string) kindexec.Cmd {
	return n.CommandContext(context.Background(), c, a...)
}
func (n *localNode) CommandContext(ctx context.Context, c string, args ...string) kindexec.Cmd {
	if script, ok := n.fake[c]; ok {
		return kindexec.CommandContext(ctx, "sh", append([]string{"-c", script, c}, args...)...)
	}
	moved := make([]string, len(args))
	for i, a := range args {
		if strings.HasPrefix(a, "/etc/") || strings.HasPrefix(a, "/var/") {
			a = filepath.Join(n.root, a)
		}
		moved[i] = a
	}
	return kindexec.CommandContext(ctx, c, moved...)
}

func TestConfigureNodes(t *testing.T) {
	host := scenarios.ECRRegistry("123456789012", "us-east-1")
	var ns []nodes.Node
	for _, name := range []string{"gameday-r-worker", "gameday-r-worker2"} {
		ns = append(ns, &localNode{name: name, role: "worker", root: t.TempDir()})
	}
	content := HostsTOML(host, "http://172.18.0.1:45001")
	if err := configureNodes(context.Background(), ns, HostsTOMLPath(host), content); err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		got, err := os.ReadFile(filepath.Join(n.(*localNode).root, HostsTOMLPath(host)))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if string(got) != content {
			t.Errorf("%s: hosts.toml = %q", n, got)
		}
	}

	broken := &localNode{name: "gameday-r-worker3", root: "/proc/no-such-dir"}
	err := configureNodes(context.Background(), []nodes.Node{broken}, HostsTOMLPath(host), content)
	if err == nil || !strings.Contains(err.Error(), "on gameday-r-worker3") || errkind.Of(err) != errkind.Infra {
		t.Errorf("unwritable node: err = %v", err)
	}
}

func TestStreamAudit(t *testing.T) {
	cp := &localNode{name: "gameday-r-control-plane", role: "control-plane", root: t.TempDir()}
	src := filepath.Join(cp.root, AuditLogPath)
	if err := os.MkdirAll(filepath.Dir(src), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, []byte(`{"verb":"get"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "audit.log")
	stop, err := streamAudit(context.Background(), cp, dst)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(src, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"verb":"patch"}` + "\n")
	f.Close()
	want := `{"verb":"get"}` + "\n" + `{"verb":"patch"}` + "\n"
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, _ := os.ReadFile(dst)
		if string(got) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("host copy = %q, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := stop(context.Background()); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestNodeAddrs(t *testing.T) {
	cs := fake.NewClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "gameday-r-worker", Labels: map[string]string{eks.NodeGroupLabel: "ng-a"}}},
	)
	ns := []nodes.Node{
		&localNode{name: "gameday-r-control-plane", role: "control-plane", ip: "172.18.0.2"},
		&localNode{name: "gameday-r-worker", role: "worker", ip: "172.18.0.3"},
	}
	got, err := nodeAddrs(context.Background(), cs, ns)
	if err != nil {
		t.Fatal(err)
	}
	r := NewResolver(got...)
	if n, ok := r.Node("172.18.0.3:5555"); !ok || n.Name != "gameday-r-worker" || n.Group != "ng-a" {
		t.Errorf("worker = %+v %v", n, ok)
	}
	if n, ok := r.ByName("gameday-r-control-plane"); ok {
		t.Errorf("control plane resolved as %+v: it pulls no scenario images", n)
	}
	cpNode, err := controlPlane(ns)
	if err != nil || cpNode.String() != "gameday-r-control-plane" {
		t.Errorf("control plane = %v, %v", cpNode, err)
	}

	ns = append(ns, &localNode{name: "gameday-r-worker2", ip: "172.18.0.4"})
	if _, err := nodeAddrs(context.Background(), cs, ns); err == nil || !strings.Contains(err.Error(), "gameday-r-worker2 has not registered") {
		t.Errorf("unregistered node: err = %v", err)
	}
	if _, err := controlPlane(ns[1:]); err == nil {
		t.Error("no control plane found in workers only")
	}
}

func groupNode(name, group string, pending bool) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{eks.NodeGroupLabel: group}}}
	n.Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "x", Effect: corev1.TaintEffectNoSchedule}}
	if pending {
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: PendingTaint, Value: group, Effect: corev1.TaintEffectNoSchedule})
		n.Spec.Unschedulable = true
	}
	return n
}

func TestSetInService(t *testing.T) {
	type state struct {
		pending, cordoned bool
	}
	tests := []struct {
		name    string
		nodes   []*corev1.Node
		size    int
		want    map[string]state
		wantErr string
	}{
		{
			name:  "deferred group comes in",
			nodes: []*corev1.Node{groupNode("w1", "ng-b", true), groupNode("w2", "ng-b", true)},
			size:  2,
			want:  map[string]state{"w1": {}, "w2": {}},
		},
		{
			name:  "scale in takes the last node out",
			nodes: []*corev1.Node{groupNode("w1", "ng-b", false), groupNode("w2", "ng-b", false)},
			size:  1,
			want:  map[string]state{"w1": {}, "w2": {pending: true, cordoned: true}},
		},
		{
			name:  "delete takes every node out",
			nodes: []*corev1.Node{groupNode("w1", "ng-b", false), groupNode("w2", "ng-b", true)},
			size:  0,
			want:  map[string]state{"w1": {pending: true, cordoned: true}, "w2": {pending: true, cordoned: true}},
		},
		{
			name:    "more nodes than kind made",
			nodes:   []*corev1.Node{groupNode("w1", "ng-b", true)},
			size:    3,
			wantErr: "3 nodes asked for, the kind cluster has 1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := fake.NewClientset()
			for _, n := range tt.nodes {
				cs.Tracker().Add(n)
			}
			cs.Tracker().Add(groupNode("other", "ng-a", false))
			err := setInService(context.Background(), cs, "ng-b", tt.size, time.Second, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errkind.Of(err) != errkind.Invalid {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.want {
				n, err := cs.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				got := state{pending: nodeops.HasTaint(n, PendingTaint), cordoned: n.Spec.Unschedulable}
				if got != want {
					t.Errorf("%s: %+v, want %+v", name, got, want)
				}
				if !nodeops.HasTaint(n, "dedicated") {
					t.Errorf("%s lost the group's own taint: %v", name, n.Spec.Taints)
				}
			}
			other, _ := cs.CoreV1().Nodes().Get(context.Background(), "other", metav1.GetOptions{})
			if nodeops.HasTaint(other, PendingTaint) || other.Spec.Unschedulable {
				t.Error("another group's node was touched")
			}
		})
	}
}

// failingProvider is a kind provider whose Create fails after it has
// made containers, as a real one can.
type failingProvider struct {
	mu      sync.Mutex
	created []string
	deleted []string
}

func (p *failingProvider) Create(name string, _ ...cluster.CreateOption) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.created = append(p.created, name)
	return errors.New("failed to init node with kubeadm")
}
func (p *failingProvider) Delete(name, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleted = append(p.deleted, name)
	return nil
}
func (p *failingProvider) List() ([]string, error) { return p.created, nil }
func (p *failingProvider) ListNodes(string) ([]nodes.Node, error) {
	return nil, errors.New("unexpected")
}
func (p *failingProvider) KubeConfig(string, bool) (string, error) {
	return "", errors.New("unexpected")
}

func TestStartDeletesClusterWhenCreateFails(t *testing.T) {
	s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	params := environment.Params{Dir: t.TempDir(), RunID: "r1", Region: "us-east-1", NodeGroups: environment.NodeGroups(s)}
	p := &failingProvider{}
	stops := &cloud.Stops{}
	_, err = start(context.Background(), params, p, nil, stops, embeddedHost)
	if err == nil || !strings.Contains(err.Error(), "create kind cluster gameday-r1") || errkind.Of(err) != errkind.Infra {
		t.Fatalf("err = %v", err)
	}
	if err := stops.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(p.deleted) != 1 || p.deleted[0] != "gameday-r1" {
		t.Errorf("deleted %v, want the half-made cluster gameday-r1", p.deleted)
	}
	policy, err := os.ReadFile(filepath.Join(params.Dir, "audit-policy", "audit-policy.yaml"))
	if err != nil || !bytes.Contains(policy, []byte(`userGroups: ["gameday:operators"]`)) {
		t.Errorf("audit policy for the node: %q, %v", policy, err)
	}
}

func TestKindLogger(t *testing.T) {
	var buf bytes.Buffer
	l := kindLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.V(0).Info(" ✓ Preparing nodes 📦 ")
	l.V(1).Infof("docker run %s", "--hostname gameday-r-worker")
	l.Warnf("%d nodes", 5)
	out := buf.String()
	if !strings.Contains(out, "kind: ✓ Preparing nodes 📦") || !strings.Contains(out, "level=WARN") {
		t.Errorf("log = %s", out)
	}
	if strings.Contains(out, "docker run") {
		t.Errorf("V(1) shown at info level: %s", out)
	}
	if l.V(1).Enabled() || !l.V(0).Enabled() {
		t.Error("Enabled does not follow the handler's level")
	}
}
