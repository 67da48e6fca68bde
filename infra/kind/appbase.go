package kind

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/images"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// AppBinaryEnv names gameday's app binary (cmd/gameday-app, static),
// which the scenario's images on kind run with their behaviour. Default:
// gameday-app next to the gameday executable, where `make build` puts it.
const AppBinaryEnv = "GAMEDAY_APP_BINARY"

// appBinary reads gameday's app binary.
func appBinary() ([]byte, error) {
	path := os.Getenv(AppBinaryEnv)
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, errkind.E(errkind.Infra, fmt.Errorf("find gameday's app binary: %w", err))
		}
		path = filepath.Join(filepath.Dir(exe), "gameday-app")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, errkind.Errorf(errkind.Invalid, "the scenario's images on kind run gameday's app binary, and %s cannot be read (%v): `make build` puts it next to gameday, or set %s", path, err, AppBinaryEnv)
	}
	return b, nil
}

// imageSaver reads images from the local Docker engine.
type imageSaver interface {
	Save(ctx context.Context, ref string) (io.ReadCloser, error)
}

// appBase gets the base image: from the local Docker engine if it has it
// (so that air-gapped hosts work after `docker load`), else from its
// registry for this machine's architecture. dir holds the saved copy.
func appBase(ctx context.Context, engine imageSaver, ref, dir string, opts ...remote.Option) (v1.Image, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return nil, errkind.Errorf(errkind.Invalid, "base image %q: %v", ref, err)
	}
	local, lerr := saved(ctx, engine, ref, dir)
	if lerr == nil {
		return local, nil
	}
	opts = append([]remote.Option{remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH})}, opts...)
	img, rerr := remote.Image(tag, opts...)
	if rerr == nil {
		return img, nil
	}
	how := fmt.Sprintf("run `docker pull %s` (or `docker load` it), or set GAMEDAY_APP_BASE_IMAGE", ref)
	if ref == images.AppBaseImage {
		how = fmt.Sprintf("gameday builds it offline: run `%s` (or `gameday images`)", dockerhost.BuildCommand)
	}
	return nil, errkind.Errorf(errkind.Infra,
		"the scenario's images need the base image %s on kind: not in the Docker engine (%v) and not pullable (%v); %s",
		ref, lerr, rerr, how)
}

// saved reads ref from the engine into dir and opens it.
func saved(ctx context.Context, engine imageSaver, ref, dir string) (v1.Image, error) {
	p := filepath.Join(dir, "app-base.tar")
	if err := saveTo(ctx, engine, ref, p); err != nil {
		return nil, err
	}
	img, err := tarball.ImageFromPath(p, nil) // the one image saved
	if err != nil {
		return nil, fmt.Errorf("read %s as saved by Docker: %w", ref, err)
	}
	if _, err := img.ConfigFile(); err != nil { // fail here, not at push time
		return nil, fmt.Errorf("read %s as saved by Docker: %w", ref, err)
	}
	return img, nil
}
