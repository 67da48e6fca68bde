package embedded

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// TestIntegrationLivenessAndStartupProbes runs the kubelet's own prober
// against an app that takes 8 s to warm up, and whose liveness endpoint
// says 503 until then:
//   - a liveness probe that gives up after 3 s kills it again and again,
//     with the kubelet's events, into CrashLoopBackOff;
//   - a startup probe that waits up to 30 s protects it: it starts, then
//     stays up;
//   - a startup probe that gives up after 3 s kills it too.
func TestIntegrationLivenessAndStartupProbes(t *testing.T) {
	const image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/search:2.0.0"
	app := behaviour.App{Name: "search", Startup: behaviour.Startup{WarmUp: 8 * time.Second, Port: 8080, Readiness: "/ready", Liveness: "/healthz"}}
	env := startEnv(t, environment.Params{NodeGroups: []eks.NodeGroup{testGroup("ng-a", "us-east-1a", "10.0.1.0/24", 1)}, Behaviours: map[string]behaviour.App{image: app}})
	ctx := context.Background()
	cs := env.Client()
	healthz := func(threshold int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
			PeriodSeconds: 1, FailureThreshold: threshold}
	}
	pods := map[string]struct{ liveness, startup *corev1.Probe }{
		"impatient": {liveness: healthz(3)},
		"protected": {liveness: healthz(3), startup: healthz(30)},
		"too-short": {liveness: healthz(3), startup: healthz(3)},
	}
	for name, p := range pods {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
			Spec: corev1.PodSpec{TerminationGracePeriodSeconds: new(int64), Containers: []corev1.Container{{Name: "search", Image: image,
				LivenessProbe: p.liveness, StartupProbe: p.startup,
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		}
		if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	restarts := func(name string) (int32, *corev1.ContainerStatus) {
		p, err := cs.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil || len(p.Status.ContainerStatuses) == 0 {
			return 0, nil
		}
		return p.Status.ContainerStatuses[0].RestartCount, &p.Status.ContainerStatuses[0]
	}
	events := func(name string) string {
		return kubectl(t, env.AdminKubeconfig, "get", "events", "-n", "default", "--field-selector", "involvedObject.name="+name)
	}
	for _, tc := range []struct{ pod, probe string }{{"impatient", "liveness"}, {"too-short", "startup"}} {
		eventually(t, 2*time.Minute, tc.pod+" is killed by its "+tc.probe+" probe, over and over", func() (bool, string) {
			n, _ := restarts(tc.pod)
			ev := events(tc.pod)
			probe := strings.ToUpper(tc.probe[:1]) + tc.probe[1:]
			return n >= 2 && strings.Contains(ev, probe+" probe failed: HTTP probe failed with statuscode: 503") &&
				strings.Contains(ev, "Container search failed "+tc.probe+" probe, will be restarted"), fmt.Sprintf("%d restarts\n%s", n, ev)
		})
	}
	eventually(t, time.Minute, "impatient backs off", func() (bool, string) {
		n, st := restarts("impatient")
		return st != nil && st.State.Waiting != nil && st.State.Waiting.Reason == "CrashLoopBackOff", fmt.Sprintf("%d restarts: %+v", n, st)
	})
	// The startup probe passes once the 8 s warm-up is over, on a probe
	// that can come a period later on a loaded machine.
	eventually(t, time.Minute, "protected has started", func() (bool, string) {
		n, st := restarts("protected")
		return st != nil && st.Started != nil && *st.Started, fmt.Sprintf("%d restarts: %+v", n, st)
	})
	n, st := restarts("protected")
	if n != 0 || st.State.Running == nil {
		t.Errorf("the startup probe did not protect the slow start: %d restarts, %+v\n%s", n, st, events("protected"))
	}
}
