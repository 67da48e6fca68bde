// Command gameday runs Kubernetes and AWS incident game days.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gameday-sre/gameday/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
