package embedded

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/scenarios"
)

// TestIntegrationNodeFaults stops one node's kubelet, the other node's
// container runtime and fills its disk, then repairs both:
//   - the stopped kubelet's node goes Unknown with the controller's
//     message, is tainted unreachable, its pod is evicted when its
//     toleration runs out, and its logs cannot be read;
//   - the stopped runtime's node is NotReady, "container runtime is down";
//   - the filled node reports DiskPressure;
//   - started again and freed, both are Ready without pressure.
func TestIntegrationNodeFaults(t *testing.T) {
	// Three nodes: with every node of a zone down, the node lifecycle
	// controller takes it for a partition and evicts nothing.
	env := startEnv(t, environment.Params{NodeGroups: []eks.NodeGroup{testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 3)}})
	ctx := context.Background()
	cs := env.Client()
	nodes := env.Nodes("ng-a")
	lost, broken := nodes[0].Name, nodes[1].Name
	toleration := int64(5)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stranded", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: lost, Containers: []corev1.Container{{Name: "app", Image: "public.ecr.aws/docker/library/redis:7"}},
			Tolerations: []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists,
				Effect: corev1.TaintEffectNoExecute, TolerationSeconds: &toleration}}}}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Minute, "the pod runs", func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "stranded", metav1.GetOptions{})
		return err == nil && p.Status.Phase == corev1.PodRunning, fmt.Sprint(err)
	})
	t0 := time.Now()
	for _, f := range []func() error{
		func() error { return env.StopNode(ctx, lost, scenarios.NodeKubelet) },
		func() error { return env.StopNode(ctx, broken, scenarios.NodeRuntime) },
		func() error { return env.FillNodeDisk(ctx, broken, 14<<30) },
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := kubectlErr(env.AdminKubeconfig, "logs", "stranded"); err == nil || !strings.Contains(out, "connect: connection refused") {
		t.Errorf("kubectl logs of a pod on a node whose kubelet is stopped: %v\n%s", err, out)
	} else {
		t.Logf("kubectl logs: %s", strings.TrimSpace(out))
	}
	condition := func(name string, typ corev1.NodeConditionType) (corev1.NodeCondition, []corev1.Taint) {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return corev1.NodeCondition{Message: err.Error()}, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == typ {
				return c, n.Spec.Taints
			}
		}
		return corev1.NodeCondition{}, n.Spec.Taints
	}
	eventually(t, 2*time.Minute, "the stopped kubelet's node is Unknown and tainted unreachable", func() (bool, string) {
		c, taints := condition(lost, corev1.NodeReady)
		tainted := false
		for _, tn := range taints {
			tainted = tainted || (tn.Key == corev1.TaintNodeUnreachable && tn.Effect == corev1.TaintEffectNoExecute)
		}
		return c.Status == corev1.ConditionUnknown && c.Reason == "NodeStatusUnknown" && c.Message == "Kubelet stopped posting node status." && tainted,
			fmt.Sprintf("%+v %v", c, taints)
	})
	t.Logf("kubelet stopped: Unknown and tainted %s later", time.Since(t0).Round(time.Second))
	eventually(t, time.Minute, "its pod is evicted when its toleration runs out", func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "stranded", metav1.GetOptions{})
		return err != nil || p.DeletionTimestamp != nil, fmt.Sprint(err)
	})
	eventually(t, 2*time.Minute, "the stopped runtime's node is NotReady, runtime down, and under DiskPressure", func() (bool, string) {
		c, _ := condition(broken, corev1.NodeReady)
		d, _ := condition(broken, corev1.NodeDiskPressure)
		return c.Status == corev1.ConditionFalse && strings.Contains(c.Message, "container runtime is down") && d.Status == corev1.ConditionTrue,
			fmt.Sprintf("%+v; %+v", c, d)
	})
	t.Logf("runtime stopped: NotReady %s later", time.Since(t0).Round(time.Second))
	t1 := time.Now()
	for _, f := range []func() error{
		func() error { return env.StartNode(ctx, lost, scenarios.NodeKubelet) },
		func() error { return env.StartNode(ctx, broken, scenarios.NodeRuntime) },
		func() error { return env.FillNodeDisk(ctx, broken, 0) },
	} {
		if err := f(); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 2*time.Minute, "both nodes are Ready again, without DiskPressure", func() (bool, string) {
		a, _ := condition(lost, corev1.NodeReady)
		b, _ := condition(broken, corev1.NodeReady)
		d, _ := condition(broken, corev1.NodeDiskPressure)
		return a.Status == corev1.ConditionTrue && b.Status == corev1.ConditionTrue && d.Status == corev1.ConditionFalse,
			fmt.Sprintf("%+v; %+v; %+v", a, b, d)
	})
	t.Logf("started again: Ready and no pressure %s later", time.Since(t1).Round(time.Second))
}
