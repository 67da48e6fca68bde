package images

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// AppBaseImage is the base of the scenario's ECR images on kind, where
// they really run gameday's app binary (AppBinaryEnv) with their
// behaviour: busybox gives them a shell and the commands an operator
// runs with kubectl exec. gameday builds it offline from Debian's
// busybox-static (BuildAppBase, BuildCommand); no registry has it.
// Override with GAMEDAY_APP_BASE_IMAGE (busybox:1.36.1 works).
const AppBaseImage = dockerhost.BuiltHere + "app-base:busybox-static"

// BuildCommand is what builds the images a kind run needs and this host
// cannot pull; skips and errors name it.
const BuildCommand = dockerhost.BuildCommand

// InputsLabel is the label of an image gameday built offline that holds
// the digest of its inputs: an image whose inputs did not change is kept.
const InputsLabel = "dev.gameday.inputs"

// busyboxPackage is the Debian package the app base is made of: a static
// busybox, so the image needs no libc.
const busyboxPackage = "busybox-static"

// Built says what became of one offline image.
type Built struct {
	// Ref is the image's name in the engine.
	Ref string
	// ID is the engine's image id.
	ID string
	// Kept is true when the engine already had the image, built from the
	// same inputs.
	Kept bool
	// From names the inputs (a Debian package and its version).
	From string
}

// Store is the part of the Docker engine offline builds use.
type Store interface {
	Labels(ctx context.Context, ref string) (id string, labels map[string]string, err error)
	Load(ctx context.Context, r io.Reader) error
}

// buildOptions are BuildAppBase's options.
type buildOptions struct {
	cacheDir string
	force    bool
	log      *slog.Logger
	fetch    func(ctx context.Context, pkg, dir string) (string, error)
}

// BuildOption configures BuildAppBase.
type BuildOption func(*buildOptions)

// WithCacheDir keeps downloaded packages in dir (default: the user's
// cache directory, gameday/debs).
func WithCacheDir(dir string) BuildOption { return func(o *buildOptions) { o.cacheDir = dir } }

// WithForce rebuilds and reloads an image even when the engine has it.
func WithForce(force bool) BuildOption { return func(o *buildOptions) { o.force = force } }

// WithBuildLog narrates the build on log.
func WithBuildLog(log *slog.Logger) BuildOption { return func(o *buildOptions) { o.log = log } }

// withFetch replaces apt-get download (tests).
func withFetch(f func(ctx context.Context, pkg, dir string) (string, error)) BuildOption {
	return func(o *buildOptions) { o.fetch = f }
}

// ensureCacheDir defaults the cache directory (the user's cache
// directory, gameday/debs) and creates it.
func (o *buildOptions) ensureCacheDir() error {
	if o.cacheDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return errkind.E(errkind.Infra, fmt.Errorf("cache directory: %w", err))
		}
		o.cacheDir = filepath.Join(dir, "gameday", "debs")
	}
	if err := os.MkdirAll(o.cacheDir, 0o755); err != nil {
		return errkind.E(errkind.Infra, fmt.Errorf("cache directory: %w", err))
	}
	return nil
}

// BuildAppBase builds AppBaseImage from Debian's busybox-static package
// (apt-get download, no registry) and loads it into the engine: the
// static busybox with a link per applet in /bin, /tmp and an /etc/passwd.
// The package's digest is the image's InputsLabel, so a second build
// with the same package keeps the image.
func BuildAppBase(ctx context.Context, store Store, opts ...BuildOption) (Built, error) {
	o := buildOptions{log: slog.New(slog.DiscardHandler), fetch: aptDownload}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.ensureCacheDir(); err != nil {
		return Built{}, err
	}
	o.log.Info("downloading a Debian package", "package", busyboxPackage, "dir", o.cacheDir)
	deb, err := o.fetch(ctx, busyboxPackage, o.cacheDir)
	if err != nil {
		return Built{}, err
	}
	raw, err := os.ReadFile(deb)
	if err != nil {
		return Built{}, errkind.E(errkind.Infra, fmt.Errorf("read %s: %w", deb, err))
	}
	sum := sha256.Sum256(raw)
	inputs := "sha256:" + hex.EncodeToString(sum[:])
	from := busyboxPackage + " " + debVersion(deb)
	if !o.force {
		id, labels, err := store.Labels(ctx, AppBaseImage)
		if err != nil {
			return Built{}, errkind.E(errkind.Infra, err)
		}
		if id != "" && labels[InputsLabel] == inputs {
			o.log.Info("image is up to date", "image", AppBaseImage, "from", from)
			return Built{Ref: AppBaseImage, ID: id, Kept: true, From: from}, nil
		}
	}
	o.log.Info("building an image", "image", AppBaseImage, "from", from)
	busybox, err := debFile(ctx, deb, "./bin/busybox")
	if err != nil {
		return Built{}, err
	}
	applets, err := busyboxApplets(ctx, busybox)
	if err != nil {
		return Built{}, err
	}
	img, err := appBaseImage(busybox, applets, map[string]string{
		InputsLabel:                            inputs,
		"org.opencontainers.image.title":       "gameday app base",
		"org.opencontainers.image.description": "busybox from Debian's " + from + ", built offline by gameday",
	})
	if err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	if err := Load(ctx, store, AppBaseImage, img); err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	id, _, err := store.Labels(ctx, AppBaseImage)
	if err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	o.log.Info("image loaded into the Docker engine", "image", AppBaseImage, "id", id, "applets", len(applets))
	return Built{Ref: AppBaseImage, ID: id, From: from}, nil
}

