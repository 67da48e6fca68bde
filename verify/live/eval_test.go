package live

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/domain/iampolicy"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// fakeCloud is an AWS account with fixed roles and node groups.
type fakeCloud struct {
	attached map[string][]string
	docs     map[string][]iampolicy.Named
	groups   map[string]int
	calls    int
}

func (c *fakeCloud) RolePolicies(_ context.Context, role string) ([]string, []iampolicy.Named, error) {
	c.calls++
	if _, ok := c.attached[role]; !ok {
		return nil, nil, errors.New("NoSuchEntity")
	}
	return c.attached[role], c.docs[role], nil
}

func (c *fakeCloud) NodegroupSize(_ context.Context, name string) (int, bool, error) {
	c.calls++
	n, ok := c.groups[name]
	return n, ok, nil
}

func ptr[T any](v T) *T { return &v }

func leaf(kind string, k scenarios.ConditionKind) scenarios.Condition {
	return scenarios.Condition{Kind: kind, Leaf: k}
}

// cluster is what the fake clientset starts with.
func cluster() []runtime.Object {
	node := func(name, group string, ready, unschedulable bool, extra ...corev1.NodeCondition) *corev1.Node {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{eks.NodeGroupLabel: group}},
			Spec:       corev1.NodeSpec{Unschedulable: unschedulable},
			Status:     corev1.NodeStatus{Conditions: append([]corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}, extra...)},
		}
	}
	pod := func(name, node, reason string, ready bool, restarts int32) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prod", Labels: map[string]string{"app": "checkout"}},
			Spec:       corev1.PodSpec{NodeName: node},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning},
		}
		cs := corev1.ContainerStatus{Name: "app", RestartCount: restarts}
		if reason != "" {
			p.Status.Phase = corev1.PodPending
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason}
		}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{cs}
		rs := corev1.ConditionFalse
		if ready {
			rs = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: rs}}
		return p
	}
	crashed := pod("checkout-new-2", "ip-10-0-2-11", "ErrImagePull", false, 3)
	crashed.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}
	evicted := pod("checkout-old-0", "ip-10-0-2-10", "", false, 0)
	evicted.Status.Phase, evicted.Status.Reason = corev1.PodFailed, "Evicted"
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "prod", Generation: 2},
		Spec: appsv1.DeploymentSpec{Replicas: ptr(int32(3)), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/checkout:1.9.0"}}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse}}},
	}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "checkout-x", Namespace: "prod", Labels: map[string]string{discoveryv1.LabelServiceName: "checkout"}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.1.5"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(true)}},
			{Addresses: []string{"10.0.2.7"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr(false)}},
		},
	}
	event := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: "prod"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "checkout-new-1"},
		Type:           "Warning", Reason: "Failed", Count: 4,
		Message: `Failed to pull image "x": pull access denied, repository does not exist or may require authorization`,
	}
	return []runtime.Object{
		node("ip-10-0-1-10", "ng-general-v1", true, true),
		node("ip-10-0-2-10", "ng-general-v2", true, false, corev1.NodeCondition{Type: "DiskPressure", Status: corev1.ConditionTrue}),
		node("ip-10-0-2-11", "ng-general-v2", false, false),
		pod("checkout-old-1", "ip-10-0-1-10", "", true, 0),
		pod("checkout-new-1", "ip-10-0-2-10", "ImagePullBackOff", false, 0),
		crashed, evicted, dep, slice, event,
	}
}

