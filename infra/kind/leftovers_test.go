package kind

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gameday-sre/gameday/infra/dockerhost"
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
	if label != RunIDLabel {
		return nil, errors.New("unexpected label " + label)
	}
	return f.list, f.err
}
func (f *fakeContainers) Remove(_ context.Context, id string) error {
	f.removed = append(f.removed, id)
	return nil
}

func TestLeftovers(t *testing.T) {
	clusters := &fakeClusters{names: []string{"gameday-crashed", "kind", "gameday-live", "my-gameday-x", "gameday-"}}
	ctrs := &fakeContainers{list: []dockerhost.Container{
		{ID: "c2", Name: "moto-live", Labels: map[string]string{RunIDLabel: "live"}},
		{ID: "c1", Name: "moto-crashed", Labels: map[string]string{RunIDLabel: "crashed"}},
	}}
	live := func(id string) bool { return id == "live" }
	got, err := Leftovers(context.Background(), clusters, ctrs, live)
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, l := range got {
		desc = append(desc, l.What+" "+l.Name+" "+l.RunID)
	}
	want := []string{"kind cluster gameday-crashed crashed", "container moto-crashed crashed"}
	if !slices.Equal(desc, want) {
		t.Fatalf("leftovers = %q, want %q (not the live run's, not other people's clusters)", desc, want)
	}
	if len(clusters.deleted)+len(ctrs.removed) != 0 {
		t.Fatal("listing removed something")
	}
	for _, l := range got {
		if err := l.Remove(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(clusters.deleted, []string{"gameday-crashed"}) || !slices.Equal(ctrs.removed, []string{"c1"}) {
		t.Errorf("removed clusters %q, containers %q", clusters.deleted, ctrs.removed)
	}

	ctrs.err = errors.New("engine gone")
	if _, err := Leftovers(context.Background(), clusters, ctrs, live); err == nil || !strings.Contains(err.Error(), "engine gone") {
		t.Errorf("err = %v", err)
	}
}
