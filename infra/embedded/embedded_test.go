package embedded

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/infra/nodeops"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/testkit/leakcheck"
)

// webImage is the image of runWeb's pods.
const webImage = "registry.k8s.io/pause:3.10"

func testGroup(name, zone, subnet string, size int) eks.NodeGroup {
	return eks.NodeGroup{Name: name, Size: size, InstanceType: "m5.large", Zone: zone, Subnet: netip.MustParsePrefix(subnet)}
}

// startEnv starts an environment for a test and registers its teardown,
// which also checks that nothing was left behind.
func startEnv(t *testing.T, p environment.Params) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a control plane (skipped with -short)")
	}
	before, err := leakcheck.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p.Dir, p.Log = t.TempDir(), slog.New(slog.NewTextHandler(testWriter{t}, nil))
	env, stop, err := Start(ctx, p)
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := stop(stopCtx); err != nil {
			t.Errorf("stop: %v", err)
		}
		after, err := leakcheck.Listeners()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range after {
			if !slices.Contains(before, l) {
				t.Errorf("listener left open after stop: %s", l)
			}
		}
		if env != nil {
			if left := leakcheck.TempDirs("gameday-" + env.RunID + "-*"); len(left) > 0 {
				t.Errorf("temp dirs left after stop: %v", left)
			}
		}
		// Other processes' kubelets (a concurrent package's games) make
		// such a directory for an instant too: a leak is one that stays.
		if left := leakcheck.TempDirs("hollow-kubelet.*"); len(left) > 0 {
			time.Sleep(2 * time.Second)
			var stayed []string
			for _, d := range leakcheck.TempDirs("hollow-kubelet.*") {
				if slices.Contains(left, d) {
					stayed = append(stayed, d)
				}
			}
			if len(stayed) > 0 {
				t.Errorf("kubemark temp dirs left: %v", stayed)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func kubectl(t *testing.T, kubeconfig string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatal("kubectl is not on PATH; install it (see README, Requirements)")
	}
	cmd := exec.Command(path, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// kubectlErr runs kubectl and returns its output and error, for
// commands expected to fail.
func kubectlErr(kubeconfig string, args ...string) (string, error) {
	out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
	return string(out), err
}

// eventually polls cond every 100ms until it returns true or timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s; last seen: %s", what, timeout, last)
}

func webDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "web", Image: webImage,
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// podsByGroup returns the web pods' node groups, and whether all are
// Running.
func podsByGroup(ctx context.Context, cs kubernetes.Interface) (map[string]int, bool, string) {
	pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		return nil, false, err.Error()
	}
	groups := map[string]int{}
	running := len(pods.Items) > 0
	var state []string
	for _, p := range pods.Items {
		g := ""
		if p.Spec.NodeName != "" {
			if n, err := cs.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{}); err == nil {
				g = n.Labels[eks.NodeGroupLabel]
			}
		}
		groups[g]++
		running = running && p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil
		state = append(state, p.Name+"="+string(p.Status.Phase)+"@"+g)
	}
	return groups, running, strings.Join(state, " ")
}

