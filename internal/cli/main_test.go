package cli

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// TestMain lets tests run this test binary as the gameday command: with
// GAMEDAY_CLI_MAIN=1 it behaves like cmd/gameday's main.
func TestMain(m *testing.M) {
	if os.Getenv("GAMEDAY_CLI_MAIN") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := Run(ctx, os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
