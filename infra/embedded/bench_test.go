package embedded

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// BenchmarkEmbedded measures, per iteration: start to 4 nodes Ready
// (2 node groups × 2), then 10 pods to Running; and the process's peak
// RSS. Run with: make bench (or go test ./infra/embedded -run '^$' -bench . -benchtime 3x).
func BenchmarkEmbedded(b *testing.B) {
	var startTotal, podsTotal time.Duration
	var firstRSS uint64
	for i := 0; i < b.N; i++ {
		ctx := context.Background()
		t0 := time.Now()
		env, stop, err := Start(ctx, environment.Params{Dir: b.TempDir(), NodeGroups: []eks.NodeGroup{
			testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 2),
			testGroup("ng-b", "us-east-1b", "10.0.2.0/24", 2),
		}})
		if err != nil {
			_ = stop(context.Background())
			b.Fatal(err)
		}
		startTotal += time.Since(t0)

		t1 := time.Now()
		runWeb(b, env, 10, 2*time.Minute)
		podsTotal += time.Since(t1)
		if err := stop(context.Background()); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			firstRSS = peakRSS()
		}
	}
	b.ReportMetric(startTotal.Seconds()/float64(b.N), "s-to-4-nodes-ready")
	b.ReportMetric(podsTotal.Seconds()/float64(b.N), "s-to-10-pods-running")
	b.ReportMetric(float64(firstRSS)/(1<<20), "MiB-peak-RSS-first-env")
	b.ReportMetric(float64(peakRSS())/(1<<20), "MiB-peak-RSS-all")
	fmt.Fprintf(os.Stderr, "embedded: start to 4 nodes Ready %.2fs, 10 pods Running %.2fs (mean of %d); peak RSS %d MiB after one environment, %d MiB after %d in one process\n",
		startTotal.Seconds()/float64(b.N), podsTotal.Seconds()/float64(b.N), b.N, firstRSS>>20, peakRSS()>>20, b.N)
}

// runWeb creates the web Deployment with replicas pods and waits, up to
// patience, until they all run.
func runWeb(b *testing.B, env *Env, replicas int32, patience time.Duration) {
	b.Helper()
	ctx := context.Background()
	d := webDeployment()
	d.Spec.Replicas = ptr.To(replicas)
	t0 := time.Now()
	if _, err := env.Client().AppsV1().Deployments("default").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	for {
		pods, err := env.Client().CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			b.Fatal(err)
		}
		running := 0
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning {
				running++
			}
		}
		if running == int(replicas) {
			return
		}
		if time.Since(t0) > patience {
			b.Fatalf("waiting for %d web pods Running: %d after %s", replicas, running, patience)
		}
		time.Sleep(20 * time.Millisecond) // the start-up figure is timed to this
	}
}

// peakRSS is the process's peak resident set size in bytes (VmHWM).
func peakRSS() uint64 { return procStatus("VmHWM") }

// procStatus reads a field of /proc/self/status in bytes (VmRSS, VmHWM).
func procStatus(field string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

// BenchmarkBehavingPods measures the cost of behaving containers: 4
// nodes and 30 pods whose image declares a behaviour (a start line, then
// a request log line every 5 s), all Running; then the process's RSS and
// the CPU the whole environment uses over 10 s of idling (control plane,
// kubelets and the 30 models). An idle environment must not keep a core
// busy.
func BenchmarkBehavingPods(b *testing.B) {
	const pods = 30
	app := behaviour.App{Name: "web", RequestLog: "GET / 200 n=%d", Startup: behaviour.Startup{Port: 8080, Readiness: "/ready"}}
	var rss, idle float64
	for i := 0; i < b.N; i++ {
		// Give the OS back what earlier iterations' environments freed,
		// so that each RSS is one environment's (what an earlier one
		// leaks still counts).
		debug.FreeOSMemory()
		ctx := context.Background()
		env, stop, err := Start(ctx, environment.Params{Dir: b.TempDir(), NodeGroups: []eks.NodeGroup{
			testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 2),
			testGroup("ng-b", "us-east-1b", "10.0.2.0/24", 2),
		}, Behaviours: map[string]behaviour.App{webImage: app}})
		if err != nil {
			_ = stop(context.Background())
			b.Fatal(err)
		}
		runWeb(b, env, pods, 3*time.Minute)
		time.Sleep(5 * time.Second) // let start-up settle
		c0, w0 := processCPU(), time.Now()
		time.Sleep(10 * time.Second)
		idle += float64(processCPU()-c0) / float64(time.Since(w0))
		rss += float64(procStatus("VmRSS"))
		if err := stop(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(rss/float64(b.N)/(1<<20), "MiB-RSS-4-nodes-30-pods")
	b.ReportMetric(idle/float64(b.N), "cores-idle")
	fmt.Fprintf(os.Stderr, "embedded: 4 nodes and %d behaving pods: RSS %.0f MiB, idle CPU %.2f of a core (mean of %d)\n",
		pods, rss/float64(b.N)/(1<<20), idle/float64(b.N), b.N)
}
