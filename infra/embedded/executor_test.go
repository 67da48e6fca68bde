package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/loopback"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

func TestHostPath(t *testing.T) {
	mounts := []*runtimeapi.Mount{
		{ContainerPath: "/etc/app", HostPath: "/var/lib/kubelet/pods/u/volumes/kubernetes.io~configmap/config"},
		{ContainerPath: "/etc/app/tls/", HostPath: "/var/lib/kubelet/pods/u/volumes/kubernetes.io~secret/tls"},
		{ContainerPath: "/etc/hosts", HostPath: "/var/lib/kubelet/pods/u/etc-hosts"},
	}
	tests := []struct {
		name, path, want string
		ok               bool
	}{
		{"a file in a volume", "/etc/app/TIMEOUT_MS", "/var/lib/kubelet/pods/u/volumes/kubernetes.io~configmap/config/TIMEOUT_MS", true},
		{"the deepest mount wins", "/etc/app/tls/tls.key", "/var/lib/kubelet/pods/u/volumes/kubernetes.io~secret/tls/tls.key", true},
		{"a file mounted alone", "/etc/hosts", "/var/lib/kubelet/pods/u/etc-hosts", true},
		{"a prefix that is no directory", "/etc/application", "", false},
		{"not mounted", "/opt/x", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := hostPath(mounts, tt.path)
			if got != tt.want || ok != tt.ok {
				t.Errorf("hostPath(%s) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestIntegrationBehaviourCrashLoop runs an app whose ConfigMap value
// fails its check: the executor writes its error line and exits it, the
// real kubelet restarts it into CrashLoopBackOff, kubectl logs --previous
// shows the line, and a fixed value with a rollout restart brings it back.
func TestIntegrationBehaviourCrashLoop(t *testing.T) {
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/checkout:2.0.0"
	app := behaviour.App{Name: "checkout", Startup: behaviour.Startup{Port: 8080, Readiness: "/ready", Liveness: "/healthz"}, Config: []behaviour.Input{{
		File: "/etc/checkout/TIMEOUT_MS", Required: true, Integer: true,
		OnInvalid: behaviour.Failure{Log: []string{"FATAL config: {name}={value} is not a number of milliseconds"}, ExitCode: 2, After: 500 * time.Millisecond},
	}}}
	env := startEnv(t, environment.Params{NodeGroups: []eks.NodeGroup{testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 1)}, Behaviours: map[string]behaviour.App{image: app}})
	ctx := context.Background()
	cs := env.Client()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "default"}, Data: map[string]string{"TIMEOUT_MS": "3s"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "checkout"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "checkout", Image: image,
						VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/checkout"}}}},
					Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
						ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "checkout"}}}}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var podName string
	eventually(t, 90*time.Second, "the pod in CrashLoopBackOff after a restart", func() (bool, string) {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=checkout"})
		if err != nil || len(pods.Items) != 1 || len(pods.Items[0].Status.ContainerStatuses) != 1 {
			return false, fmt.Sprintf("%v", err)
		}
		p := pods.Items[0]
		podName = p.Name
		st := p.Status.ContainerStatuses[0]
		last := st.LastTerminationState.Terminated
		w := st.State.Waiting
		return st.RestartCount >= 1 && w != nil && w.Reason == "CrashLoopBackOff" && last != nil && last.ExitCode == 2,
			fmt.Sprintf("restarts %d, state %+v, last %+v", st.RestartCount, st.State, st.LastTerminationState)
	})
	out := kubectl(t, env.OperatorKubeconfig(), "logs", "--previous", "-n", "default", podName)
	if !strings.Contains(out, "FATAL config: /etc/checkout/TIMEOUT_MS=3s is not a number of milliseconds") {
		t.Errorf("kubectl logs --previous lacks the app's error line:\n%s", out)
	}
	out = kubectl(t, env.OperatorKubeconfig(), "describe", "pod", "-n", "default", podName)
	if !strings.Contains(out, "Back-off restarting failed container checkout in pod") {
		t.Errorf("kubectl describe lacks the BackOff event:\n%s", out)
	}

	// The fix: the value in milliseconds, then a rollout restart (a
	// ConfigMap edit restarts nothing by itself).
	cm.Data["TIMEOUT_MS"] = "3000"
	if _, err := cs.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubectl(t, env.OperatorKubeconfig(), "rollout", "restart", "-n", "default", "deployment/checkout")
	var fixed string
	eventually(t, 90*time.Second, "a new pod Running without restarts", func() (bool, string) {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=checkout"})
		if err != nil {
			return false, err.Error()
		}
		var states []string
		for _, p := range pods.Items {
			if p.Name == podName || p.DeletionTimestamp != nil || len(p.Status.ContainerStatuses) != 1 {
				continue
			}
			st := p.Status.ContainerStatuses[0]
			states = append(states, fmt.Sprintf("%s: restarts %d %+v", p.Name, st.RestartCount, st.State))
			if st.State.Running != nil && st.RestartCount == 0 && time.Since(st.State.Running.StartedAt.Time) > 2*time.Second {
				fixed = p.Name
				return true, ""
			}
		}
		return false, strings.Join(states, "; ")
	})

	t.Run("kubectl exec runs against the model", func(t *testing.T) {
		if out := kubectl(t, env.OperatorKubeconfig(), "exec", "-n", "default", fixed, "--", "cat", "/etc/checkout/TIMEOUT_MS"); out != "3000" {
			t.Errorf("cat of the mounted ConfigMap key: %q, want 3000", out)
		}
		if out := kubectl(t, env.OperatorKubeconfig(), "exec", "-n", "default", fixed, "--", "ls", "/etc/checkout"); out != "TIMEOUT_MS\n" {
			t.Errorf("ls of the ConfigMap volume: %q", out)
		}
		if out := kubectl(t, env.OperatorKubeconfig(), "exec", "-n", "default", fixed, "--", "wget", "-qO-", "http://localhost:8080/ready"); out != "OK\n" {
			t.Errorf("wget of its own readiness endpoint: %q", out)
		}
		cmd := exec.Command("kubectl", "--kubeconfig", env.OperatorKubeconfig(), "exec", "-n", "default", fixed, "--", "sh", "-c", "id")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 127 || !strings.Contains(string(out), "executable file not found") {
			t.Errorf("sh in a minimal image: %v\n%s\nwant exit 127 and not found", err, out)
		}
	})

	t.Run("kubectl port-forward reaches the model's endpoints", func(t *testing.T) {
		port, err := loopback.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		pf := exec.Command("kubectl", "--kubeconfig", env.OperatorKubeconfig(), "port-forward", "-n", "default", "pod/"+fixed, fmt.Sprintf("%d:8080", port))
		var pfOut strings.Builder
		pf.Stdout, pf.Stderr = &pfOut, &pfOut
		if err := pf.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = pf.Process.Kill(); _ = pf.Wait() }()
		hc := &http.Client{Timeout: 5 * time.Second}
		eventually(t, 30*time.Second, "the readiness endpoint through port-forward", func() (bool, string) {
			resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", port))
			if err != nil {
				return false, err.Error() + "; kubectl: " + pfOut.String()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode == http.StatusOK && string(b) == "OK\n", fmt.Sprintf("%d %q", resp.StatusCode, b)
		})
	})
}

