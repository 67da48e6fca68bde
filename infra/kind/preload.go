package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// imageSource is the local Docker engine's image store.
type imageSource interface {
	imageSaver
	// Pull fetches an image from its registry into the store.
	Pull(ctx context.Context, ref string) error
}

// preload puts the scenario's public images (everything not served by
// gameday's registry) on every worker: from the local Docker engine when
// it has them or can pull them (so that an air-gapped host works after
// `docker load`); otherwise, when standIn is not nil, the image it builds
// under the same name. The ECR images are never loaded: their pulls are
// the incident.
func preload(ctx context.Context, engine imageSource, workers []nodes.Node, images []string, ecrHost, dir string, standIn func(ref string) (v1.Image, error), log *slog.Logger) error {
	for _, img := range publicImages(images, ecrHost) {
		p := filepath.Join(dir, "preload.tar")
		from := "the local Docker engine"
		err := saveTo(ctx, engine, img, p)
		if err != nil {
			if perr := engine.Pull(ctx, img); perr != nil {
				err = fmt.Errorf("not in the local Docker engine (%w), and %w", err, perr)
			} else {
				from = "its registry, through the local Docker engine"
				err = saveTo(ctx, engine, img, p)
			}
		}
		if err != nil {
			if standIn == nil {
				log.Info("nodes will pull "+img+" from its registry", "reason", err)
				continue
			}
			from = "gameday's stand-in"
			log.Warn(img+": nodes run gameday's stand-in under its name (gameday's app binary with the default behaviour, as on the embedded backend)", "reason", err)
			if err := writeStandIn(img, p, standIn); err != nil {
				return errkind.E(errkind.Infra, err)
			}
		}
		for _, n := range workers {
			if err := loadArchive(n, p); err != nil {
				_ = os.Remove(p)
				return errkind.E(errkind.Infra, fmt.Errorf("load %s into %s: %w", img, n, err))
			}
		}
		log.Info("loaded "+img+" into the nodes", "from", from, "nodes", len(workers))
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

// writeStandIn builds the stand-in for ref and writes it, tagged ref, to
// path in `docker save` form.
func writeStandIn(ref, path string, standIn func(string) (v1.Image, error)) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("stand-in for %s: %w", ref, err)
	}
	img, err := standIn(ref)
	if err != nil {
		return fmt.Errorf("stand-in for %s: %w", ref, err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return fmt.Errorf("stand-in for %s: %w", ref, err)
	}
	return nil
}

func saveTo(ctx context.Context, engine imageSaver, ref, path string) error {
	rc, err := engine.Save(ctx, ref)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, cerr := io.Copy(f, rc)
	return errors.Join(cerr, f.Close())
}

func loadArchive(n nodes.Node, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return nodeutils.LoadImageArchive(n, f)
}
