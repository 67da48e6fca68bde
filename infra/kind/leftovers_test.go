package kind

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/internal/domain/eks"
)

type fakeClusters struct {
	names   []string
	deleted []string
}

func (f *fakeClusters) List() ([]string, error) { return f.names, nil }
func (f *fakeClusters) Delete(name, _ string) error {
	f.deleted = append(f.deleted, name)
	return nil
}

type fakeContainers struct {
	list    []dockerhost.Container
	removed []string
	err     error
}

func (f *fakeContainers) Labelled(_ context.Context, label string) ([]dockerhost.Container, error) {
	if label != eks.RunIDLabel {
		return nil, errors.New("unexpected label " + label)
	}
	return f.list, f.err
}
func (f *fakeContainers) Remove(_ context.Context, id string) error {
	f.removed = append(f.removed, id)
	return nil
}

func TestLeftovers(t *testing.T) {
	state := func(id string) RunState {
		switch id {
		case "live":
			return RunLive
		case "crashed":
			return RunDead
		}
		return RunUnknown
	}
	newFakes := func() (*fakeClusters, *fakeContainers) {
		return &fakeClusters{names: []string{"gameday-crashed", "kind", "gameday-live", "my-gameday-x", "gameday-", "gameday-elsewhere"}},
			&fakeContainers{list: []dockerhost.Container{
				{ID: "c2", Name: "moto-live", Labels: map[string]string{eks.RunIDLabel: "live"}},
				{ID: "c1", Name: "moto-crashed", Labels: map[string]string{eks.RunIDLabel: "crashed"}},
				{ID: "c3", Name: "moto-elsewhere", Labels: map[string]string{eks.RunIDLabel: "elsewhere"}},
			}}
	}
	describe := func(ls []Leftover) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.What+" "+l.Name+" "+l.RunID)
		}
		return out
	}
	tests := []struct {
		name         string
		all          bool
		remove, kept []string
		deleted      []string
		removed      []string
	}{
		{
			name:    "dead runs only",
			remove:  []string{"kind cluster gameday-crashed crashed", "container moto-crashed crashed"},
			kept:    []string{"kind cluster gameday-elsewhere elsewhere", "container moto-elsewhere elsewhere"},
			deleted: []string{"gameday-crashed"}, removed: []string{"c1"},
		},
		{
			name: "all: unknown runs too",
			all:  true,
			remove: []string{"kind cluster gameday-crashed crashed", "kind cluster gameday-elsewhere elsewhere",
				"container moto-crashed crashed", "container moto-elsewhere elsewhere"},
			deleted: []string{"gameday-crashed", "gameday-elsewhere"}, removed: []string{"c1", "c3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clusters, ctrs := newFakes()
			remove, kept, err := Leftovers(context.Background(), clusters, ctrs, state, tt.all)
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(remove); !slices.Equal(got, tt.remove) {
				t.Errorf("remove = %q, want %q", got, tt.remove)
			}
			if got := describe(kept); !slices.Equal(got, tt.kept) {
				t.Errorf("kept = %q, want %q", got, tt.kept)
			}
			if len(clusters.deleted)+len(ctrs.removed) != 0 {
				t.Fatal("listing removed something")
			}
			for _, l := range remove {
				if err := l.Remove(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(clusters.deleted, tt.deleted) || !slices.Equal(ctrs.removed, tt.removed) {
				t.Errorf("removed clusters %q, containers %q", clusters.deleted, ctrs.removed)
			}
		})
	}
	clusters, ctrs := newFakes()
	ctrs.err = errors.New("engine gone")
	if _, _, err := Leftovers(context.Background(), clusters, ctrs, state, false); err == nil || !strings.Contains(err.Error(), "engine gone") {
		t.Errorf("err = %v", err)
	}
}
