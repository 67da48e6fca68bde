package images

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// fakeBits is a node bits directory whose kubeadm lists images as
// kubeadm v1.37 does, and whose other binaries are small files.
func fakeBits(t *testing.T, list string) string {
	t.Helper()
	dir := t.TempDir()
	for _, b := range NodeBits {
		body := "binary " + b
		if b == "kubeadm" {
			body = "#!/bin/sh\n[ \"$*\" = \"config images list --kubernetes-version " + KubernetesVersion + "\" ] || exit 3\nprintf '" + list + "'\n"
		}
		if err := os.WriteFile(filepath.Join(dir, b), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const kubeadmList = `registry.k8s.io/kube-apiserver:v1.37.2\nregistry.k8s.io/kube-controller-manager:v1.37.2\nregistry.k8s.io/kube-scheduler:v1.37.2\nregistry.k8s.io/kube-proxy:v1.37.2\nregistry.k8s.io/coredns/coredns:v1.14.6\nregistry.k8s.io/pause:3.10.2\nregistry.k8s.io/etcd:3.7.0-0\n`

func TestBuildComponentImages(t *testing.T) {
	bits := fakeBits(t, kubeadmList)
	out := filepath.Join(t.TempDir(), "images.tar")
	names, err := BuildComponentImages(context.Background(), bits, out, "registry.k8s.io/pause:3.10")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"registry.k8s.io/kube-apiserver:v1.37.2", "registry.k8s.io/kube-controller-manager:v1.37.2", "registry.k8s.io/kube-scheduler:v1.37.2",
		"registry.k8s.io/pause:3.10.2", "registry.k8s.io/etcd:3.7.0-0", "registry.k8s.io/pause:3.10"}
	if !slices.Equal(names, want) {
		t.Fatalf("images %q\nwant %q (kube-proxy and CoreDNS are not built)", names, want)
	}
	tests := []struct {
		ref, entrypoint, file, body string
	}{
		{"registry.k8s.io/kube-apiserver:v1.37.2", "/usr/local/bin/kube-apiserver", "usr/local/bin/kube-apiserver", "binary kube-apiserver"},
		{"registry.k8s.io/etcd:3.7.0-0", "/usr/local/bin/etcd", "usr/local/bin/etcd", "binary etcd"},
		{"registry.k8s.io/pause:3.10", "/pause", "usr/local/bin/pause", "binary gameday-pause"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			tag, err := name.NewTag(tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			img, err := tarball.ImageFromPath(out, &tag)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Config.Entrypoint, []string{tt.entrypoint}) || cfg.OS != "linux" {
				t.Errorf("entrypoint %q, os %s", cfg.Config.Entrypoint, cfg.OS)
			}
			layers, err := img.Layers()
			if err != nil || len(layers) != 1 {
				t.Fatalf("%d layers, %v", len(layers), err)
			}
			rc, err := layers[0].Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			tr := tar.NewReader(rc)
			found := false
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if h.Name == tt.file {
					b, _ := io.ReadAll(tr)
					found = string(b) == tt.body && h.Mode&0o111 != 0
				}
			}
			if !found {
				t.Errorf("layer has no executable %s holding %q", tt.file, tt.body)
			}
		})
	}
}

func TestBuildComponentImagesUnknown(t *testing.T) {
	bits := fakeBits(t, `registry.k8s.io/kube-apiserver:v1.37.2\nregistry.k8s.io/something-new:v1\nregistry.k8s.io/pause:3.10.2\n`)
	_, err := BuildComponentImages(context.Background(), bits, filepath.Join(t.TempDir(), "i.tar"))
	if err == nil || !strings.Contains(err.Error(), "something-new") {
		t.Errorf("an image kubeadm asks for and gameday cannot build: %v", err)
	}
}

func TestSandboxImage(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte("version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  # pinned\n  sandbox_image = \"registry.k8s.io/pause:3.10\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := sandboxImage(p); err != nil || got != "registry.k8s.io/pause:3.10" {
		t.Errorf("got %q, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("version = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sandboxImage(p); err == nil {
		t.Error("a config without sandbox_image was accepted")
	}
}
