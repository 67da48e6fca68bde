package embedded

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// TestIntegrationDiskPressure fills a node's disk through a container's
// model: the real eviction manager sets DiskPressure, node-lifecycle
// taints the node, and the noisiest pod is evicted with the kubelet's
// own message.
func TestIntegrationDiskPressure(t *testing.T) {
	const noisy = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/debug-logger:1.0"
	// 16 GiB a minute fills the 13 GiB left on the root volume, down to
	// the 10% threshold, in about 50 s.
	app := behaviour.App{Name: "debug-logger", Resources: behaviour.Resources{DiskPerMinute: 16 << 30}}
	env := startEnv(t, WithNodeGroups(testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 1)),
		WithBehaviours(func(ref string) (behaviour.App, bool) { return app, ref == noisy }))
	ctx := context.Background()
	cs := env.Client()
	for name, image := range map[string]string{"noisy": noisy, "quiet": "public.ecr.aws/docker/library/redis:7"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image}}}}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	node := env.Nodes("ng-a")[0].Name
	t0 := time.Now()
	eventually(t, 3*time.Minute, "the node reports DiskPressure and is tainted", func() (bool, string) {
		n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		pressure, tainted := false, false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeDiskPressure && c.Status == corev1.ConditionTrue {
				pressure = true
			}
		}
		for _, tn := range n.Spec.Taints {
			if tn.Key == "node.kubernetes.io/disk-pressure" {
				tainted = true
			}
		}
		return pressure && tainted, kubectl(t, env.AdminKubeconfig, "describe", "node", node)
	})
	t.Logf("DiskPressure and taint %s after the pods were created", time.Since(t0).Round(time.Second))
	// The kubelet's Evicted event names the resource and the container.
	// (The pod's status does not always say Evicted: the pod worker's own
	// final status, from the stopped container, can overwrite it. Not
	// asserted until that is fixed.)
	eventually(t, 2*time.Minute, "the noisy pod is evicted", func() (bool, string) {
		evs, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=noisy,reason=Evicted"})
		if err != nil {
			return false, err.Error()
		}
		for _, e := range evs.Items {
			if strings.Contains(e.Message, "The node was low on resource: ephemeral-storage.") && strings.Contains(e.Message, "Container app was using") {
				return true, e.Message
			}
		}
		return false, kubectl(t, env.AdminKubeconfig, "get", "pods,events", "-A")
	})
	if q, err := cs.CoreV1().Pods("default").Get(ctx, "quiet", metav1.GetOptions{}); err != nil || q.Status.Phase != corev1.PodRunning {
		t.Errorf("the quiet pod was evicted too: %v %v", q.Status.Phase, err)
	}
	if ev := kubectl(t, env.AdminKubeconfig, "get", "events", "-n", "default", "--field-selector", "reason=EvictionThresholdMet"); !strings.Contains(ev, "Attempting to reclaim ephemeral-storage") {
		t.Errorf("no EvictionThresholdMet event:\n%s", ev)
	}
}
