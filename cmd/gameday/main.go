// Command gameday runs Kubernetes and AWS incident game days.
package main

import (
	"context"
	"os"

	"github.com/gameday-sre/gameday/internal/app/cli"
	"github.com/gameday-sre/gameday/internal/ground/earlysignal"
)

func main() {
	ctx, stop := earlysignal.Context(context.Background())
	code := cli.Run(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
