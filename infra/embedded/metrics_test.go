package embedded

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// loadDeployment is a Deployment of image, with a CPU request when
// request is set, and its Service.
func loadDeployment(name, image, request string) (*appsv1.Deployment, *corev1.Service) {
	labels := map[string]string{"app": name}
	c := corev1.Container{Name: name, Image: image, Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}
	if request != "" {
		c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(request)}
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}},
	}
	return dep, svc
}

// hpaFor scales a Deployment between 2 and 6 replicas at 70% CPU, and
// scales in at once (no stabilisation window) so the test need not wait
// five minutes.
func hpaFor(name string) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To[int32](2),
			MaxReplicas:    6,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)},
			}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0)}},
		},
	}
}

// topCPU is the CPU, in millicores, that kubectl top pods shows for each
// pod of app.
func topCPU(t *testing.T, kubeconfig, app string) (map[string]int64, string) {
	t.Helper()
	out, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "top", "pods", "-n", "default", "-l", "app="+app, "--no-headers").CombinedOutput()
	if err != nil {
		return nil, fmt.Sprintf("kubectl top pods: %v: %s", err, out)
	}
	got := map[string]int64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		m, err := strconv.ParseInt(strings.TrimSuffix(f[1], "m"), 10, 64)
		if err != nil {
			return nil, "unparsable line: " + line
		}
		got[f[0]] = m
	}
	return got, string(out)
}

