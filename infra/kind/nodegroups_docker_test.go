package kind

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/testkit/apptest"
	"github.com/gameday-sre/gameday/internal/testkit/dockertest"
	"github.com/gameday-sre/gameday/scenarios"
)

// TestIntegrationKindNodeGroups runs the node-group operations on a real
// kind cluster: kind cannot add nodes to a running cluster, so every node
// a group will need is created up front, and groups are created, scaled
// and deleted by tainting their nodes in and out of service. The first
// incident's environment is used, with room for ng-general-v1 to grow to
// three nodes. Each operation's time is logged.
func TestIntegrationKindNodeGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short: it creates a kind cluster")
	}
	dockertest.RequireImages(t, "", LocalImages()...)
	if err := dockerhost.CheckCLI(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	bin, err := apptest.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(AppBinaryEnv, bin)
	s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	s.Spec.Steps = append(s.Spec.Steps, scenarios.Step{Name: "grow", Kind: "scaleNodeGroup", Phase: "fault",
		Action: &scenarios.ScaleNodeGroup{NodeGroup: "ng-general-v1", Size: 3}})
	// Timings other than the defaults, to see that they reach the
	// controller manager and the kubelets.
	tm := &s.Spec.Environment.Cluster.Timings
	tm.HPASyncPeriod.Duration, tm.EvictionPressureTransitionPeriod.Duration, tm.CrashLoopBackOffMax.Duration = 20*time.Second, 45*time.Second, time.Minute
	ctx := context.Background()
	dir := t.TempDir()
	runID := "nodegroups-" + time.Now().Format("150405")
	t0 := time.Now()
	e, stop, err := environment.Start(ctx, s, "kind", cloud.WithDir(dir), cloud.WithRunID(runID),
		cloud.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	defer func() {
		if err := stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
		if names, _ := NewProvider(nil).List(); len(names) > 0 {
			for _, n := range names {
				if n == ClusterName(runID) {
					t.Errorf("kind cluster %s left", n)
				}
			}
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("environment with %d nodes up in %s", len(e.Cluster.(*Env).nodes), time.Since(t0).Round(time.Second))
	checkTimings(ctx, t, e.Client())

	// inService counts a group's nodes: in service (schedulable, not
	// pending) and out of it.
	inService := func(group string) (in, out int) {
		t.Helper()
		ns, err := e.Client().CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: eks.NodeGroupLabel + "=" + group})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns.Items {
			if n.Spec.Unschedulable || pending(n) {
				out++
			} else {
				in++
			}
		}
		return in, out
	}
	for _, step := range []struct {
		name    string
		do      func() error
		group   string
		in, out int
	}{
		{"before: the deferred group's nodes wait out of service", func() error { return nil }, "ng-general-v2", 0, 2},
		{"create ng-general-v2", func() error { return e.CreateNodeGroup(ctx, "ng-general-v2") }, "ng-general-v2", 2, 0},
		{"scale ng-general-v1 to 3", func() error { return e.ScaleNodeGroup(ctx, "ng-general-v1", 3) }, "ng-general-v1", 3, 0},
		{"cordon ng-general-v1", func() error { return e.CordonNodeGroup(ctx, "ng-general-v1", true) }, "ng-general-v1", 0, 3},
		{"drain ng-general-v1", func() error { return e.DrainNodeGroup(ctx, "ng-general-v1", time.Minute) }, "ng-general-v1", 0, 3},
		{"uncordon ng-general-v1", func() error { return e.CordonNodeGroup(ctx, "ng-general-v1", false) }, "ng-general-v1", 3, 0},
		{"scale ng-general-v1 to 1", func() error { return e.ScaleNodeGroup(ctx, "ng-general-v1", 1) }, "ng-general-v1", 1, 2},
		{"delete ng-general-v2", func() error { return e.DeleteNodeGroup(ctx, "ng-general-v2") }, "ng-general-v2", 0, 2},
	} {
		t1 := time.Now()
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		in, out := inService(step.group)
		t.Logf("%s: %s", step.name, time.Since(t1).Round(time.Millisecond))
		if in != step.in || out != step.out {
			t.Errorf("%s: %s has %d nodes in service and %d out, want %d and %d", step.name, step.group, in, out, step.in, step.out)
		}
	}
}

// pending reports whether n carries PendingTaint.
func pending(n corev1.Node) bool {
	for _, tn := range n.Spec.Taints {
		if tn.Key == PendingTaint {
			return true
		}
	}
	return false
}

// checkTimings reads the scenario's timings back from the running
// cluster: the controller manager's flags, from its static pod, and a
// worker kubelet's configuration, from its configz endpoint through the
// API server.
func checkTimings(ctx context.Context, t *testing.T, client kubernetes.Interface) {
	t.Helper()
	pods, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "component=kube-controller-manager"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("the controller manager's pod: %v (%d found)", err, len(pods.Items))
	}
	cmd := strings.Join(pods.Items[0].Spec.Containers[0].Command, " ")
	if !strings.Contains(cmd, "--horizontal-pod-autoscaler-sync-period=20s") || !strings.Contains(cmd, "--node-monitor-grace-period=40s") {
		t.Errorf("kube-controller-manager runs without the scenario's timings: %s", cmd)
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: eks.NodeGroupLabel})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("worker nodes: %v", err)
	}
	raw, err := client.CoreV1().RESTClient().Get().AbsPath("/api/v1/nodes", nodes.Items[0].Name, "proxy", "configz").DoRaw(ctx)
	if err != nil {
		t.Fatalf("kubelet configz: %v", err)
	}
	var cz struct {
		KubeletConfig struct {
			EvictionPressureTransitionPeriod string `json:"evictionPressureTransitionPeriod"`
			VolumeStatsAggPeriod             string `json:"volumeStatsAggPeriod"`
			CrashLoopBackOff                 struct {
				MaxContainerRestartPeriod string `json:"maxContainerRestartPeriod"`
			} `json:"crashLoopBackOff"`
		} `json:"kubeletconfig"`
	}
	if err := json.Unmarshal(raw, &cz); err != nil {
		t.Fatalf("kubelet configz: %v: %s", err, raw)
	}
	kc := cz.KubeletConfig
	if kc.EvictionPressureTransitionPeriod != "45s" || kc.VolumeStatsAggPeriod != "10s" || kc.CrashLoopBackOff.MaxContainerRestartPeriod != "1m0s" {
		t.Errorf("kubelet of %s runs with evictionPressureTransitionPeriod %q, volumeStatsAggPeriod %q, crashLoopBackOff %q; want 45s, 10s, 1m0s",
			nodes.Items[0].Name, kc.EvictionPressureTransitionPeriod, kc.VolumeStatsAggPeriod, kc.CrashLoopBackOff.MaxContainerRestartPeriod)
	}
}
