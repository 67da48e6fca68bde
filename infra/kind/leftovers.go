package kind

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/internal/domain/eks"
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

// RunState is what a GAMEDAY_HOME knows of a run.
type RunState int

// Run states.
const (
	// RunUnknown: no run directory of that id here (another
	// GAMEDAY_HOME's run, or one whose directory was removed).
	RunUnknown RunState = iota
	// RunLive: its gameday process is running.
	RunLive
	// RunDead: its directory is here and its process is gone.
	RunDead
)

// Leftovers lists the kind clusters named gameday-<run id> and the
// containers labelled with a run id whose run is dead, clusters first,
// each sorted by name. Those of unknown runs are listed too when all is
// set, and returned apart (kept) otherwise; live runs' are never listed.
func Leftovers(ctx context.Context, p ClusterLister, cs ContainerStore, state func(runID string) RunState, all bool) (remove, kept []Leftover, err error) {
	add := func(l Leftover) {
		switch state(l.RunID) {
		case RunDead:
			remove = append(remove, l)
		case RunUnknown:
			if all {
				remove = append(remove, l)
			} else {
				kept = append(kept, l)
			}
		}
	}
	names, err := p.List()
	if err != nil {
		return nil, nil, fmt.Errorf("list kind clusters: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		id, ok := strings.CutPrefix(name, "gameday-")
		if !ok || id == "" {
			continue
		}
		add(Leftover{What: "kind cluster", Name: name, RunID: id, remove: func(context.Context) error {
			if err := p.Delete(name, ""); err != nil {
				return fmt.Errorf("delete kind cluster %s: %w", name, err)
			}
			return nil
		}})
	}
	ctrs, err := cs.Labelled(ctx, eks.RunIDLabel)
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(ctrs, func(i, j int) bool { return ctrs[i].Name < ctrs[j].Name })
	for _, c := range ctrs {
		add(Leftover{What: "container", Name: c.Name, RunID: c.Labels[eks.RunIDLabel], remove: func(ctx context.Context) error {
			return cs.Remove(ctx, c.ID)
		}})
	}
	return remove, kept, nil
}
