// Package dockertest skips tests that need a Docker engine, saying why,
// on machines without one. Such tests never pass by pretending.
package dockertest

import (
	"context"
	"testing"

	"github.com/gameday-sre/gameday/infra/dockerhost"
)

// Require skips t unless a Docker engine answers. -short skips too.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("Docker test (skipped with -short)")
	}
	if err := dockerhost.Check(context.Background()); err != nil {
		t.Skipf("skipped: no Docker engine: %v", err)
	}
}
