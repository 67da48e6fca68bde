package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/gameday-sre/gameday/internal/errkind"
)

// preload loads the scenario's public images (everything not served by
// gameday's registry) from the local Docker engine into every worker, so
// that a host that has them (`docker pull`, or `docker load` offline)
// needs no internet; the nodes pull the others themselves. The ECR images
// are never loaded: their pulls are the incident.
func preload(ctx context.Context, engine imageSaver, workers []nodes.Node, images []string, ecrHost, dir string, log *slog.Logger) error {
	for _, img := range publicImages(images, ecrHost) {
		p := filepath.Join(dir, "preload.tar")
		if err := saveTo(ctx, engine, img, p); err != nil {
			log.Info("nodes will pull "+img+" from its registry (not in the local Docker engine)", "reason", err)
			continue
		}
		for _, n := range workers {
			if err := loadArchive(n, p); err != nil {
				_ = os.Remove(p)
				return errkind.E(errkind.Infra, fmt.Errorf("load %s into %s: %w", img, n, err))
			}
		}
		log.Info("loaded "+img+" from the local Docker engine into the nodes", "nodes", len(workers))
		if err := os.Remove(p); err != nil {
			return err
		}
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