func TestIntegrationEmbeddedCluster(t *testing.T) {
	// ng-b's /28 is the smallest subnet a VPC allows: 11 addresses for
	// its nodes and their pods.
	env := startEnv(t, environment.Params{NodeGroups: []eks.NodeGroup{
		testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 2),
		testGroup("ng-b", "us-east-1b", "10.0.2.16/28", 2),
	}})
	ctx := context.Background()
	cs := env.Client()

	t.Run("nodes look like EKS", func(t *testing.T) {
		nodes, err := nodeops.Nodes(ctx, cs, "ng-b")
		if err != nil || len(nodes) != 2 {
			t.Fatalf("ng-b nodes: %d, %v", len(nodes), err)
		}
		n := nodes[0]
		if !strings.HasPrefix(n.Name, "ip-10-0-2-") || !strings.HasSuffix(n.Name, ".ec2.internal") {
			t.Errorf("node name %q is not an EC2 private DNS name in 10.0.2.0/24", n.Name)
		}
		if !strings.HasPrefix(n.Spec.ProviderID, "aws:///us-east-1b/i-") || len(n.Spec.ProviderID) != len("aws:///us-east-1b/i-")+17 {
			t.Errorf("providerID %q, want aws:///us-east-1b/i-<17 hex>", n.Spec.ProviderID)
		}
		for k, want := range map[string]string{
			"eks.amazonaws.com/nodegroup":      "ng-b",
			"node.kubernetes.io/instance-type": "m5.large",
			"topology.kubernetes.io/zone":      "us-east-1b",
			"topology.kubernetes.io/region":    "us-east-1",
			"eks.amazonaws.com/capacityType":   "ON_DEMAND",
			eks.RunIDLabel:                     env.RunID,
		} {
			if got := n.Labels[k]; got != want {
				t.Errorf("label %s = %q, want %q", k, got, want)
			}
		}
		var internal string
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				internal = a.Address
			}
		}
		if ip, err := netip.ParseAddr(internal); err != nil || !netip.MustParsePrefix("10.0.2.16/28").Contains(ip) || ip.As4()[3] < 20 {
			t.Errorf("InternalIP %q not in the group's subnet past the 4 addresses AWS keeps", internal)
		}
		if got := n.Status.Capacity.Pods().Value(); got != 29 {
			t.Errorf("pod capacity %d, want 29 (m5.large with the VPC CNI)", got)
		}
	})

	// Keep ng-b out of the way so the pods land on ng-a.
	if err := nodeops.Cordon(ctx, cs, "ng-b", true); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, webDeployment(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("pods run on the expected group behind the service", func(t *testing.T) {
		eventually(t, 60*time.Second, "3 web pods Running on ng-a", func() (bool, string) {
			groups, running, state := podsByGroup(ctx, cs)
			return running && groups["ng-a"] == 3, state
		})
		eventually(t, 30*time.Second, "EndpointSlice with 3 ready, distinct addresses", func() (bool, string) {
			slices, err := cs.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
			if err != nil {
				return false, err.Error()
			}
			ips := map[string]bool{}
			for _, s := range slices.Items {
				for _, ep := range s.Endpoints {
					if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
						for _, a := range ep.Addresses {
							ips[a] = true
						}
					}
				}
			}
			for ip := range ips {
				if !netip.MustParsePrefix("10.0.1.0/24").Contains(netip.MustParseAddr(ip)) {
					return false, "pod IP " + ip + " outside ng-a's subnet"
				}
			}
			return len(ips) == 3, strings.Join(keys(ips), ",")
		})
	})

	t.Run("kubectl describe pod shows the kubelet's events", func(t *testing.T) {
		var out string
		eventually(t, 30*time.Second, "kubelet events in kubectl describe", func() (bool, string) {
			out = kubectl(t, env.OperatorKubeconfig(), "describe", "pods", "-n", "default", "-l", "app=web")
			for _, want := range []string{
				"default-scheduler  Successfully assigned default/web-",
				`kubelet            Pulling image "registry.k8s.io/pause:3.10"`,
				`kubelet            Successfully pulled image "registry.k8s.io/pause:3.10"`,
				"Created", "Started",
			} {
				if !strings.Contains(out, want) {
					return false, "missing " + want + " in:\n" + out
				}
			}
			if strings.Contains(out, "MissingClusterDNS") {
				return false, "kubelet warns MissingClusterDNS"
			}
			return true, ""
		})
		t.Logf("kubectl describe pods:\n%s", out[strings.LastIndex(out, "Events:"):])
	})

	t.Run("the kubelet API answers through the API server, and only to authorised callers", func(t *testing.T) {
		// kubectl logs goes API server → egress router → the node's kubelet.
		out := kubectl(t, env.OperatorKubeconfig(), "logs", "-n", "default", "-l", "app=web", "--tail=5", "--timestamps")
		if n := strings.Count(out, " web starting"); n != 3 {
			t.Errorf("kubectl logs of 3 web pods has %d start lines:\n%s", n, out)
		}
		nodes, err := nodeops.Nodes(ctx, cs, "ng-a")
		if err != nil || len(nodes) == 0 {
			t.Fatalf("ng-a nodes: %v", err)
		}
		env.router.mu.Lock()
		addr := env.router.routes[net.JoinHostPort(nodes[0].Name, "10250")]
		env.router.mu.Unlock()
		if addr == "" {
			t.Fatalf("no route to %s's kubelet", nodes[0].Name)
		}
		nobody, err := env.pki.issue("nobody", "nobody", nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(env.pki.caPEM)
		get := func(id *identity) int {
			tc := &tls.Config{RootCAs: roots, ServerName: nodes[0].Name}
			if id != nil {
				c, err := tls.X509KeyPair(id.certPEM, id.keyPEM)
				if err != nil {
					t.Fatal(err)
				}
				tc.Certificates = []tls.Certificate{c}
			}
			hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
			resp, err := hc.Get("https://" + addr + "/pods")
			if err != nil {
				t.Fatalf("GET /pods: %v", err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := get(nil); got != http.StatusUnauthorized {
			t.Errorf("no client certificate: %d, want 401", got)
		}
		if got := get(nobody); got != http.StatusForbidden {
			t.Errorf("a user without nodes/proxy: %d, want 403", got)
		}
	})

	t.Run("rollout restart makes a new ReplicaSet that becomes available", func(t *testing.T) {
		kubectl(t, env.OperatorKubeconfig(), "rollout", "restart", "deployment/web", "-n", "default")
		out := kubectl(t, env.OperatorKubeconfig(), "rollout", "status", "deployment/web", "-n", "default", "--timeout=90s")
		if !strings.Contains(out, "successfully rolled out") {
			t.Fatalf("rollout status: %s", out)
		}
		rss, err := cs.AppsV1().ReplicaSets("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		if len(rss.Items) != 2 {
			t.Fatalf("%d ReplicaSets, want 2 (old and restarted)", len(rss.Items))
		}
	})

	t.Run("audit log records the operator's rollout restart", func(t *testing.T) {
		f, err := os.Open(env.AuditLog())
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		found := false
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev struct {
				Verb      string                    `json:"verb"`
				User      struct{ Username string } `json:"user"`
				ObjectRef struct {
					Resource, Namespace, Name string
				} `json:"objectRef"`
				RequestObject json.RawMessage `json:"requestObject"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("audit line is not JSON: %v", err)
			}
			if ev.User.Username != OperatorUser {
				t.Errorf("audit log has a request by %q; only the operator's are recorded", ev.User.Username)
			}
			if ev.Verb == "patch" && ev.ObjectRef.Resource == "deployments" && ev.ObjectRef.Name == "web" &&
				strings.Contains(string(ev.RequestObject), "kubectl.kubernetes.io/restartedAt") {
				found = true
			}
		}
		if !found {
			t.Error("no PATCH of deployments/web with restartedAt by the operator in the audit log")
		}
	})

	t.Run("draining a node group moves its pods to the other group", func(t *testing.T) {
		if err := nodeops.Cordon(ctx, cs, "ng-b", false); err != nil {
			t.Fatal(err)
		}
		if err := nodeops.Drain(ctx, cs, "ng-a", time.Minute, nil); err != nil {
			t.Fatal(err)
		}
		eventually(t, 60*time.Second, "3 web pods Running on ng-b", func() (bool, string) {
			groups, running, state := podsByGroup(ctx, cs)
			return running && groups["ng-b"] == 3 && len(groups) == 1, state
		})
		nodes, _ := nodeops.Nodes(ctx, cs, "ng-a")
		for _, n := range nodes {
			if !n.Spec.Unschedulable {
				t.Errorf("drained node %s is schedulable", n.Name)
			}
		}
	})

	t.Run("node groups scale up and down to none", func(t *testing.T) {
		if err := env.SetNodeGroupSize(ctx, eks.NodeGroup{Name: "ng-b"}, 3); err != nil {
			t.Fatal(err)
		}
		if nodes, _ := nodeops.Nodes(ctx, cs, "ng-b"); len(nodes) != 3 {
			t.Errorf("ng-b has %d nodes after scaling to 3", len(nodes))
		}
		if err := env.SetNodeGroupSize(ctx, eks.NodeGroup{Name: "ng-a"}, 0); err != nil {
			t.Fatal(err)
		}
		if nodes, _ := nodeops.Nodes(ctx, cs, "ng-a"); len(nodes) != 0 {
			t.Errorf("ng-a still has %d nodes after scaling to 0", len(nodes))
		}
		if got := env.Nodes("ng-a"); len(got) != 0 {
			t.Errorf("ng-a still runs %d nodes", len(got))
		}
	})

	t.Run("scale-down drains, honouring a PodDisruptionBudget", func(t *testing.T) {
		pdb := &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(0)),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		}
		if _, err := cs.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Every web pod runs on ng-b now: removing its nodes means
		// evicting them, which the budget forbids.
		short, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		err := env.SetNodeGroupSize(short, eks.NodeGroup{Name: "ng-b"}, 0)
		if err == nil {
			t.Fatal("scaling ng-b to 0 succeeded past a PodDisruptionBudget that allows no eviction")
		}
		groups, _, state := podsByGroup(ctx, cs)
		if groups["ng-b"] != 3 {
			t.Errorf("web pods left ng-b although the budget forbids it: %s", state)
		}
		if n := len(env.Nodes("ng-b")); n == 0 {
			t.Errorf("ng-b has no nodes left after a drain that failed (%v)", err)
		}
		if err := cs.PolicyV1().PodDisruptionBudgets("default").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := env.SetNodeGroupSize(ctx, eks.NodeGroup{Name: "ng-b"}, 1); err != nil {
			t.Fatalf("scale ng-b to 1 without the budget: %v", err)
		}
		if nodes, _ := nodeops.Nodes(ctx, cs, "ng-b"); len(nodes) != 1 {
			t.Errorf("ng-b has %d nodes after scaling to 1", len(nodes))
		}
	})
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
