package ecr

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// created is the fixed creation time of built images, so that the same
// repository and tag always give the same digest.
var created = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// BuildOption configures BuildImage.
type BuildOption func(*buildOptions)

type buildOptions struct {
	base v1.Image
	app  []byte // gameday's app binary (cmd/gameday-app), static
	spec []byte // the image's behaviour, JSON
}

// AppBinaryPath and AppSpecPath are where an image built WithApp carries
// gameday's app binary and its behaviour spec.
const (
	AppBinaryPath = "/app/gameday-app"
	AppSpecPath   = "/etc/gameday/app.json"
)

// WithApp makes images built WithBase run gameday's app binary (the real
// executor of a behaviour, cmd/gameday-app, built static) instead of the
// stand-in script: the image carries the binary and its behaviour
// (WithSpec; none is the default behaviour), and its entrypoint runs it.
func WithApp(binary []byte) BuildOption {
	return func(o *buildOptions) { o.app = binary }
}

// WithSpec is the image's behaviour, as JSON (a behaviour.App), for
// images built WithApp.
func WithSpec(spec []byte) BuildOption {
	return func(o *buildOptions) { o.spec = spec }
}

// WithBase builds on base, an image with a POSIX shell and busybox's
// httpd (busybox itself), so that the image really runs: its entrypoint
// logs a start-up line and serves HTTP on :8080 (/ and /healthz). A
// backend whose nodes run containers (kind) needs it; without it the
// image is only pulled, never run.
func WithBase(base v1.Image) BuildOption {
	return func(o *buildOptions) { o.base = base }
}

// AppScript is the entrypoint of an image built WithBase.
func AppScript(app, tag string) string {
	return fmt.Sprintf(`#!/bin/sh
# %[1]s %[2]s, built by gameday: logs like a service and serves HTTP on :8080.
www="${GAMEDAY_WWW:-/tmp/www}"
mkdir -p "$www"
echo "%[1]s %[2]s" > "$www/index.html"
echo ok > "$www/healthz"
echo "$(date -u +%%Y-%%m-%%dT%%H:%%M:%%SZ) level=info msg=\"%[1]s %[2]s starting\" addr=:8080"
exec httpd -f -v -p 8080 -h "$www"
`, app, tag)
}

