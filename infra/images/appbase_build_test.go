package images

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// memStore is an engine's image store in memory: Load takes `docker
// save` form, as the engine does.
type memStore struct {
	images map[string]v1.Image
	loads  int
}

func (m *memStore) Labels(_ context.Context, ref string) (string, map[string]string, error) {
	img, ok := m.images[ref]
	if !ok {
		return "", nil, nil
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", nil, err
	}
	id, err := img.ConfigName()
	return id.String(), cfg.Config.Labels, err
}

func (m *memStore) Load(_ context.Context, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	img, err := tarball.Image(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }, nil)
	if err != nil {
		return err
	}
	if _, err := img.Manifest(); err != nil { // reads the tar's manifest.json
		return err
	}
	m.images[AppBaseImage] = img
	m.loads++
	return nil
}

// fakeDeb builds a real .deb (dpkg-deb --build) whose bin/busybox is a
// script that lists three applets, named as apt-get download names it.
func fakeDeb(t *testing.T, dir, version string) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("needs dpkg-deb (Debian's dpkg) to build a test package")
	}
	root := t.TempDir()
	files := map[string]string{
		"DEBIAN/control": "Package: busybox-static\nVersion: " + version + "\nArchitecture: amd64\nMaintainer: test <t@example.com>\nDescription: test\n",
		"bin/busybox":    "#!/bin/sh\n[ \"$1\" = --list ] && printf 'sh\\nls\\nwget\\nbusybox\\n'\n",
	}
	for p, body := range files {
		f := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The same package must be the same bytes: fixed times, in the files
	// and in the archive (SOURCE_DATE_EPOCH), whenever it is built.
	epoch := time.Unix(1700000000, 0)
	for _, p := range []string{"DEBIAN/control", "bin/busybox", "DEBIAN", "bin", "."} {
		if err := os.Chtimes(filepath.Join(root, p), epoch, epoch); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, "busybox-static_"+strings.ReplaceAll(version, ":", "%3a")+"_amd64.deb")
	cmd := exec.Command("dpkg-deb", "--build", "--root-owner-group", root, deb)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}

// TestBuildAppBase builds the app base from a package, as make
// kind-images does, and checks the image (a link per applet, the
// package's digest as a label), that a second build with the same
// package keeps it, and that a new package or --force rebuilds it.
func TestBuildAppBase(t *testing.T) {
	cache := t.TempDir()
	version := "1:1.35.0-4"
	fetch := func(_ context.Context, pkg, dir string) (string, error) {
		if pkg != busyboxPackage || dir != cache {
			t.Errorf("fetch %s into %s", pkg, dir)
		}
		return fakeDeb(t, dir, version), nil
	}
	store := &memStore{images: map[string]v1.Image{}}
	build := func(opts ...BuildOption) Built {
		t.Helper()
		b, err := BuildAppBase(context.Background(), store, append([]BuildOption{WithCacheDir(cache), withFetch(fetch)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	first := build()
	if first.Kept || first.Ref != AppBaseImage || first.ID == "" || first.From != "busybox-static 1:1.35.0-4" {
		t.Fatalf("first build: %+v", first)
	}
	img := store.images[AppBaseImage]
	entries := map[string]*tar.Header{}
	tr := tar.NewReader(mutate.Extract(img))
	for h, err := tr.Next(); err == nil; h, err = tr.Next() {
		entries[strings.TrimSuffix(h.Name, "/")] = h
	}
	for _, want := range []struct {
		name, link string
		typ        byte
	}{
		{"bin/busybox", "", tar.TypeReg},
		{"bin/sh", "busybox", tar.TypeSymlink},
		{"bin/wget", "busybox", tar.TypeSymlink},
		{"tmp", "", tar.TypeDir},
		{"etc/passwd", "", tar.TypeReg},
	} {
		h := entries[want.name]
		if h == nil || h.Typeflag != want.typ || h.Linkname != want.link {
			t.Errorf("%s: %+v, want type %c link %q", want.name, h, want.typ, want.link)
		}
	}
	if h := entries["tmp"]; h != nil && h.Mode != 0o1777 {
		t.Errorf("/tmp mode %o", h.Mode)
	}
	if _, ok := entries["bin/busybox/busybox"]; ok {
		t.Error("busybox linked to itself")
	}
	cfg, _ := img.ConfigFile()
	if !strings.HasPrefix(cfg.Config.Labels[InputsLabel], "sha256:") || cfg.Config.Env[0] != "PATH=/bin" {
		t.Errorf("config: labels %v env %v", cfg.Config.Labels, cfg.Config.Env)
	}

	tests := []struct {
		name     string
		version  string
		opts     []BuildOption
		wantKept bool
	}{
		{"the same package: kept", version, nil, true},
		{"forced: rebuilt", version, []BuildOption{WithForce(true)}, false},
		{"a new package: rebuilt", "1:1.35.0-5", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version = tt.version
			loads := store.loads
			b := build(tt.opts...)
			if b.Kept != tt.wantKept || (store.loads > loads) == tt.wantKept {
				t.Errorf("kept %v after %d loads (had %d), want kept %v", b.Kept, store.loads, loads, tt.wantKept)
			}
		})
	}
}

func TestBuildAppBaseErrors(t *testing.T) {
	store := &memStore{images: map[string]v1.Image{}}
	tests := []struct {
		name  string
		fetch func(ctx context.Context, pkg, dir string) (string, error)
		want  string
	}{
		{"apt-get fails", func(context.Context, string, string) (string, error) {
			return "", errkind.Errorf(errkind.Infra, "apt-get download busybox-static: exit status 100: E: Unable to locate package")
		}, "Unable to locate package"},
		{"not a package", func(_ context.Context, _, dir string) (string, error) {
			p := filepath.Join(dir, "busybox-static_1_amd64.deb")
			return p, os.WriteFile(p, []byte("not an ar archive"), 0o644)
		}, "dpkg-deb --fsys-tarfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildAppBase(context.Background(), store, WithCacheDir(t.TempDir()), withFetch(tt.fetch))
			if err == nil || !strings.Contains(err.Error(), tt.want) || errkind.Of(err) != errkind.Infra {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if store.loads != 0 {
				t.Error("loaded an image after a failed build")
			}
		})
	}
}

func TestDebVersion(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"with an epoch", "/x/busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb", "1:1.35.0-4+deb12u1+b1"},
		{"without", "busybox-static_1.36.1-1_arm64.deb", "1.36.1-1"},
		{"no version", "busybox.deb", "?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := debVersion(tt.file); got != tt.want {
				t.Errorf("debVersion(%q) = %q, want %q", tt.file, got, tt.want)
			}
		})
	}
}
