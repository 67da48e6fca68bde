package embedded

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
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
		env, stop, err := Start(ctx, WithDir(b.TempDir()), WithNodeGroups(
			testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 2),
			testGroup("ng-b", "us-east-1b", "10.0.2.0/24", 2),
		))
		if err != nil {
			_ = stop(context.Background())
			b.Fatal(err)
		}
		startTotal += time.Since(t0)

		d := webDeployment()
		d.Spec.Replicas = ptr.To[int32](10)
		t1 := time.Now()
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
			if running == 10 {
				break
			}
			if time.Since(t1) > 2*time.Minute {
				b.Fatalf("only %d of 10 pods Running after 2m", running)
			}
			time.Sleep(20 * time.Millisecond)
		}
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

// peakRSS is the process's peak resident set size in bytes (VmHWM).
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
