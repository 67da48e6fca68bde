// Package procgroup runs a child command in a process group of its own,
// tied to gameday's life, and stops the whole group: emulators and
// detector scripts fork helpers that must not outlive the run.
package procgroup

import (
	"os/exec"
	"syscall"
	"time"
)

// Group is a started command and its process group.
type Group struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start starts cmd as the leader of a new process group that the kernel
// kills if gameday dies.
func Start(cmd *exec.Cmd) (*Group, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &Group{cmd: cmd, done: make(chan struct{})}
	go func() {
		g.err = cmd.Wait()
		close(g.done)
	}()
	return g, nil
}

// Done is closed when the leader has exited.
func (g *Group) Done() <-chan struct{} { return g.done }

// Err is the leader's exit error; valid once Done is closed.
func (g *Group) Err() error { return g.err }

// Stop sends SIGTERM to the group, SIGKILL after grace, and waits for the
// leader to exit. It may be called more than once.
func (g *Group) Stop(grace time.Duration) {
	pid := g.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-g.done
	}
}
