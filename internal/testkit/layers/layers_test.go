package layers

import (
	"slices"
	"testing"
)

// TestHouse checks gameday itself: no package imports a layer above its
// own, production code imports no test kit, and every folder has a layer.
func TestHouse(t *testing.T) {
	vs, err := Check("../../..", "github.com/gameday-sre/gameday")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Error(v)
	}
}

// TestCheckCatches runs the check on a fixture tree with deliberate
// breaches, so that TestHouse passing means something.
func TestCheckCatches(t *testing.T) {
	vs, err := Check("testdata/fixture", "example.com/m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.String())
	}
	want := []string{
		"internal/ground/clock/clock.go: imports runner: layer ground imports from game, which is above it",
		"runner/runner.go: imports internal/testkit/kit: only tests import apart (internal/testkit)",
		"stray/stray.go: its folder stray is in no layer: add it to layers.Order or layers.Apart",
		"verify: imports scenarios -> k8s.io/api/core/v1: a pure package reaches Kubernetes code",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\n got %q\nwant %q", got, want)
	}
}

func TestPlace(t *testing.T) {
	tests := []struct {
		name, dir, layer string
	}{
		{"top-level game folder", "runner", "game"},
		{"nested domain folder", "scenarios/behaviour", "domain"},
		{"longest folder wins", "internal/app/cli", "app"},
		{"ground helper", "internal/ground/errkind", "ground"},
		{"test kit", "internal/testkit/golden", "apart (internal/testkit)"},
		{"prefix is not a folder", "runnerx", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := place(tt.dir)
			if got := map[bool]string{true: p.layer, false: ""}[ok]; got != tt.layer {
				t.Errorf("place(%q) = %q, want %q", tt.dir, got, tt.layer)
			}
		})
	}
}