// newTestEvaluator is an evaluator over fake clients, started, with the
// seed scenario's answer key.
func newTestEvaluator(t *testing.T, cloud Cloud) (*Evaluator, *fake.Clientset) {
	t.Helper()
	s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	cs := fake.NewClientset(cluster()...)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "checkout-config", Namespace: "prod"}, Data: map[string]string{"TIMEOUT_MS": "3s"}}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cm)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructuredObject{Object: u}
	obj.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
	hpa := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "checkout", Namespace: "prod"},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, DesiredReplicas: 3, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
			{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetResourceMetric", Message: "missing request for cpu in container checkout"},
		}}}
	hu, err := runtime.DefaultUnstructuredConverter.ToUnstructured(hpa)
	if err != nil {
		t.Fatal(err)
	}
	hobj := &unstructuredObject{Object: hu}
	hobj.SetGroupVersionKind(schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"})
	sch := runtime.NewScheme()
	_ = corev1.AddToScheme(sch)
	_ = autoscalingv2.AddToScheme(sch)
	dyn := dynfake.NewSimpleDynamicClient(sch, obj, hobj)
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, meta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "autoscaling", Version: "v2", Kind: "HorizontalPodAutoscaler"}, meta.RESTScopeNamespace)
	now := time.Now()
	achieved := map[string]time.Time{
		"fix":   now.Add(-time.Minute),
		"soon":  now.Add(scenarios.RestartGrace / 2), // seen just after a restart made now
		"later": now.Add(10 * scenarios.RestartGrace),
	}
	e := NewEvaluator(s, cs, dyn, mapper, cloud, func(id string) (time.Time, bool) { at, ok := achieved[id]; return at, ok })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); e.Shutdown() })
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return e, cs
}