// BuildImage builds a small OCI image for repository:tag with the given
// number of real layers: a base layer with /etc/os-release and an
// application layer with the app binary's stand-in and its version. The
// result is deterministic. With WithBase, the layers go on top of the
// base's and the entrypoint is AppScript, or gameday's app binary
// (WithApp).
func BuildImage(repository, tag string, layers int, opts ...BuildOption) (v1.Image, error) {
	var o buildOptions
	for _, opt := range opts {
		opt(&o)
	}
	if layers < 1 {
		layers = 1
	}
	app := path.Base(repository)
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	arch, env := "amd64", []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if o.base != nil {
		baseLayers, err := o.base.Layers()
		if err != nil {
			return nil, fmt.Errorf("build %s:%s: base layers: %w", repository, tag, err)
		}
		baseCfg, err := o.base.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("build %s:%s: base config: %w", repository, tag, err)
		}
		arch = baseCfg.Architecture
		if len(baseCfg.Config.Env) > 0 {
			env = slices.Clone(baseCfg.Config.Env)
		}
		var history []v1.History // one per layer: empty-layer entries have none
		for _, h := range baseCfg.History {
			if !h.EmptyLayer {
				history = append(history, h)
			}
		}
		for i, l := range baseLayers {
			var h v1.History
			if i < len(history) {
				h = history[i]
			}
			if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: h, MediaType: types.OCILayer}); err != nil {
				return nil, fmt.Errorf("build %s:%s: %w", repository, tag, err)
			}
		}
	}
	var adds []mutate.Addendum
	for i := range layers {
		files := map[string]string{}
		switch {
		case i == 0 && o.base == nil:
			files["etc/os-release"] = "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\n"
		case i == layers-1 && o.base != nil && o.app != nil:
			files[strings.TrimPrefix(AppBinaryPath, "/")] = string(o.app)
			spec := o.spec
			if len(spec) == 0 {
				spec = []byte("{}")
			}
			files[strings.TrimPrefix(AppSpecPath, "/")] = string(spec)
			files["app/VERSION"] = tag + "\n"
		case i == layers-1 && o.base != nil:
			files["app/"+app] = AppScript(app, tag)
			files["app/VERSION"] = tag + "\n"
		case i == layers-1:
			files["app/"+app] = fmt.Sprintf("#!/bin/sh\n# %s %s\nexec /app/%s-server \"$@\"\n", app, tag, app)
			files["app/VERSION"] = tag + "\n"
		default:
			files[fmt.Sprintf("usr/lib/%s/deps-%d.txt", app, i)] = strings.Repeat(fmt.Sprintf("%s dependency layer %d\n", app, i), 64)
		}
		// Incompressible filler gives layers realistic sizes: a 2 MiB base,
		// 1 MiB per dependency layer, 512 KiB of application.
		size := 1 << 20
		switch {
		case i == 0:
			size = 2 << 20
		case i == layers-1:
			size = 512 << 10
		}
		files[fmt.Sprintf("usr/share/%s/blob-%d.bin", app, i)] = filler(fmt.Sprintf("%s:%s:%d", repository, tag, i), size)
		layer, err := tarLayer(files)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{
			Layer:     layer,
			History:   v1.History{Created: v1.Time{Time: created}, CreatedBy: fmt.Sprintf("layer %d of %s:%s", i+1, repository, tag)},
			MediaType: types.OCILayer,
		})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("build %s:%s: %w", repository, tag, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS, cfg.Created = arch, "linux", v1.Time{Time: created}
	cfg.Config.Entrypoint = []string{"/app/" + app}
	if o.base != nil && o.app != nil {
		cfg.Config.Entrypoint = []string{AppBinaryPath}
	}
	cfg.Config.Env = append(env, "APP_VERSION="+tag)
	cfg.Config.Labels = map[string]string{"org.opencontainers.image.version": tag, "org.opencontainers.image.title": app}
	cfg.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}}
	return mutate.ConfigFile(img, cfg)
}

// filler returns n pseudo-random bytes determined by seed.
func filler(seed string, n int) string {
	h := fnv.New64a()
	h.Write([]byte(seed))
	r := rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return string(b)
}

// tarLayer is a gzipped layer of files. The layer's DiffID is the digest
// of the tar itself, as container runtimes check when they unpack it.
func tarLayer(files map[string]string) (v1.Layer, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		body := files[n]
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o755, Size: int64(len(body)), ModTime: created, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := raw.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithMediaType(types.OCILayer))
}

// Push writes img to the registry as repository:tag and returns its raw
// manifest and digest (for ECR PutImage).
func (s *Server) Push(ctx context.Context, repository, tag string, img v1.Image) (manifest []byte, digest string, err error) {
	ref, err := name.ParseReference(strings.TrimPrefix(s.URL, "http://")+"/"+repository+":"+tag, name.Insecure)
	if err != nil {
		return nil, "", fmt.Errorf("push %s:%s: %w", repository, tag, err)
	}
	auth := &authn.Basic{Username: s.pushUser, Password: s.pushPassword}
	if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuth(auth), remote.WithTransport(http.DefaultTransport)); err != nil {
		return nil, "", fmt.Errorf("push %s:%s: %w", repository, tag, err)
	}
	m, err := img.RawManifest()
	if err != nil {
		return nil, "", err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, "", err
	}
	return m, d.String(), nil
}

// Delete removes a tag from the registry.
func (s *Server) Delete(ctx context.Context, repository, tag string) error {
	ref, err := name.ParseReference(strings.TrimPrefix(s.URL, "http://")+"/"+repository+":"+tag, name.Insecure)
	if err != nil {
		return err
	}
	auth := &authn.Basic{Username: s.pushUser, Password: s.pushPassword}
	if err := remote.Delete(ref, remote.WithContext(ctx), remote.WithAuth(auth)); err != nil {
		return fmt.Errorf("delete %s:%s: %w", repository, tag, err)
	}
	return nil
}
