package kind

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gameday-sre/gameday/infra/dockerhost"
)

// Leftover is something a run that is no longer live left in Docker: a
// kind cluster or a labelled container (an AWS emulator).
type Leftover struct {
	// What is "kind cluster" or "container".
	What string
	// Name is the cluster's or the container's name.
	Name string
	// RunID is the run it belongs to.
	RunID string

	remove func(context.Context) error
}

// Remove deletes the leftover.
func (l Leftover) Remove(ctx context.Context) error { return l.remove(ctx) }

// ClusterLister lists and deletes kind clusters (kind's Provider).
type ClusterLister interface {
	List() ([]string, error)
	Delete(name, explicitKubeconfigPath string) error
}

// ContainerStore lists and removes labelled containers
// (dockerhost.Engine).
type ContainerStore interface {
	Labelled(ctx context.Context, label string) ([]dockerhost.Container, error)
	Remove(ctx context.Context, id string) error
}

// Leftovers lists the kind clusters named gameday-<run id> and the
// containers labelled with a run id whose run is not live, clusters
// first, each sorted by name.
func Leftovers(ctx context.Context, p ClusterLister, cs ContainerStore, live func(runID string) bool) ([]Leftover, error) {
	names, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("list kind clusters: %w", err)
	}
	sort.Strings(names)
	var out []Leftover
	for _, name := range names {
		id, ok := strings.CutPrefix(name, "gameday-")
		if !ok || id == "" || live(id) {
			continue
		}
		out = append(out, Leftover{What: "kind cluster", Name: name, RunID: id, remove: func(context.Context) error {
			if err := p.Delete(name, ""); err != nil {
				return fmt.Errorf("delete kind cluster %s: %w", name, err)
			}
			return nil
		}})
	}
	ctrs, err := cs.Labelled(ctx, RunIDLabel)
	if err != nil {
		return nil, err
	}
	sort.Slice(ctrs, func(i, j int) bool { return ctrs[i].Name < ctrs[j].Name })
	for _, c := range ctrs {
		id := c.Labels[RunIDLabel]
		if live(id) {
			continue
		}
		out = append(out, Leftover{What: "container", Name: c.Name, RunID: id, remove: func(ctx context.Context) error {
			return cs.Remove(ctx, c.ID)
		}})
	}
	return out, nil
}