func TestConditionKinds(t *testing.T) {
	ecrRead := iampolicy.Named{Name: "AmazonEC2ContainerRegistryReadOnly"}
	doc, err := iampolicy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:GetAuthorizationToken"],"Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	ecrRead.Document = doc
	noECR, err := iampolicy.Parse(`{"Statement":[{"Effect":"Allow","Action":["ec2:*","eks:*"],"Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	boundary := iampolicy.Named{Name: "arn:aws:iam::123456789012:policy/eks-node-boundary", Document: noECR, Boundary: true}
	cloud := &fakeCloud{
		attached: map[string][]string{
			"eks-node-general-v1": {"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"},
			"eks-node-general-v2": {"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"},
			"eks-node-bounded":    {"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"},
		},
		docs:   map[string][]iampolicy.Named{"eks-node-general-v1": {ecrRead}, "eks-node-bounded": {ecrRead, boundary}},
		groups: map[string]int{"ng-general-v1": 2, "ng-general-v2": 2},
	}
	e, _ := newTestEvaluator(t, cloud)
	e.AddFinding(verify.Finding{Cause: "image-tag-missing", Resource: "shop/checkout", Source: scenarios.SourceOperator})
	e.AddFinding(verify.Finding{Cause: "node-role-missing-ecr-read", Resource: "arn:aws:iam::123456789012:role/eks-node-general-v2", Source: scenarios.SourceOperator})

	tests := []struct {
		name string
		c    scenarios.Condition
		want bool
		obs  string // a substring of what was observed
	}{
		{"pods by waiting reason", leaf("pods", &scenarios.PodsCondition{Namespace: "prod", WaitingReason: "ErrImagePull|ImagePullBackOff", Count: scenarios.Count{AtLeast: ptr(2)}}), true, "2 of 4 pods"},
		{"pods by one reason", leaf("pods", &scenarios.PodsCondition{Namespace: "prod", WaitingReason: "ImagePullBackOff", Count: scenarios.Count{AtLeast: ptr(2)}}), false, "1 of 4 pods"},
		{"pods on a node group", leaf("pods", &scenarios.PodsCondition{Namespace: "prod", NodeGroup: "ng-general-v1", Ready: ptr(true)}), true, "1 of 4"},
		{"pods restarted", leaf("pods", &scenarios.PodsCondition{Namespace: "prod", RestartsAtLeast: ptr(3)}), true, "1 of 4"},
		{"pods last killed for memory", leaf("pods", &scenarios.PodsCondition{Namespace: "prod", LastTerminationReason: "Error|OOMKilled", RestartsAtLeast: ptr(3)}), true, "1 of 4"},
		{"no pod last ended in error", leaf("pods", &scenarios.PodsCondition{Namespace: "prod", LastTerminationReason: "Error"}), false, "0 of 4"},
		{"pods evicted", leaf("pods", &scenarios.PodsCondition{Namespace: "prod", Reason: "Evicted", Phase: "Failed"}), true, "1 of 4"},
		{"no pod evicted and running", leaf("pods", &scenarios.PodsCondition{Namespace: "prod", Reason: "Evicted", Phase: "Running"}), false, "0 of 4"},
		{"pods in another namespace", leaf("pods", &scenarios.PodsCondition{Namespace: "dev"}), false, "0 of 0"},
		{"deployment unavailable", leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", Available: ptr(false)}), true, "1/3 available"},
		{"deployment available", leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", Available: ptr(true)}), false, "1/3 available"},
		{"deployment not rolled out", leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", RolledOut: ptr(true)}), false, "rolled out false"},
		{"deployment image from ECR", leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", ImageMatches: "^${ECR_REGISTRY}/"}), true, ""},
		{"deployment image elsewhere", leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", ImageMatches: "^docker.io/"}), false, "image 123456789012"},
		{"deployment missing", leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "cart", Exists: ptr(false)}), true, "exists: false"},
		{"deployment not restarted", leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", Restarted: ptr(true)}), false, "restarted since handover: false"},
		{"endpoints ready", leaf("endpoints", &scenarios.EndpointsCondition{Namespace: "prod", Service: "checkout", Ready: scenarios.Count{AtLeast: ptr(2)}}), false, "1 ready endpoints"},
		{"service answers: no pod behind its ready endpoint", leaf("serviceAnswers", &scenarios.ServiceAnswersCondition{Namespace: "prod", Service: "checkout"}), false, "no ready endpoints"},
		{"hpa without requests", leaf("hpa", &scenarios.HPACondition{Namespace: "prod", Name: "checkout", ScalingActive: ptr(false), Message: "missing request for cpu"}), true, "3 current"},
		{"hpa not scaled out", leaf("hpa", &scenarios.HPACondition{Namespace: "prod", Name: "checkout", CurrentAtLeast: ptr(int32(5))}), false, "FailedGetResourceMetric"},
		{"hpa missing", leaf("hpa", &scenarios.HPACondition{Namespace: "prod", Name: "cart", Exists: ptr(false)}), true, "exists: false"},
		{"endpoints at most", leaf("endpoints", &scenarios.EndpointsCondition{Namespace: "prod", Service: "checkout", Ready: scenarios.Count{AtMost: ptr(1)}}), true, "(want at most 1)"},
		{"nodes cordoned", leaf("nodes", &scenarios.NodesCondition{NodeGroup: "ng-general-v1", Schedulable: ptr(false)}), true, "1 nodes"},
		{"nodes ready", leaf("nodes", &scenarios.NodesCondition{NodeGroup: "ng-general-v2", Ready: ptr(true), Count: scenarios.Count{AtLeast: ptr(2)}}), false, "1 nodes"},
		{"no node of the old group is not ready", leaf("nodes", &scenarios.NodesCondition{NodeGroup: "ng-general-v1", Ready: ptr(false)}), false, "0 nodes"},
		{"nodes under disk pressure", leaf("nodes", &scenarios.NodesCondition{ConditionType: "DiskPressure", ConditionStatus: "True"}), true, "1 nodes"},
		{"node group size", leaf("nodeGroup", &scenarios.NodeGroupCondition{Name: "ng-general-v2", Size: &scenarios.Count{AtLeast: ptr(3)}}), false, "size 2"},
		{"node group deleted", leaf("nodeGroup", &scenarios.NodeGroupCondition{Name: "ng-gone", Exists: ptr(false)}), true, "exists: false"},
		{"events by occurrences", leaf("event", &scenarios.EventCondition{Namespace: "prod", Reason: "Failed", Message: "pull access denied", Count: scenarios.Count{AtLeast: ptr(4)}}), true, "4 matching"},
		{"events by name", leaf("event", &scenarios.EventCondition{Namespace: "prod", InvolvedName: "^checkout-old", Reason: "Failed"}), false, "0 matching"},
		{"role has policy", leaf("iam", &scenarios.IAMCondition{Role: "eks-node-general-v2", HasPolicy: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}), false, "has AmazonEKSWorkerNodePolicy"},
		{"role allows pulls", leaf("iam", &scenarios.IAMCondition{Role: "eks-node-general-v1", Allows: &scenarios.Permission{Actions: []string{"ecr:BatchGetImage"}, Resource: "*"}}), true, ""},
		{"boundary caps the role's pulls", leaf("iam", &scenarios.IAMCondition{Role: "eks-node-bounded", Allows: &scenarios.Permission{Actions: []string{"ecr:BatchGetImage"}, Resource: "*"}}), false, "does not allow ecr:BatchGetImage"},
		{"role has the boundary", leaf("iam", &scenarios.IAMCondition{Role: "eks-node-bounded", Boundary: "eks-node-boundary"}), true, "boundary is eks-node-boundary"},
		{"role has no boundary", leaf("iam", &scenarios.IAMCondition{Role: "eks-node-general-v1", Boundary: "eks-node-boundary"}), false, "boundary is none"},
		{"role without boundary is none", leaf("iam", &scenarios.IAMCondition{Role: "eks-node-general-v1", Boundary: "none"}), true, ""},
		{"role missing", leaf("iam", &scenarios.IAMCondition{Role: "nope", HasPolicy: "x"}), false, "NoSuchEntity"},
		{"right claim", leaf("finding", &scenarios.FindingCondition{Cause: "node-role-missing-ecr-read", Resource: "(^|/)eks-node-general-v2$", Source: scenarios.SourceAny}), true, "finding node-role-missing-ecr-read"},
		{"a wrong claim never holds", leaf("finding", &scenarios.FindingCondition{Cause: "image-tag-missing", Source: scenarios.SourceAny}), false, "among 2"},
		{"claim from another source", leaf("finding", &scenarios.FindingCondition{Cause: "node-role-missing-ecr-read", Source: scenarios.SourceDetector}), false, ""},
		{"object by JSONPath", leaf("object", &scenarios.ObjectCondition{APIVersion: "v1", Kind: "ConfigMap", Namespace: "prod", Name: "checkout-config", JSONPath: "{.data.TIMEOUT_MS}", Matches: "^[0-9]+$"}), false, `"3s"`},
		{"object equals", leaf("object", &scenarios.ObjectCondition{APIVersion: "v1", Kind: "ConfigMap", Namespace: "prod", Name: "checkout-config", JSONPath: "{.data.TIMEOUT_MS}", Equals: ptr("3s")}), true, ""},
		{"object gone", leaf("object", &scenarios.ObjectCondition{APIVersion: "v1", Kind: "ConfigMap", Namespace: "prod", Name: "other", Exists: ptr(false)}), true, "exists: false"},
		{"exec exit code", leaf("exec", &scenarios.ExecCondition{Command: []string{"sh", "-c", "exit 3"}, ExitCode: 3, Timeout: scenarios.Duration{Duration: 5 * time.Second}}), true, "exited 3"},
		{"all", scenarios.Condition{All: []scenarios.Condition{
			leaf("nodes", &scenarios.NodesCondition{NodeGroup: "ng-general-v1"}),
			leaf("endpoints", &scenarios.EndpointsCondition{Namespace: "prod", Service: "checkout", Ready: scenarios.Count{AtLeast: ptr(3)}}),
		}}, false, "1 ready endpoints"},
		{"any", scenarios.Condition{Any: []scenarios.Condition{
			leaf("nodes", &scenarios.NodesCondition{NodeGroup: "ng-none"}),
			leaf("nodes", &scenarios.NodesCondition{NodeGroup: "ng-general-v1"}),
		}}, true, ""},
		{"not", scenarios.Condition{Not: ptr(leaf("nodes", &scenarios.NodesCondition{NodeGroup: "ng-none"}))}, true, "not (0 nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, obs := e.Eval(context.Background(), &tt.c, NewRound())
			if got != tt.want || !strings.Contains(obs, tt.obs) {
				t.Errorf("Eval = %v, %q; want %v, observing %q", got, obs, tt.want, tt.obs)
			}
		})
	}
}

// TestRoundCachesAWS checks that one round asks AWS once per role and
// node group however many conditions read them.
func TestRoundCachesAWS(t *testing.T) {
	cloud := &fakeCloud{attached: map[string][]string{"r": {"p"}}, groups: map[string]int{"g": 1}}
	e, _ := newTestEvaluator(t, cloud)
	c := scenarios.Condition{All: []scenarios.Condition{
		leaf("iam", &scenarios.IAMCondition{Role: "r", HasPolicy: "p"}),
		leaf("iam", &scenarios.IAMCondition{Role: "r", HasAnyPolicy: []string{"p"}}),
		leaf("nodeGroup", &scenarios.NodeGroupCondition{Name: "g"}),
		leaf("nodeGroup", &scenarios.NodeGroupCondition{Name: "g", Exists: ptr(true)}),
	}}
	r := NewRound()
	for range 3 {
		if ok, obs := e.Eval(context.Background(), &c, r); !ok {
			t.Fatalf("does not hold: %s", obs)
		}
	}
	if cloud.calls != 2 {
		t.Errorf("%d AWS calls in one round, want 2", cloud.calls)
	}
}

// TestRestartCountsAfterHandover changes the restartedAt annotation, as
// kubectl rollout restart does, and checks restarted and restartedAfter.
func TestRestartCountsAfterHandover(t *testing.T) {
	e, cs := newTestEvaluator(t, &fakeCloud{})
	e.SetHandover(time.Now())
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments("prod").Get(ctx, "checkout", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Annotations = map[string]string{scenarios.RestartedAtAnnotation: time.Now().Format(time.RFC3339)}
	if _, err := cs.AppsV1().Deployments("prod").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	restarted := leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", Restarted: ptr(true)})
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, obs := e.Eval(ctx, &restarted, NewRound())
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for the informer to see the restart: %s", obs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	after := leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", RestartedAfter: "fix"})
	if ok, obs := e.Eval(ctx, &after, NewRound()); !ok {
		t.Errorf("restart after the fix not seen: %s", obs)
	}
	notYet := leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", RestartedAfter: "root-cause"})
	if ok, _ := e.Eval(ctx, &notYet, NewRound()); ok {
		t.Error("restartedAfter holds for an objective not achieved")
	}
	soon := leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", RestartedAfter: "soon"})
	if ok, obs := e.Eval(ctx, &soon, NewRound()); !ok {
		t.Errorf("a restart just before the objective was seen does not count: %s", obs)
	}
	later := leaf("deployment", &scenarios.DeploymentCondition{Namespace: "prod", Name: "checkout", RestartedAfter: "later"})
	if ok, _ := e.Eval(ctx, &later, NewRound()); ok {
		t.Error("a restart long before the objective counts as after it")
	}
}

// unstructuredObject is an unstructured object for the fake dynamic
// client.
type unstructuredObject = unstructured.Unstructured

// TestDeploymentCaughtUp: a step's write is seen once the cache holds
// the Deployment at that resource version or a later one.
func TestDeploymentCaughtUp(t *testing.T) {
	e, cs := newTestEvaluator(t, nil)
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "storefront", Namespace: "prod", ResourceVersion: "7"}}
	if _, err := cs.AppsV1().Deployments("prod").Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !e.DeploymentCaughtUp("prod", "storefront", "7") {
		if time.Now().After(deadline) {
			t.Fatal("the cache never held storefront at resourceVersion 7")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tests := []struct {
		name, deployment, rv string
		want                 bool
	}{
		{"an earlier write", "storefront", "5", true},
		{"this write", "storefront", "7", true},
		{"a later write, not seen yet", "storefront", "8", false},
		{"a version that is not a number", "storefront", "abc", false},
		{"a Deployment the cache lacks", "cart", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.DeploymentCaughtUp("prod", tt.deployment, tt.rv); got != tt.want {
				t.Errorf("DeploymentCaughtUp(%s, %s) = %v, want %v", tt.deployment, tt.rv, got, tt.want)
			}
		})
	}
}