// TestIntegrationReadinessFollowsTheModel runs an app that warms up for
// 4 s under two readiness probes: an httpGet on its readiness endpoint,
// which the kubelet marks ready only once the app is warm, and a
// tcpSocket on its port, which passes at once (the app listens from its
// start), as such a probe does in real life. It logs how late readiness
// follows the warm-up.
func TestIntegrationReadinessFollowsTheModel(t *testing.T) {
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/storefront:3.2.0"
	const warmUp = 4 * time.Second
	app := behaviour.App{Name: "storefront", Startup: behaviour.Startup{WarmUp: warmUp, Port: 8080, Readiness: "/ready", Liveness: "/healthz"}}
	env := startEnv(t, environment.Params{NodeGroups: []eks.NodeGroup{testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 1)}, Behaviours: map[string]behaviour.App{image: app}})
	ctx := context.Background()
	cs := env.Client()
	probes := map[string]*corev1.Probe{
		"http-ready": {ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}, PeriodSeconds: 1},
		"tcp":        {ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
		"wrong-port": {ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(9090)}}, PeriodSeconds: 1},
	}
	for name, probe := range probes {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "storefront", Image: image, ReadinessProbe: probe,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	type seen struct{ started, ready time.Time }
	got := map[string]*seen{}
	eventually(t, 60*time.Second, "http-ready and tcp ready", func() (bool, string) {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		var states []string
		for _, p := range pods.Items {
			if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].State.Running == nil {
				states = append(states, p.Name+": not running")
				continue
			}
			st := p.Status.ContainerStatuses[0]
			if got[p.Name] == nil {
				got[p.Name] = &seen{started: st.State.Running.StartedAt.Time}
			}
			if st.Ready && got[p.Name].ready.IsZero() {
				got[p.Name].ready = time.Now()
			}
			states = append(states, fmt.Sprintf("%s: ready %v", p.Name, st.Ready))
		}
		done := got["http-ready"] != nil && !got["http-ready"].ready.IsZero() && got["tcp"] != nil && !got["tcp"].ready.IsZero()
		return done, strings.Join(states, "; ")
	})
	// startedAt has whole seconds: allow one.
	if d := got["http-ready"].ready.Sub(got["http-ready"].started); d < warmUp-time.Second {
		t.Errorf("the httpGet /ready probe passed %s after start, before the %s warm-up", d, warmUp)
	} else {
		t.Logf("httpGet /ready: ready %s after start (warm-up %s)", d.Round(100*time.Millisecond), warmUp)
	}
	if d := got["tcp"].ready.Sub(got["tcp"].started); d >= warmUp {
		t.Errorf("the tcpSocket probe passed %s after start: it should pass before the warm-up ends", d)
	} else {
		t.Logf("tcpSocket: ready %s after start, before the warm-up ends", d.Round(100*time.Millisecond))
	}
	// The kubelet's prober says why, in its own words.
	eventually(t, 30*time.Second, "the wrong port's probe fails with the kubelet's event", func() (bool, string) {
		ev := kubectl(t, env.AdminKubeconfig, "get", "events", "-n", "default", "--field-selector", "involvedObject.name=wrong-port,reason=Unhealthy")
		return strings.Contains(ev, `Readiness probe failed: Get "http://10.0.1.`) && strings.Contains(ev, `:9090/ready": dial tcp 10.0.1.`) &&
			strings.Contains(ev, ":9090: connect: connection refused"), ev
	})
	if g := got["wrong-port"]; g != nil && !g.ready.IsZero() {
		t.Error("a probe on a port the app does not serve passed")
	}
}
