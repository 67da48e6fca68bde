package kind

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/gameday-sre/gameday/infra/ecr"
)

// imageStore is a Docker engine's image store; a pull of one of
// registry copies it into the store.
type imageStore struct {
	images   map[string][]byte
	registry map[string][]byte
	asked    []string
}

func (s *imageStore) Save(_ context.Context, ref string) (io.ReadCloser, error) {
	s.asked = append(s.asked, ref)
	b, ok := s.images[ref]
	if !ok {
		return nil, errors.New("Error response from daemon: reference does not exist")
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s *imageStore) Pull(_ context.Context, ref string) error {
	b, ok := s.registry[ref]
	if !ok {
		return errors.New("pull image " + ref + ": dial tcp: lookup registry-1.docker.io: no such host")
	}
	if s.images == nil {
		s.images = map[string][]byte{}
	}
	s.images[ref] = b
	return nil
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

// repoTags reads the image names of an archive in `docker save` form.
func repoTags(t *testing.T, archive []byte) []string {
	t.Helper()
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(archive)), nil })
	if err != nil {
		t.Fatalf("read the imported archive: %v", err)
	}
	var tags []string
	for _, d := range m {
		tags = append(tags, d.RepoTags...)
	}
	return tags
}

func TestPreload(t *testing.T) {
	const (
		ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
		redis   = "docker.io/library/redis:7.2-alpine"
		ksm     = "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0"
	)
	images := []string{ecrHost + "/shop/checkout:1.9.0", redis}
	standIn := func(ref string) (v1.Image, error) {
		return ecr.BuildImage("stand-in", "1", 1, ecr.WithBase(empty.Image), ecr.WithApp([]byte("app")))
	}
	for _, tc := range []struct {
		name    string
		store   *imageStore
		standIn func(string) (v1.Image, error)
		// imported is what the workers get: an archive's content, or a
		// name its RepoTags must hold; log is a line to expect.
		imported, tagged, log string
	}{
		{"from the engine", &imageStore{images: map[string][]byte{redis: []byte("redis image tar")}}, standIn,
			"redis image tar", "", "from=\"the local Docker engine\""},
		{"pulled by the engine", &imageStore{registry: map[string][]byte{redis: []byte("pulled redis tar")}}, standIn,
			"pulled redis tar", "", "from=\"its registry, through the local Docker engine\""},
		{"a stand-in when the engine can neither find nor pull it", &imageStore{}, standIn,
			"", redis, "nodes run gameday's stand-in under its name"},
		{"the nodes pull it when there is no stand-in", &imageStore{}, nil,
			"", "", "nodes will pull " + redis + " from its registry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := containerdNode(t, "gameday-r-control-plane", "control-plane")
			w1, w2 := containerdNode(t, "gameday-r-worker", "worker"), containerdNode(t, "gameday-r-worker2", "worker")
			var logs bytes.Buffer
			dir := t.TempDir()
			err := preload(context.Background(), tc.store, workers([]nodes.Node{cp, w1, w2}), images, ecrHost, dir, tc.standIn, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []*localNode{w1, w2} {
				b, err := os.ReadFile(filepath.Join(n.root, "imported.tar"))
				switch {
				case tc.imported != "" && string(b) != tc.imported:
					t.Errorf("%s imported %q, %v", n.name, b, err)
				case tc.tagged != "" && !slices.Contains(repoTags(t, b), tc.tagged):
					t.Errorf("%s imported %v, not %s", n.name, repoTags(t, b), tc.tagged)
				case tc.imported == "" && tc.tagged == "" && err == nil:
					t.Errorf("%s imported an image; the nodes were to pull it", n.name)
				}
			}
			if _, err := os.Stat(filepath.Join(cp.root, "imported.tar")); err == nil {
				t.Error("loaded into the control plane, which runs no workloads")
			}
			if slices.Contains(tc.store.asked, images[0]) {
				t.Error("an ECR image was taken from the engine: its pull is the incident")
			}
			if !strings.Contains(logs.String(), tc.log) {
				t.Errorf("log lacks %q:\n%s", tc.log, logs.String())
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
				t.Errorf("left in the run directory: %v", left)
			}
		})
	}

	t.Run("a node that cannot import", func(t *testing.T) {
		broken := containerdNode(t, "gameday-r-worker3", "worker")
		broken.fake["ctr"] = "echo 'ctr: failed to import' >&2; exit 1"
		store := &imageStore{images: map[string][]byte{redis: []byte("redis image tar")}}
		err := preload(context.Background(), store, []nodes.Node{broken}, []string{redis, ksm}, ecrHost, t.TempDir(), nil, slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), "load "+redis+" into gameday-r-worker3") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestStandInImage(t *testing.T) {
	base, err := ecr.BuildImage("base", "1", 1)
	if err != nil {
		t.Fatal(err)
	}
	img, err := standInImage("registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0", base, []byte("the app binary"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{ecr.AppBinaryPath}) {
		t.Errorf("entrypoint %v, want gameday's app binary", cfg.Config.Entrypoint)
	}
	files := imageFiles(t, img)
	if files[strings.TrimPrefix(ecr.AppBinaryPath, "/")] != "the app binary" {
		t.Error("the stand-in lacks the app binary")
	}
	var spec struct{ Name string }
	if err := json.Unmarshal([]byte(files[strings.TrimPrefix(ecr.AppSpecPath, "/")]), &spec); err != nil || spec.Name != "kube-state-metrics" {
		t.Errorf("behaviour %q (%v), want the default one named kube-state-metrics", files[strings.TrimPrefix(ecr.AppSpecPath, "/")], err)
	}
	if _, err := standInImage("Not A Ref!", base, nil); err == nil {
		t.Error("a bad image name was accepted")
	}
}

// imageFiles reads the regular files of img's flattened filesystem.
func imageFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[h.Name] = string(b)
		}
	}
	return files
}
