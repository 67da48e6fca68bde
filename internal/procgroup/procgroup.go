// Package procgroup runs a child command in a process group of its own,
// tied to gameday's life, and stops the whole group: emulators and
// detector scripts fork helpers that must not outlive the run.
package procgroup

import (
	"fmt"
	"os"
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

// guardScript is a tiny member of the group, beside the command: it
// holds the read end of a pipe whose only write end is gameday's, and
// when that closes (gameday exited, however it died, or the command has
// ended) it kills the whole group. The command's parent-death signal
// alone would miss the command's own children, such as the interpreter a
// pyenv shim forks, or a detector's background jobs.
const guardScript = `read -r _ <&3; kill -KILL 0`

// Start starts cmd as the leader of a new process group that dies with
// gameday: the kernel kills the leader if gameday dies, and a guard in
// the group kills the rest. Once the command has exited, its leftover
// helpers are killed too.
func Start(cmd *exec.Cmd) (*Group, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w, guardDone, err := startGuard(cmd.Process.Pid)
	if err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, fmt.Errorf("guard process group: %w", err)
	}
	g := &Group{cmd: cmd, done: make(chan struct{})}
	go func() {
		g.err = cmd.Wait()
		w.Close() // the guard kills what is left of the group, itself last
		select {
		case <-guardDone:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-guardDone
		}
		close(g.done)
	}()
	return g, nil
}

// startGuard starts guardScript in process group pgid and returns the
// pipe end whose closing sets it off, and a channel closed once the guard
// has exited.
func startGuard(pgid int) (*os.File, <-chan struct{}, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	guard := exec.Command("/bin/sh", "-c", guardScript)
	guard.ExtraFiles = []*os.File{r}
	guard.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
	if err := guard.Start(); err != nil {
		w.Close()
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() { _ = guard.Wait(); close(done) }()
	return w, done, nil
}

// Pid is the process group's id (its leader's pid).
func (g *Group) Pid() int { return g.cmd.Process.Pid }

// Done is closed when the command has exited and the rest of its group,
// the guard included, is gone.
func (g *Group) Done() <-chan struct{} { return g.done }

// Err is the command's exit error; valid once Done is closed.
func (g *Group) Err() error { return g.err }

// Stop sends SIGTERM to the group, SIGKILL after grace, and waits for the
// command to exit. It may be called more than once.
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
