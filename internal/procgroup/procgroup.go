// Package procgroup runs a child command in a process group of its own,
// tied to gameday's life, and stops the whole group: emulators and
// detector scripts fork helpers that must not outlive the run.
package procgroup

import (
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

// guard leads the group: it runs the command ("$@") and waits for it,
// ignoring the group's SIGTERM and SIGINT itself (the command gets them,
// and Stop escalates to SIGKILL). Its background reader holds the read
// end of a pipe whose only write end is gameday's: when gameday exits,
// however it dies, the read returns and the whole group is killed. The
// leader's parent-death signal alone would miss the command's own
// children, such as the interpreter a pyenv shim forks, or a detector's
// background jobs.
const guard = `"$@" 3<&- <&0 &
c=$!
trap '' TERM INT
{ read -r _ <&3; kill -KILL 0; } &
exec 3<&-
wait "$c"`

// Start starts cmd in a new process group, led by a small shell (guard)
// that the kernel kills if gameday dies and that kills the group when
// gameday's end of its pipe closes. The group is also killed once the
// command has exited, so its leftover helpers do not linger.
func Start(cmd *exec.Cmd) (*Group, error) {
	if cmd.Err != nil {
		return nil, cmd.Err // the command was not found
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	args := append([]string{"-c", guard, "gameday-guard", cmd.Path}, cmd.Args[1:]...)
	wrapped := exec.Command("/bin/sh", args...)
	wrapped.Env, wrapped.Dir = cmd.Env, cmd.Dir
	wrapped.Stdin, wrapped.Stdout, wrapped.Stderr = cmd.Stdin, cmd.Stdout, cmd.Stderr
	wrapped.ExtraFiles = []*os.File{r}
	wrapped.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := wrapped.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	r.Close()
	cmd.Process = wrapped.Process
	g := &Group{cmd: wrapped, done: make(chan struct{})}
	go func() {
		g.err = wrapped.Wait()
		w.Close() // the guard kills what is left of the group
		close(g.done)
	}()
	return g, nil
}

// Pid is the process group's id (its leader's pid).
func (g *Group) Pid() int { return g.cmd.Process.Pid }

// Done is closed when the command has exited.
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
