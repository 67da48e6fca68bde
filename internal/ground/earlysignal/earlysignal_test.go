package earlysignal

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// TestSignalBeforeContext sends SIGINT to this process before Context is
// called, as a user's Ctrl-C while the control plane's packages
// initialise: the process survives, and the context is cancelled.
func TestSignalBeforeContext(t *testing.T) {
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // delivered, and held for later
	ctx, stop := Context(context.Background())
	defer stop()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("waiting for the early SIGINT to cancel the context: not within 10s")
	}
}
