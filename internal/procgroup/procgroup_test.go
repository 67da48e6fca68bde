package procgroup

import (
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestStopKillsTheGroup(t *testing.T) {
	// The shell starts a background child, as moto starts workers.
	cmd := exec.Command("bash", "-c", "sleep 60 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	g, err := Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32)
	n, _ := out.Read(buf)
	child, err := strconv.Atoi(string(buf[:n-1]))
	if err != nil {
		t.Fatalf("child pid %q: %v", buf[:n], err)
	}
	g.Stop(2 * time.Second)
	select {
	case <-g.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	deadline := time.Now().Add(2 * time.Second)
	for alive(child) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if alive(child) {
		t.Errorf("child %d of the group survived Stop", child)
	}
	g.Stop(time.Second) // a second Stop returns at once
}

func TestStopEscalatesToKill(t *testing.T) {
	g, err := Start(exec.Command("bash", "-c", "trap '' TERM; sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the trap be set
	t0 := time.Now()
	g.Stop(300 * time.Millisecond)
	if d := time.Since(t0); d < 300*time.Millisecond {
		t.Errorf("stopped in %s although TERM is ignored", d)
	}
	if g.Err() == nil {
		t.Error("a killed process reports no exit error")
	}
}

func TestExitBeforeStop(t *testing.T) {
	g, err := Start(exec.Command("false"))
	if err != nil {
		t.Fatal(err)
	}
	<-g.Done()
	if g.Err() == nil {
		t.Error("false exited without error")
	}
	g.Stop(time.Second) // must not block once the leader is gone
}
