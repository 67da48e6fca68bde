package cli

import (
	"context"
	"os"
	"testing"

	"github.com/gameday-sre/gameday/internal/ground/earlysignal"
)

// TestMain lets tests run this test binary as the gameday command: with
// GAMEDAY_CLI_MAIN=1 it behaves like cmd/gameday's main, which catches
// interrupts from its first moments (earlysignal) too.
func TestMain(m *testing.M) {
	if os.Getenv("GAMEDAY_CLI_MAIN") == "1" {
		ctx, stop := earlysignal.Context(context.Background())
		code := Run(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
