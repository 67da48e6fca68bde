package environment

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

// faultRecorder is a cluster that records the node faults asked of it.
type faultRecorder struct {
	Cluster
	calls []string
}

func (f *faultRecorder) StopNode(_ context.Context, node, component string) error {
	f.calls = append(f.calls, "stop "+component+" "+node)
	return nil
}

func (f *faultRecorder) StartNode(_ context.Context, node, component string) error {
	f.calls = append(f.calls, "start "+component+" "+node)
	return nil
}

func (f *faultRecorder) FillNodeDisk(_ context.Context, node string, _ int64) error {
	f.calls = append(f.calls, "fill "+node)
	return nil
}

// plainCluster cannot fail a node.
type plainCluster struct{ Cluster }

func TestNodeFaultsResolveNodes(t *testing.T) {
	node := func(name, group string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{eks.NodeGroupLabel: group}}}
	}
	client := fake.NewSimpleClientset(node("ip-10-0-1-12", "ng-a"), node("ip-10-0-1-10", "ng-a"), node("ip-10-0-2-10", "ng-b"))
	groups := map[string]eks.NodeGroup{"ng-a": {Name: "ng-a"}, "ng-b": {Name: "ng-b"}}
	ctx := context.Background()
	tests := []struct {
		name     string
		cluster  Cluster
		do       func(e *Env) error
		want     string
		wantKind errkind.Kind // of the error; 0 (Internal) means none
	}{
		{"index 1 is the second node by name", &faultRecorder{}, func(e *Env) error {
			return e.StopNode(ctx, scenarios.NodeRef{NodeGroup: "ng-a", Index: 1}, scenarios.NodeKubelet)
		}, "stop kubelet ip-10-0-1-12", 0},
		{"start and fill reach the same node", &faultRecorder{}, func(e *Env) error {
			if err := e.StartNode(ctx, scenarios.NodeRef{NodeGroup: "ng-b"}, scenarios.NodeRuntime); err != nil {
				return err
			}
			return e.FillNodeDisk(ctx, scenarios.NodeRef{NodeGroup: "ng-b"}, 1<<30)
		}, "start runtime ip-10-0-2-10; fill ip-10-0-2-10", 0},
		{"no such node", &faultRecorder{}, func(e *Env) error {
			return e.StopNode(ctx, scenarios.NodeRef{NodeGroup: "ng-a", Index: 2}, scenarios.NodeKubelet)
		}, "", errkind.Invalid},
		{"no such group", &faultRecorder{}, func(e *Env) error {
			return e.StopNode(ctx, scenarios.NodeRef{NodeGroup: "ng-z"}, scenarios.NodeKubelet)
		}, "", errkind.Invalid},
		{"a backend that cannot fail nodes says so", plainCluster{}, func(e *Env) error {
			return e.StopNode(ctx, scenarios.NodeRef{NodeGroup: "ng-a"}, scenarios.NodeKubelet)
		}, "", errkind.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Env{Cluster: tt.cluster, client: client, groups: groups}
			err := tt.do(e)
			if tt.wantKind != 0 {
				if err == nil || errkind.Of(err) != tt.wantKind {
					t.Fatalf("err %v, want kind %v", err, tt.wantKind)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(tt.cluster.(*faultRecorder).calls, "; "); got != tt.want {
				t.Errorf("calls %q, want %q", got, tt.want)
			}
		})
	}
}
