package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/embedded"
	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/infra/images"
	"github.com/gameday-sre/gameday/infra/nodeops"
	"github.com/gameday-sre/gameday/infra/operator"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

// stand-in for kind's provider: the "cluster" is an embedded control
// plane, already running, whose admin kubeconfig Create copies to where
// kind would write it; its nodes are localNodes.
type embeddedProvider struct {
	adminKubeconfig string
	dst             string
	nodes           []nodes.Node
	deleted         bool
}

func (p *embeddedProvider) Create(string, ...cluster.CreateOption) error {
	b, err := os.ReadFile(p.adminKubeconfig)
	if err != nil {
		return err
	}
	return os.WriteFile(p.dst, b, 0o600)
}
func (p *embeddedProvider) Delete(string, string) error             { p.deleted = true; return nil }
func (p *embeddedProvider) List() ([]string, error)                 { return nil, nil }
func (p *embeddedProvider) ListNodes(string) ([]nodes.Node, error)  { return p.nodes, nil }
func (p *embeddedProvider) KubeConfig(string, bool) (string, error) { return "", errors.New("unused") }

// fakeEngine is the Docker engine: a fixed gateway, and an image store
// holding one image.
type fakeEngine struct {
	gateway netip.Addr
	ref     string
	saved   []byte // docker save form
}

func (f fakeEngine) Gateway(context.Context, string) (netip.Addr, error) { return f.gateway, nil }
func (f fakeEngine) Pull(_ context.Context, ref string) error {
	return errors.New("Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host")
}
func (f fakeEngine) Save(_ context.Context, ref string) (io.ReadCloser, error) {
	if f.saved == nil || ref != f.ref {
		return nil, errors.New("Error response from daemon: reference does not exist")
	}
	return io.NopCloser(bytes.NewReader(f.saved)), nil
}

