// Command gameday-pause is the pod sandbox ("pause") process of the kind
// node image gameday builds offline: it holds a pod's namespaces open,
// reaps the orphans that end up in its PID namespace, and exits when it
// is told to stop. It does what registry.k8s.io/pause does, built from
// this module instead of pulled.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if os.Getpid() != 1 {
		os.Stderr.WriteString("gameday-pause: warning: not PID 1\n")
	}
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap waits for every child that has exited, without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
