// Package earlysignal catches SIGINT and SIGTERM from the first moments
// of the process. main imports it: packages initialise in import-path
// order as soon as their imports have, so its init runs before the
// control plane's packages spend their second or so registering
// schemes. An interrupt in that second is then not lost (nor fatal, as
// the default action would make it): the command starts, sees it, and
// exits as for any interrupt.
package earlysignal

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// caught receives the signals from init on.
var caught = make(chan os.Signal, 1)

func init() { signal.Notify(caught, os.Interrupt, syscall.SIGTERM) }

// Context returns a context that is cancelled by the first SIGINT or
// SIGTERM since the process started (one caught before the call included),
// and a stop function that releases it.
func Context(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	go func() {
		select {
		case <-caught:
			cancel()
		case <-done:
		}
	}()
	return ctx, func() {
		close(done)
		signal.Stop(caught)
		cancel()
	}
}
