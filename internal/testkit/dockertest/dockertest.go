// Package dockertest skips tests that need a Docker engine, saying why,
// on machines without one or without the images they need. Such tests
// never pass by pretending.
package dockertest

import (
	"context"
	"strings"
	"testing"

	"github.com/gameday-sre/gameday/infra/dockerhost"
)

// HowToLoad says how to bring an image into an engine that cannot pull:
// the README's offline recipe.
const HowToLoad = "on a host that can pull: docker pull IMAGE && docker save IMAGE -o images.tar; here: docker load -i images.tar (README: \"Offline and air-gapped use\")"

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

// RequireImages skips t unless a Docker engine answers and its image
// store already holds every one of images: a machine whose engine cannot
// pull would otherwise fail on the first pull. The skip names each
// missing image and how to get it (how; HowToLoad when empty). An engine
// that answers but cannot be asked about images fails t.
func RequireImages(t testing.TB, how string, images ...string) {
	t.Helper()
	Require(t)
	missing, err := missingImages(context.Background(), images)
	if err != nil {
		t.Fatalf("ask the Docker engine for images: %v", err)
	}
	if msg := SkipMessage(missing, how); msg != "" {
		t.Skip(msg)
	}
}

func missingImages(ctx context.Context, images []string) ([]string, error) {
	eng, err := dockerhost.Connect()
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return eng.Missing(ctx, images...)
}

// SkipMessage says which images are missing and how to get them (how;
// HowToLoad when empty), or "" when none is. gameday's own images
// (dockerhost.BuiltHere) are built by dockerhost.BuildCommand, whatever
// how says.
func SkipMessage(missing []string, how string) string {
	if len(missing) == 0 {
		return ""
	}
	if how == "" {
		how = HowToLoad
	}
	var ours, others []string
	for _, m := range missing {
		if how == dockerhost.BuildCommand || strings.HasPrefix(m, dockerhost.BuiltHere) {
			ours = append(ours, m)
		} else {
			others = append(others, m)
		}
	}
	var ways []string
	if len(ours) > 0 {
		ways = append(ways, dockerhost.BuildCommand+" builds "+strings.Join(ours, ", "))
	}
	if len(others) > 0 {
		ways = append(ways, how)
	}
	return "skipped: the Docker engine lacks " + strings.Join(missing, ", ") + " (tests pull nothing); get them: " + strings.Join(ways, "; ")
}
