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
	pgid int
	done chan struct{}
	err  error
}

// guardScript is the process group's leader, started before the command:
// it holds the read end of a pipe whose only write end is gameday's, and
// when that closes (gameday exited, however it died, or the command has
// ended) it kills the whole group, itself last. The command's
// parent-death signal alone would miss the command's own children, such
// as the interpreter a pyenv shim forks, or a detector's background
// jobs. Starting the guard first leaves no moment in which the command
// runs unguarded: a gameday killed between the two starts would
// otherwise leave the command's children behind. The guard ignores the
// SIGTERM that Stop sends the group, so that helpers that ignore it too
// are still killed once the command has exited.
const guardScript = `trap '' TERM INT HUP; read -r _ <&3; kill -KILL 0`

// Start starts cmd in a new process group that dies with gameday: the
// group's guard kills every member when gameday dies, and the kernel
// kills the command itself too (parent-death signal). Once the command
// has exited, its leftover helpers are killed.
func Start(cmd *exec.Cmd) (*Group, error) {
	w, guard, guardDone, err := startGuard()
	if err != nil {
		return nil, fmt.Errorf("guard process group: %w", err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: guard, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		w.Close()
		<-guardDone
		return nil, err
	}
	g := &Group{cmd: cmd, pgid: guard, done: make(chan struct{})}
	go func() {
		g.err = cmd.Wait()
		w.Close() // the guard kills what is left of the group, itself last
		select {
		case <-guardDone:
		case <-time.After(2 * time.Second):
			_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
			<-guardDone
		}
		close(g.done)
	}()
	return g, nil
}

// startGuard starts guardScript as the leader of a new process group and
// returns the pipe end whose closing sets it off, the group's id, and a
// channel closed once the guard has exited. The guard has no
// parent-death signal: gameday's death is what it waits for.
func startGuard() (*os.File, int, <-chan struct{}, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, 0, nil, err
	}
	defer r.Close()
	guard := exec.Command("/bin/sh", "-c", guardScript)
	guard.ExtraFiles = []*os.File{r}
	guard.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := guard.Start(); err != nil {
		w.Close()
		return nil, 0, nil, err
	}
	done := make(chan struct{})
	go func() { _ = guard.Wait(); close(done) }()
	return w, guard.Process.Pid, done, nil
}

// Pid is the process group's id (its guard's pid).
func (g *Group) Pid() int { return g.pgid }

// Done is closed when the command has exited and the rest of its group,
// the guard included, is gone.
func (g *Group) Done() <-chan struct{} { return g.done }

// Err is the command's exit error; valid once Done is closed.
func (g *Group) Err() error { return g.err }

// Stop sends SIGTERM to the group, SIGKILL after grace, and waits for the
// command to exit. It may be called more than once.
func (g *Group) Stop(grace time.Duration) {
	_ = syscall.Kill(-g.pgid, syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(grace):
		_ = syscall.Kill(-g.pgid, syscall.SIGKILL)
		<-g.done
	}
}