func TestIntegrationMetricsAndHPA(t *testing.T) {
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/checkout:2.4.1"
	app := behaviour.App{Name: "checkout", Startup: behaviour.Startup{Port: 8080},
		Resources: behaviour.Resources{IdleCPU: 20, CPUPerLoad: 2, MaxCPU: 1000, Memory: 96 << 20}}
	timings := environment.DefaultTimings()
	timings.MetricsResolution = 12 * time.Second // not the default: the window must come from here
	env := startEnv(t, environment.Params{MetricsServer: true, NodeGroups: []eks.NodeGroup{testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 2)}, Behaviours: map[string]behaviour.App{image: app}, Timings: timings})
	ctx := context.Background()
	cs := env.Client()
	for _, x := range []struct{ name, request string }{{"checkout", "100m"}, {"norequests", ""}} {
		dep, svc := loadDeployment(x.name, image, x.request)
		if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	// Idle: each pod shows its app's idle CPU.
	eventually(t, 90*time.Second, "kubectl top pods shows two idle checkout pods", func() (bool, string) {
		cpu, out := topCPU(t, env.OperatorKubeconfig(), "checkout")
		if len(cpu) != 2 {
			api, _ := exec.Command("kubectl", "--kubeconfig", env.AdminKubeconfig, "get", "apiservice", "v1beta1.metrics.k8s.io", "-o", "jsonpath={.status.conditions}").CombinedOutput()
			return false, out + "\napiservice: " + string(api)
		}
		for _, m := range cpu {
			if m != 20 {
				return false, out
			}
		}
		return true, out
	})
	// Each figure covers the scenario's metrics resolution.
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"window":"12s"`) {
		t.Errorf("pod metrics do not cover the 12 s resolution:\n%s", raw)
	}
	nodes := kubectl(t, env.OperatorKubeconfig(), "top", "nodes", "--no-headers")
	if n := len(strings.Split(strings.TrimSpace(nodes), "\n")); n != 2 {
		t.Errorf("kubectl top nodes shows %d nodes, want 2:\n%s", n, nodes)
	}

	// Load: 300 requests a second over two pods is 20m + 150 × 2m each.
	setLoad(t, env, "checkout", "300")
	eventually(t, 30*time.Second, "kubectl top pods shows CPU rise with load", func() (bool, string) {
		cpu, out := topCPU(t, env.OperatorKubeconfig(), "checkout")
		for _, m := range cpu {
			if m != 320 {
				return false, out
			}
		}
		return len(cpu) == 2, out
	})

	// Load past what the app can use: it runs at its maxCPU and its log
	// says it times requests out.
	setLoad(t, env, "norequests", "4000")
	eventually(t, 30*time.Second, "an overloaded app logs timeouts", func() (bool, string) {
		out, err := exec.Command("kubectl", "--kubeconfig", env.OperatorKubeconfig(), "logs", "deployment/norequests", "-n", "default").CombinedOutput()
		return err == nil && strings.Contains(string(out), behaviour.DefaultOverloadLog), string(out)
	})
	eventually(t, 30*time.Second, "kubectl top shows the overloaded pods at their maxCPU", func() (bool, string) {
		cpu, out := topCPU(t, env.OperatorKubeconfig(), "norequests")
		for _, m := range cpu {
			if m != 1000 {
				return false, out
			}
		}
		return len(cpu) == 2, out
	})

	// The HPA scales out under the load: 320m of a 100m request is 320%.
	for _, name := range []string{"checkout", "norequests"} {
		if _, err := cs.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, hpaFor(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	eventually(t, 90*time.Second, "the HPA scales checkout out", func() (bool, string) {
		h, err := cs.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, "checkout", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return h.Status.CurrentReplicas > 2, fmt.Sprintf("current %d desired %d %v", h.Status.CurrentReplicas, h.Status.DesiredReplicas, h.Status.Conditions)
	})
	t.Logf("scaled out %s after the HPA was created", time.Since(t0).Round(100*time.Millisecond))

	// Without CPU requests the HPA cannot compute a utilisation.
	eventually(t, 60*time.Second, "the HPA of a Deployment without requests reports them missing", func() (bool, string) {
		return hpaCondition(ctx, t, env, "norequests", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "missing request for cpu")
	})

	// Load gone: back in to the minimum.
	setLoad(t, env, "checkout", "0")
	eventually(t, 120*time.Second, "the HPA scales checkout back in", func() (bool, string) {
		d, err := cs.AppsV1().Deployments("default").Get(ctx, "checkout", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return *d.Spec.Replicas == 2, fmt.Sprintf("replicas %d", *d.Spec.Replicas)
	})

	// The add-on down: kubectl top and the HPA both lose their metrics.
	if _, err := cs.AppsV1().Deployments(metricsNamespace).Patch(ctx, metricsName, types.MergePatchType, []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// With no ready endpoint behind the Service, the aggregator answers for
	// it, as on EKS when the add-on's pod is gone.
	top := func(want string) func() (bool, string) {
		return func() (bool, string) {
			out, err := exec.Command("kubectl", "--kubeconfig", env.OperatorKubeconfig(), "top", "pods", "-n", "default").CombinedOutput()
			return err != nil && strings.Contains(string(out), want), string(out)
		}
	}
	eventually(t, 60*time.Second, "kubectl top says the metrics API is unavailable",
		top("Error from server (ServiceUnavailable): the server is currently unable to handle the request (get pods.metrics.k8s.io)"))
	eventually(t, 60*time.Second, "the HPA reports FailedGetResourceMetric", func() (bool, string) {
		return hpaCondition(ctx, t, env, "checkout", autoscalingv2.ScalingActive, "FailedGetResourceMetric", "unable to get metrics")
	})
	// With the APIService gone too, kubectl finds no metrics API at all.
	kubectl(t, env.AdminKubeconfig, "delete", "apiservice", metricsVersion+"."+metricsGroup)
	eventually(t, 30*time.Second, "kubectl top says the Metrics API is not available", top("error: Metrics API not available"))
}

// setLoad sets a Service's load annotation, as the setLoad step does.
func setLoad(t *testing.T, env *Env, service, rps string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, behaviour.LoadAnnotation, rps)
	if _, err := env.Client().CoreV1().Services("default").Patch(context.Background(), service, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// hpaCondition says whether an HPA has a condition of type typ with the
// reason and a message containing msg.
func hpaCondition(ctx context.Context, t *testing.T, env *Env, name string, typ autoscalingv2.HorizontalPodAutoscalerConditionType, reason, msg string) (bool, string) {
	t.Helper()
	h, err := env.Client().AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, err.Error()
	}
	for _, c := range h.Status.Conditions {
		if c.Type == typ && c.Reason == reason && strings.Contains(c.Message, msg) {
			return true, c.Message
		}
	}
	return false, fmt.Sprintf("%+v", h.Status.Conditions)
}
