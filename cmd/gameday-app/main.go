// Command gameday-app is gameday's application binary: the real executor
// of a behaviour spec, which the images gameday builds for the kind
// backend run. It reads its spec from $GAMEDAY_APP_SPEC (default
// /etc/gameday/app.json) and does what the spec describes until the
// spec's model says it exits. It serves HTTP on the spec's port (8080
// without one; $GAMEDAY_APP_PORT overrides it) on every interface, or on
// $GAMEDAY_APP_HOST when set (tests: 127.0.0.1). It writes no more than
// $GAMEDAY_APP_MAX_DISK bytes (default realapp.DefaultMaxDisk; 0: no
// bound).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/gameday-sre/gameday/infra/realapp"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

func main() {
	path := os.Getenv("GAMEDAY_APP_SPEC")
	if path == "" {
		path = "/etc/gameday/app.json"
	}
	app := behaviour.App{}
	if _, err := os.Stat(path); err == nil {
		if app, err = realapp.LoadSpec(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	maxDisk := int64(realapp.DefaultMaxDisk)
	if v := os.Getenv("GAMEDAY_APP_MAX_DISK"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "GAMEDAY_APP_MAX_DISK=%q: want a number of bytes, 0 for no bound\n", v)
			os.Exit(2)
		}
		maxDisk = n
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, os.Interrupt)
	done := make(chan struct{})
	go func() { <-term; close(done) }()
	os.Exit(realapp.Run(context.Background(), app, realapp.Options{
		Env: os.Environ(), Stdout: os.Stdout, Stderr: os.Stderr, Terminate: done, DataDir: os.TempDir(), MaxDisk: maxDisk,
	}))
}
