package kind

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// imageStore is a Docker engine's image store.
type imageStore struct {
	images map[string][]byte
	asked  []string
}

func (s *imageStore) Save(_ context.Context, ref string) (io.ReadCloser, error) {
	s.asked = append(s.asked, ref)
	b, ok := s.images[ref]
	if !ok {
		return nil, errors.New("Error response from daemon: reference does not exist")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// containerdNode is a worker whose containerd reports its config and
// whose ctr import keeps what it is given in imported.tar.
func containerdNode(t *testing.T, name, role string) *localNode {
	root := t.TempDir()
	return &localNode{name: name, role: role, root: root, fake: map[string]string{
		"containerd": `printf 'version = 3\n[plugins."io.containerd.cri.v1.images"]\n  snapshotter = "overlayfs"\n'`,
		"ctr":        `case "$*" in *"images import"*"--snapshotter=overlayfs -") cat > ` + root + `/imported.tar ;; *) echo "bad args: $*" >&2; exit 1 ;; esac`,
	}}
}

func TestPreload(t *testing.T) {
	const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
	store := &imageStore{images: map[string][]byte{"docker.io/library/redis:7.2-alpine": []byte("redis image tar")}}
	cp := containerdNode(t, "gameday-r-control-plane", "control-plane")
	w1, w2 := containerdNode(t, "gameday-r-worker", "worker"), containerdNode(t, "gameday-r-worker2", "worker")
	var logs bytes.Buffer
	dir := t.TempDir()
	images := []string{ecrHost + "/shop/checkout:1.9.0", "docker.io/library/redis:7.2-alpine", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0"}
	err := preload(context.Background(), store, workers([]nodes.Node{cp, w1, w2}), images, ecrHost, dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []*localNode{w1, w2} {
		if b, err := os.ReadFile(filepath.Join(n.root, "imported.tar")); string(b) != "redis image tar" {
			t.Errorf("%s imported %q, %v", n.name, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(cp.root, "imported.tar")); err == nil {
		t.Error("loaded into the control plane, which runs no workloads")
	}
	if slices.Contains(store.asked, images[0]) {
		t.Error("an ECR image was taken from the engine: its pull is the incident")
	}
	if !strings.Contains(logs.String(), "nodes will pull registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0 from its registry") {
		t.Errorf("log:\n%s", logs.String())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
		t.Errorf("left in the run directory: %v", left)
	}

	broken := containerdNode(t, "gameday-r-worker3", "worker")
	broken.fake["ctr"] = "echo 'ctr: failed to import' >&2; exit 1"
	err = preload(context.Background(), store, []nodes.Node{broken}, images[1:2], ecrHost, dir, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "load docker.io/library/redis:7.2-alpine into gameday-r-worker3") {
		t.Errorf("err = %v", err)
	}
}