// aptDownload fetches pkg's .deb for this host into dir with apt-get.
func aptDownload(ctx context.Context, pkg, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "apt-get", "download", pkg)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", errkind.Errorf(errkind.Infra, "apt-get download %s: %v: %s (the offline images are made of Debian packages: this needs a Debian or Ubuntu host whose apt sources are reachable; `apt-get update` first)",
			pkg, err, lastLine(string(out)))
	}
	debs, err := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if err != nil || len(debs) == 0 {
		return "", errkind.Errorf(errkind.Infra, "apt-get download %s left no .deb in %s", pkg, dir)
	}
	// Older versions may be cached beside it: the newest is the one just
	// downloaded.
	slices.SortFunc(debs, func(a, b string) int { return modTime(b).Compare(modTime(a)) })
	return debs[0], nil
}

func modTime(p string) time.Time {
	st, err := os.Stat(p)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// debVersion reads the version from a .deb's file name
// (busybox-static_1%3a1.35.0-4+deb12u1+b1_amd64.deb → 1:1.35.0-4+deb12u1+b1).
func debVersion(deb string) string {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(deb), ".deb"), "_")
	if len(parts) < 2 {
		return "?"
	}
	return strings.ReplaceAll(parts[1], "%3a", ":")
}

// debFile reads one file (by its path in the package's data, "./bin/x")
// out of a .deb with dpkg-deb.
func debFile(ctx context.Context, deb, path string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, errkind.E(errkind.Infra, fmt.Errorf("dpkg-deb: %w", err))
	}
	if err := cmd.Start(); err != nil {
		return nil, errkind.Errorf(errkind.Infra, "dpkg-deb (from Debian's dpkg) reads the package: %v", err)
	}
	var found []byte
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Name == path {
			if found, err = io.ReadAll(tr); err != nil {
				return nil, errkind.E(errkind.Infra, fmt.Errorf("read %s from %s: %w", path, deb, err))
			}
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return nil, errkind.Errorf(errkind.Infra, "dpkg-deb --fsys-tarfile %s: %v: %s", deb, err, strings.TrimSpace(stderr.String()))
	}
	if found == nil {
		return nil, errkind.Errorf(errkind.Infra, "%s has no %s", deb, path)
	}
	return found, nil
}

// busyboxApplets asks the binary for its applets.
func busyboxApplets(ctx context.Context, busybox []byte) ([]string, error) {
	dir, err := os.MkdirTemp("", "gameday-busybox-")
	if err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "busybox")
	if err := os.WriteFile(bin, busybox, 0o755); err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	out, err := exec.CommandContext(ctx, bin, "--list").Output()
	if err != nil {
		return nil, errkind.Errorf(errkind.Infra, "busybox --list: %v (the package is for %s/%s?)", err, runtime.GOOS, runtime.GOARCH)
	}
	applets := strings.Fields(string(out))
	if !slices.Contains(applets, "sh") {
		return nil, errkind.Errorf(errkind.Infra, "busybox --list names no sh: %q", lastLine(string(out)))
	}
	return applets, nil
}

// appBaseImage is one layer: /bin/busybox with a link per applet, /tmp
// and the two users a minimal image has.
func appBaseImage(busybox []byte, applets []string, labels map[string]string) (v1.Image, error) {
	epoch := time.Unix(0, 0)
	type entry struct {
		hdr  tar.Header
		body []byte
	}
	dir := func(name string, mode int64) entry {
		return entry{hdr: tar.Header{Name: name, Mode: mode, Typeflag: tar.TypeDir}}
	}
	file := func(name string, mode int64, body []byte) entry {
		return entry{hdr: tar.Header{Name: name, Mode: mode, Typeflag: tar.TypeReg}, body: body}
	}
	entries := []entry{
		dir("bin/", 0o755), dir("etc/", 0o755), dir("tmp/", 0o1777), dir("root/", 0o700),
		file("bin/busybox", 0o755, busybox),
		file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")),
		file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")),
	}
	for _, a := range applets {
		if a != "busybox" && !strings.ContainsAny(a, "/") {
			entries = append(entries, entry{hdr: tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}})
		}
	}
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, e := range entries {
		e.hdr.ModTime, e.hdr.Size = epoch, int64(len(e.body))
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return nil, fmt.Errorf("app base layer: %w", err)
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, fmt.Errorf("app base layer: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("app base layer: %w", err)
	}
	b := raw.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithCompressionLevel(gzip.BestCompression), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("app base layer: %w", err)
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "gameday: busybox-static from Debian, a link per applet"},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, fmt.Errorf("app base image: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("app base image: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = "linux", runtime.GOARCH, v1.Time{Time: epoch}
	cfg.Config.Env = []string{"PATH=/bin"}
	cfg.Config.Cmd = []string{"sh"}
	cfg.Config.Labels = labels
	return mutate.ConfigFile(img, cfg)
}

// Load writes img into the engine as ref, as `docker load` would.
func Load(ctx context.Context, store Store, ref string, img v1.Image) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("load %s: %w", ref, err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.Write(tag, img, pw)) }()
	err = store.Load(ctx, pr)
	_ = pr.CloseWithError(io.ErrClosedPipe) // unblock the writer if Load stopped reading early
	if err != nil {
		return fmt.Errorf("load %s into the Docker engine: %w", ref, err)
	}
	return nil
}