// dockerSave returns img as `docker save` writes it.
func dockerSave(t *testing.T, ref string, img v1.Image) []byte {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarball.Write(tag, img, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pullFrom fetches an image manifest from the registry with the
// connection's source address set to ip, as a kind node's containerd
// would reach it from its container address.
func pullFrom(ctx context.Context, registryURL, ref, ip string) error {
	host := strings.TrimPrefix(registryURL, "http://")
	r, err := name.ParseReference(host+"/"+ref, name.Insecure)
	if err != nil {
		return err
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	_, err = remote.Image(r, remote.WithContext(ctx), remote.WithTransport(tr))
	return err
}

func statusOf(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// TestStartOnEmbeddedCluster runs everything the kind backend does after
// kind has created the cluster, against a real API server and controller
// manager (the embedded backend's), moto and the registry: nodes paired
// with addresses, containerd configuration written into each node, the
// registry deciding pulls by source address through the node role, the
// operator's certificate from the cluster's CSR signer, the audit log
// streamed out, and node groups brought into service.
func TestStartOnEmbeddedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a control plane and moto (skipped with -short)")
	}
	s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	// The embedded nodes pull the images but run none: a stand-in app
	// binary is enough, and the images must carry it.
	app := filepath.Join(t.TempDir(), "gameday-app")
	if err := os.WriteFile(app, []byte("stand-in gameday-app"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(AppBinaryEnv, app)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := s.Spec.Environment

	// The cluster as Config describes it: every group's nodes, the
	// deferred group's tainted.
	var groups []eks.NodeGroup
	for _, ng := range env.NodeGroups {
		g := eks.NodeGroup{Name: ng.Name, Size: ng.Size, InstanceType: ng.InstanceType, CapacityType: ng.CapacityType,
			Zone: ng.Zone, Subnet: netip.MustParsePrefix(ng.Subnet), Labels: ng.Labels}
		if ng.Deferred {
			g.Taints = []corev1.Taint{{Key: PendingTaint, Value: ng.Name, Effect: corev1.TaintEffectNoSchedule}}
		}
		groups = append(groups, g)
	}
	cl, stopCluster, err := embedded.Start(ctx, environment.Params{Dir: t.TempDir(), RunID: "kindtest", Region: env.AWS.Region, NodeGroups: groups})
	defer func() {
		if err := stopCluster(context.Background()); err != nil {
			t.Errorf("stop cluster: %v", err)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}

	cp := &localNode{name: "gameday-kindtest-control-plane", role: "control-plane", ip: "127.0.0.2", root: t.TempDir()}
	if err := os.MkdirAll(filepath.Dir(filepath.Join(cp.root, AuditLogPath)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cp.root, AuditLogPath), []byte(`{"verb":"list"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := []nodes.Node{cp}
	ipOf := map[string][]string{} // node group → worker addresses
	next := 10
	for _, g := range cl.NodeGroups() {
		for _, n := range cl.Nodes(g) {
			ip := fmt.Sprintf("127.0.0.%d", next)
			next++
			w := containerdNode(t, n.Name, "worker")
			w.ip = ip
			ns = append(ns, w)
			ipOf[g] = append(ipOf[g], ip)
		}
	}

	dir := t.TempDir()
	p := &embeddedProvider{adminKubeconfig: cl.AdminKubeconfig, dst: filepath.Join(dir, "admin.kubeconfig"), nodes: ns}
	base, err := random.Image(1024, 1)
	if err != nil {
		t.Fatal(err)
	}
	eng := fakeEngine{gateway: netip.MustParseAddr("127.0.0.1"), ref: images.AppBaseImage, saved: dockerSave(t, images.AppBaseImage, base)}
	// kind's own code behind the shared composer, with the provider and
	// the engine stood in for.
	environment.Register("kind-on-embedded", environment.Backend{Network: true,
		Start: func(ctx context.Context, params environment.Params) (environment.Cluster, func(context.Context) error, error) {
			stops := &cloud.Stops{}
			k, err := start(ctx, params, p, eng, stops, embeddedHost)
			if err != nil {
				return nil, stops.Stop, err
			}
			return k, stops.Stop, nil
		}})
	e, stop, err := environment.Start(ctx, s, "kind-on-embedded", cloud.WithDir(dir), cloud.WithRunID("kindtest"),
		cloud.WithLogger(slog.New(slog.NewTextHandler(testWriter{t}, nil))))
	stopped := false
	defer func() {
		if stopped {
			return
		}
		if err := stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	k := e.Cluster.(*Env)

	t.Run("containerd sent to the registry on every node", func(t *testing.T) {
		host := scenarios.ECRRegistry(env.AWS.AccountID, env.AWS.Region)
		for _, n := range ns[1:] {
			b, err := os.ReadFile(filepath.Join(n.(*localNode).root, HostsTOMLPath(host)))
			if err != nil || string(b) != HostsTOML(host, e.Registry.URL) {
				t.Errorf("%s: hosts.toml %q, %v", n, b, err)
			}
		}
		if !strings.HasPrefix(e.Registry.URL, "http://127.0.0.1:") {
			t.Errorf("registry at %s, want the gateway address", e.Registry.URL)
		}
	})

	t.Run("start times for the benchmark's breakdown", func(t *testing.T) {
		st := k.StartTimes()
		if st["control plane"] <= 0 || st["nodes"] < st["control plane"] {
			t.Errorf("start times %v: want the control plane, then the nodes", st)
		}
	})

	t.Run("stand-ins for the public images the engine cannot get", func(t *testing.T) {
		// Each import replaces imported.tar: the last public image is the
		// one left, under its own name.
		for _, n := range ns[1:] {
			b, err := os.ReadFile(filepath.Join(n.(*localNode).root, "imported.tar"))
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			if tags := repoTags(t, b); !slices.Equal(tags, []string{"registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0"}) {
				t.Errorf("%s imported %v", n, tags)
			}
		}
	})

	t.Run("images built on the base, so that they run", func(t *testing.T) {
		r, err := name.ParseReference(strings.TrimPrefix(e.Registry.URL, "http://")+"/shop/checkout:1.9.0", name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		u, p := e.Registry.Pusher()
		img, err := remote.Image(r, remote.WithAuth(&authn.Basic{Username: u, Password: p}))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		baseCfg, _ := base.ConfigFile()
		if cfg.RootFS.DiffIDs[0] != baseCfg.RootFS.DiffIDs[0] {
			t.Errorf("first layer %s, want the base's %s", cfg.RootFS.DiffIDs[0], baseCfg.RootFS.DiffIDs[0])
		}
	})

	t.Run("operator certificate from the CSR signer", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", e.Cluster.OperatorKubeconfig())
		if err != nil {
			t.Fatal(err)
		}
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		u := r.Status.UserInfo
		if u.Username != operator.User || !strings.Contains(strings.Join(u.Groups, ","), operator.Group) {
			t.Errorf("operator is %s %v", u.Username, u.Groups)
		}
		if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("operator cannot list nodes: %v", err)
		}
	})

	t.Run("audit log streamed out of the control-plane node", func(t *testing.T) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(e.AuditLog())
			if strings.Contains(string(b), `{"verb":"list"}`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("audit log copy: %q", b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("pulls decided by source address through the node role", func(t *testing.T) {
		const ref = "shop/checkout:1.9.0"
		v1, v2 := ipOf["ng-general-v1"][0], ipOf["ng-general-v2"][0]
		if err := pullFrom(ctx, e.Registry.URL, ref, v1); err != nil {
			t.Errorf("ng-general-v1 node (role has ECR read): %v", err)
		}
		if err := pullFrom(ctx, e.Registry.URL, ref, "127.0.0.250"); statusOf(err) != http.StatusUnauthorized {
			t.Errorf("unknown address: %v, want 401", err)
		}
		if err := e.CreateNodeGroup(ctx, "ng-general-v2"); err != nil {
			t.Fatal(err)
		}
		for _, n := range cl.Nodes("ng-general-v2") {
			node, err := k.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil || nodeops.HasTaint(node, PendingTaint) || node.Spec.Unschedulable {
				t.Errorf("%s not in service after createNodeGroup: %v %v", n.Name, node.Spec.Taints, err)
			}
		}
		if err := pullFrom(ctx, e.Registry.URL, ref, v2); statusOf(err) != http.StatusUnauthorized {
			t.Errorf("ng-general-v2 node (role without ECR read): %v, want 401 (no basic auth credentials)", err)
		}
		if err := e.AttachRolePolicy(ctx, "eks-node-general-v2", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"); err != nil {
			t.Fatal(err)
		}
		if err := pullFrom(ctx, e.Registry.URL, ref, v2); err != nil {
			t.Errorf("ng-general-v2 node after the fix: %v", err)
		}
	})

	t.Run("kind cannot add nodes", func(t *testing.T) {
		err := e.ScaleNodeGroup(ctx, "ng-general-v1", 3)
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "kind cannot add nodes") {
			t.Errorf("err = %v", err)
		}
	})

	stopped = true
	if err := stop(context.Background()); err != nil {
		t.Errorf("stop: %v", err)
	}
	if !p.deleted {
		t.Error("stop did not delete the kind cluster")
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// embeddedHost stands in for the Docker host of the embedded stand-in
// cluster, which runs no node containers, and whose hollow nodes are
// Ready without a CNI.
var embeddedHost = hostSteps{
	privileged: func(context.Context, string, *slog.Logger) error { return nil },
	network:    func(context.Context, kubernetes.Interface, []nodes.Node, time.Duration) error { return nil },
}
