package ecr

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// fakeBase is a one-layer stand-in for busybox, built for arm64.
func fakeBase(t *testing.T) v1.Image {
	t.Helper()
	layer, err := tarLayer(map[string]string{"bin/busybox": "ELF...", "bin/sh": "ELF..."})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{CreatedBy: "ADD busybox"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "arm64", "linux"
	cfg.Config.Env = []string{"PATH=/bin"}
	cfg.History = append([]v1.History{{CreatedBy: "LABEL x", EmptyLayer: true}}, cfg.History...)
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// fileIn returns a file's content from an image's layers (last wins).
func fileIn(t *testing.T, img v1.Image, name string) string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s not in the image", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name {
			b, _ := io.ReadAll(tr)
			return string(b)
		}
	}
}

func TestBuildImageWithBase(t *testing.T) {
	base := fakeBase(t)
	img, err := BuildImage("shop/checkout", "1.9.0", 3, WithBase(base))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	baseLayers, _ := base.Layers()
	if len(layers) != len(baseLayers)+3 {
		t.Fatalf("%d layers, want the base's %d and 3 of the app", len(layers), len(baseLayers))
	}
	want, _ := baseLayers[0].Digest()
	if got, _ := layers[0].Digest(); got != want {
		t.Errorf("first layer %s, want the base's %s", got, want)
	}
	cfg, _ := img.ConfigFile()
	if cfg.Architecture != "arm64" || !slices.Equal(cfg.Config.Entrypoint, []string{"/app/checkout"}) ||
		!slices.Equal(cfg.Config.Env, []string{"PATH=/bin", "APP_VERSION=1.9.0"}) {
		t.Errorf("config: arch %s, entrypoint %v, env %v", cfg.Architecture, cfg.Config.Entrypoint, cfg.Config.Env)
	}
	if cfg.History[0].CreatedBy != "ADD busybox" {
		t.Errorf("history = %+v", cfg.History)
	}
	if got := fileIn(t, img, "app/checkout"); got != AppScript("checkout", "1.9.0") {
		t.Errorf("entrypoint script:\n%s", got)
	}
	if fileIn(t, img, "bin/sh") == "" {
		t.Error("base files missing")
	}
	again, _ := BuildImage("shop/checkout", "1.9.0", 3, WithBase(base))
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("not deterministic: %s, %s", d1, d2)
	}
}

// TestAppScript runs the entrypoint with this machine's sh and a
// stand-in httpd, as a container would run it with busybox's.
func TestAppScript(t *testing.T) {
	bin, www := t.TempDir(), t.TempDir()
	httpd := "#!/bin/sh\necho \"httpd $*\"\n"
	if err := os.WriteFile(filepath.Join(bin, "httpd"), []byte(httpd), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "checkout")
	if err := os.WriteFile(script, []byte(AppScript("checkout", "1.9.0")), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script)
	cmd.Env = []string{"PATH=" + bin + ":/usr/bin:/bin", "GAMEDAY_WWW=" + www}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `level=info msg="checkout 1.9.0 starting" addr=:8080`) ||
		lines[1] != "httpd -f -v -p 8080 -h "+www {
		t.Errorf("output:\n%s", out)
	}
	if b, _ := os.ReadFile(filepath.Join(www, "healthz")); string(b) != "ok\n" {
		t.Errorf("healthz = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(www, "index.html")); string(b) != "checkout 1.9.0\n" {
		t.Errorf("index = %q", b)
	}
}

// TestLayersUnpack checks what a container runtime checks when it
// unpacks an image: each layer decompresses to a tar whose digest is the
// DiffID the config lists.
func TestLayersUnpack(t *testing.T) {
	for name, opts := range map[string][]BuildOption{"plain": nil, "with base": {WithBase(fakeBase(t))}} {
		t.Run(name, func(t *testing.T) {
			img, err := BuildImage("shop/checkout", "1.9.0", 3, opts...)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := img.ConfigFile()
			layers, _ := img.Layers()
			if len(cfg.RootFS.DiffIDs) != len(layers) {
				t.Fatalf("%d diff ids for %d layers", len(cfg.RootFS.DiffIDs), len(layers))
			}
			for i, l := range layers {
				rc, err := l.Compressed()
				if err != nil {
					t.Fatal(err)
				}
				zr, err := gzip.NewReader(rc)
				if err != nil {
					t.Fatalf("layer %d is not gzip: %v", i, err)
				}
				h := sha256.New()
				tr := tar.NewReader(io.TeeReader(zr, h))
				for {
					if _, err := tr.Next(); err == io.EOF {
						break
					} else if err != nil {
						t.Fatalf("layer %d is not a tar: %v", i, err)
					}
				}
				io.Copy(h, zr)
				rc.Close()
				if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != cfg.RootFS.DiffIDs[i].String() {
					t.Errorf("layer %d unpacks to %s, config says %s", i, got, cfg.RootFS.DiffIDs[i])
				}
			}
		})
	}
}
