package embedded

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/domain/eks"
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
	// It takes 5 s to flush on SIGTERM, longer than an eviction's grace
	// period: it is killed, and its pod stays Failed and Evicted.
	app := behaviour.App{Name: "debug-logger", Resources: behaviour.Resources{DiskPerMinute: 16 << 30},
		Shutdown: behaviour.Shutdown{Drain: 5 * time.Second}}
	env := startEnv(t, environment.Params{NodeGroups: []eks.NodeGroup{testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 1)}, Behaviours: map[string]behaviour.App{noisy: app}})
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
	// kubectl get pods shows it Evicted: Failed, with the reason kept,
	// because its container was killed (137).
	eventually(t, time.Minute, "the noisy pod is Failed and Evicted", func() (bool, string) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, "noisy", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted", fmt.Sprintf("%s %s %s", p.Status.Phase, p.Status.Reason, p.Status.Message)
	})
	if q, err := cs.CoreV1().Pods("default").Get(ctx, "quiet", metav1.GetOptions{}); err != nil || q.Status.Phase != corev1.PodRunning {
		t.Errorf("the quiet pod was evicted too: %v %v", q.Status.Phase, err)
	}
	if ev := kubectl(t, env.AdminKubeconfig, "get", "events", "-n", "default", "--field-selector", "reason=EvictionThresholdMet"); !strings.Contains(ev, "Attempting to reclaim ephemeral-storage") {
		t.Errorf("no EvictionThresholdMet event:\n%s", ev)
	}
}

// TestIntegrationLocalStorageLimits writes through containers' models
// into an emptyDir with a sizeLimit, into an emptyDir of a pod with an
// ephemeral-storage limit, and into the writable layer of a container
// with one (beside a quiet container with a larger limit, so that the
// container goes over its own limit before the pod goes over the sum):
// the kubelet measures each (the emptyDir through its volume stats) and
// evicts each pod with its own message, long before the node fills.
func TestIntegrationLocalStorageLimits(t *testing.T) {
	const writer = "123456789012.dkr.ecr.us-east-1.amazonaws.com/tools/writer:1.0"
	const logs = "/var/log/writer"
	// 3 GiB a minute goes over 512 MiB in about 10 s; the node would
	// fill only after four minutes. The pod named "layer" writes to its
	// writable layer; the others into the emptyDir.
	writerApp := behaviour.App{Name: "writer",
		Resources: behaviour.Resources{DiskPerMinute: 3 << 30, DiskPath: logs},
		When: []behaviour.Variant{
			{Env: "WRITE_TO", Is: []string{"layer"}, Resources: behaviour.Resources{DiskPath: "/data"}},
			{Env: "WRITE_TO", Is: []string{"quiet"}, Resources: behaviour.Resources{DiskPerMinute: 1}},
		}}
	env := startEnv(t, environment.Params{NodeGroups: []eks.NodeGroup{testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 1)}, Behaviours: map[string]behaviour.App{writer: writerApp}})
	ctx := context.Background()
	cs := env.Client()
	limit := resource.MustParse("512Mi")
	pods := map[string]struct {
		sizeLimit, containerLimit bool
		want                      string
	}{
		"sized":   {sizeLimit: true, want: `Usage of EmptyDir volume "logs" exceeds the limit "512Mi". `},
		"limited": {containerLimit: true, want: "Pod ephemeral local storage usage exceeds the total limit of containers 512Mi. "},
		"layer":   {containerLimit: true, want: `Container app exceeded its local ephemeral storage limit "512Mi". `},
	}
	for name, p := range pods {
		vol := corev1.Volume{Name: "logs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
		if p.sizeLimit {
			vol.EmptyDir.SizeLimit = &limit
		}
		c := corev1.Container{Name: "app", Image: writer, VolumeMounts: []corev1.VolumeMount{{Name: "logs", MountPath: logs}},
			Env: []corev1.EnvVar{{Name: "WRITE_TO", Value: name}}}
		if p.containerLimit {
			c.Resources.Limits = corev1.ResourceList{corev1.ResourceEphemeralStorage: limit}
		}
		containers := []corev1.Container{c}
		if name == "layer" {
			containers = append(containers, corev1.Container{Name: "quiet", Image: writer, Env: []corev1.EnvVar{{Name: "WRITE_TO", Value: "quiet"}},
				Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: resource.MustParse("4Gi")}}})
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{Containers: containers, Volumes: []corev1.Volume{vol}, RestartPolicy: corev1.RestartPolicyNever}}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	for name, p := range pods {
		eventually(t, 2*time.Minute, name+" is evicted for its own limit", func() (bool, string) {
			evs, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name + ",reason=Evicted"})
			if err != nil {
				return false, err.Error()
			}
			for _, e := range evs.Items {
				if e.Message == p.want {
					return true, e.Message
				}
			}
			return false, kubectl(t, env.AdminKubeconfig, "get", "pods,events", "-n", "default")
		})
		t.Logf("%s: evicted %s after the pods were created", name, time.Since(t0).Round(time.Second))
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, env.Nodes("ng-a")[0].Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The root volume is the node's ephemeral storage; the EKS AMI keeps
	// 1 GiB and the 10% eviction threshold of it.
	if c, a := n.Status.Capacity[corev1.ResourceEphemeralStorage], n.Status.Allocatable[corev1.ResourceEphemeralStorage]; c.String() != "20Gi" || a.String() != "17Gi" {
		t.Errorf("ephemeral-storage capacity %s, allocatable %s; want 20Gi and 17Gi", c.String(), a.String())
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeDiskPressure && c.Status != corev1.ConditionFalse {
			t.Errorf("the node came under DiskPressure: %s", c.Message)
		}
	}
}
