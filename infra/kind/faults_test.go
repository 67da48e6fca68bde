package kind

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

func TestNodeFaults(t *testing.T) {
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	node := &localNode{name: "gameday-worker2", role: "worker", root: dir,
		fake: map[string]string{"systemctl": `echo "$@" >> ` + calls}}
	e := &Env{nodes: []nodes.Node{node}, log: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	tests := []struct {
		name      string
		do        func() error
		wantCalls string
		wantKind  errkind.Kind // the error's kind; 0 (Internal) means no error
	}{
		{"stop the kubelet", func() error { return e.StopNode(ctx, "gameday-worker2", scenarios.NodeKubelet) }, "stop kubelet", 0},
		{"start the runtime", func() error { return e.StartNode(ctx, "gameday-worker2", scenarios.NodeRuntime) }, "start containerd", 0},
		{"an unknown component", func() error { return e.StopNode(ctx, "gameday-worker2", "docker") }, "", errkind.Invalid},
		{"an unknown node", func() error { return e.StopNode(ctx, "gameday-worker9", scenarios.NodeKubelet) }, "", errkind.Invalid},
		{"filling the host's disk is refused", func() error { return e.FillNodeDisk(ctx, "gameday-worker2", 14<<30) }, "", errkind.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_ = os.Remove(calls)
			err := tt.do()
			if tt.wantKind != 0 {
				if err == nil || errkind.Of(err) != tt.wantKind {
					t.Fatalf("err %v (%v), want kind %v", err, errkind.Of(err), tt.wantKind)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(calls)
			if got := strings.TrimSpace(string(b)); got != tt.wantCalls {
				t.Errorf("systemctl %q, want %q", got, tt.wantCalls)
			}
		})
	}
}
