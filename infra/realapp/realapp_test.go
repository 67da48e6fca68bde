package realapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gameday-sre/gameday/internal/ground/loopback"
	"github.com/gameday-sre/gameday/internal/testkit/apptest"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// client bounds each request: a hung app fails the test, not the suite.
var client = &http.Client{Timeout: 5 * time.Second}

// TestMain removes the app binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// appBinary builds cmd/gameday-app once, statically, as the images carry it.
func appBinary(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the app binary (skipped with -short)")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gameday-app-test-")
		if err != nil {
			buildErr = err
			return
		}
		binary, buildErr = apptest.Build(dir)
		if buildErr != nil {
			os.RemoveAll(dir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// app is a running app binary.
type app struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	port           int
	done           chan error
}

// start runs the app binary with spec, its environment env.
func start(t testing.TB, spec behaviour.App, env ...string) *app {
	t.Helper()
	bin := appBinary(t)
	dir := t.TempDir()
	b, _ := json.Marshal(spec)
	specFile := filepath.Join(dir, "app.json")
	if err := os.WriteFile(specFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{port: port, done: make(chan error, 1)}
	a.cmd = exec.Command(bin)
	a.cmd.Env = append([]string{"GAMEDAY_APP_SPEC=" + specFile, "GAMEDAY_APP_PORT=" + strconv.Itoa(port), "GAMEDAY_APP_HOST=127.0.0.1", "TMPDIR=" + dir}, env...)
	a.cmd.Stdout, a.cmd.Stderr = &a.stdout, &a.stderr
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.done <- a.cmd.Wait() }()
	t.Cleanup(func() { _ = a.cmd.Process.Kill() })
	return a
}

// get answers a path's HTTP status, waiting up to 10 s for the server.
func (a *app) get(t testing.TB, path string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", a.port, path))
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", path, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exitCode waits up to 30 s for the app to exit.
func (a *app) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-a.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("the app did not exit in 30 s\nstdout:\n%s\nstderr:\n%s", a.stdout.String(), a.stderr.String())
		return -1
	}
}

func i64(v int64) *int64 { return &v }

func TestBadConfigLogsAndExits(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "timeout_ms")
	if err := os.WriteFile(cfg, []byte("3s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := start(t, behaviour.App{Name: "checkout", Config: []behaviour.Input{{
		File: cfg, Required: true, Integer: true, Min: i64(1),
		OnInvalid: behaviour.Failure{Log: []string{"invalid TIMEOUT_MS {value}: want milliseconds"}, ExitCode: 3, After: 500 * time.Millisecond},
	}}})
	if code := a.exitCode(t); code != 3 {
		t.Errorf("exit %d, want 3", code)
	}
	if got := a.stderr.String(); got != "invalid TIMEOUT_MS 3s: want milliseconds\n" {
		t.Errorf("stderr %q", got)
	}
	if got := a.stdout.String(); got != "checkout starting\n" {
		t.Errorf("stdout %q", got)
	}
}

func TestWarmUpHealthAndDrain(t *testing.T) {
	a := start(t, behaviour.App{
		Startup:    behaviour.Startup{WarmUp: 1500 * time.Millisecond, Port: 8080, Readiness: "/ready", Liveness: "/healthz"},
		Shutdown:   behaviour.Shutdown{Drain: 500 * time.Millisecond, ExitCode: 0},
		RequestLog: "GET / 200 #%d", RequestLogEvery: 500 * time.Millisecond,
	})
	if got := a.get(t, "/ready"); got != http.StatusServiceUnavailable {
		t.Errorf("ready while warming up: %d", got)
	}
	deadline := time.Now().Add(15 * time.Second)
	for a.get(t, "/ready") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("never ready after its 1.5 s warm-up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := a.get(t, "/healthz"); got != http.StatusOK {
		t.Errorf("liveness once warm: %d", got)
	}
	time.Sleep(time.Second) // some request lines
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := a.exitCode(t); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	out := a.stdout.String()
	if !strings.HasPrefix(out, "app starting\n") || !strings.Contains(out, "GET / 200 #") || !strings.HasSuffix(out, "received SIGTERM, draining connections\n") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestDependencyGatesReadiness(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dep := ln.Addr().String()
	ln.Close() // nothing listens: the dependency is down
	a := start(t, behaviour.App{Startup: behaviour.Startup{Port: 8080, Readiness: "/ready"}, Needs: []behaviour.Dependency{{Service: dep}}})
	time.Sleep(500 * time.Millisecond)
	if got := a.get(t, "/ready"); got != http.StatusServiceUnavailable {
		t.Errorf("ready with its dependency down: %d", got)
	}
	ln, err = net.Listen("tcp", dep)
	if err != nil {
		t.Skipf("could not take the dependency's port back: %v", err)
	}
	defer ln.Close()
	deadline := time.Now().Add(15 * time.Second)
	for a.get(t, "/ready") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("not ready 15 s after its dependency came up\nstderr:\n%s", a.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cpuTime is the CPU time a process has used, from /proc.
func cpuTime(t testing.TB, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ 100
}

// fakeMachine drives a dutyCycle: each look at the CPU clock lets a
// spinning thread run for step of wall time and get share of it as CPU
// (share < 1 is a core the thread shares with others); sleeping only
// moves the wall clock.
type fakeMachine struct {
	share     float64
	step      time.Duration
	wall, cpu time.Duration
}

func (m *fakeMachine) cycle() dutyCycle {
	return dutyCycle{
		now: func() time.Time { return time.Unix(0, 0).Add(m.wall) },
		cpu: func() time.Duration {
			m.wall += m.step
			m.cpu += time.Duration(m.share * float64(m.step))
			return m.cpu
		},
		sleep: func(d time.Duration) { m.wall += d },
	}
}

// TestDutyCycle checks the CPU the duty cycle takes, in cores, over many
// slices: what the model gives while the machine has it, all the thread
// can get when it has less, and no more than one core.
func TestDutyCycle(t *testing.T) {
	cases := []struct {
		name       string
		millicores int64
		share      float64 // of a core the machine gives the thread
		want       float64 // cores used
	}{
		{name: "idle app on a free core", millicores: 100, share: 1, want: 0.10},
		{name: "busy app on a free core", millicores: 800, share: 1, want: 0.80},
		{name: "idle app on a shared core keeps its share", millicores: 100, share: 0.5, want: 0.10},
		{name: "busy app on a shared core takes what it gets", millicores: 800, share: 0.5, want: 0.50},
		{name: "starved app gives up a slice after two ticks", millicores: 800, share: 0.2, want: 0.20},
		{name: "no CPU", millicores: 0, share: 1, want: 0},
		{name: "negative is none", millicores: -5, share: 1, want: 0},
		{name: "more than a core is one core", millicores: 2500, share: 1, want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &fakeMachine{share: tc.share, step: 100 * time.Microsecond}
			d := m.cycle()
			for range 50 {
				d.slice(tc.millicores)
			}
			got := float64(m.cpu) / float64(m.wall)
			if got < tc.want-0.01 || got > tc.want+0.01 {
				t.Errorf("used %.3f of a core over %s, want %.2f", got, m.wall, tc.want)
			}
		})
	}
}

// BenchmarkCPUDutyCycle runs the real app binary with 100 and 800
// millicores and reports, as "cores", the CPU it really used per second
// of wall time (from /proc), beside the model's figure. On an idle
// machine the two agree; the figure belongs here, not in a timed test,
// because a loaded machine gives the app less than it asks for.
func BenchmarkCPUDutyCycle(b *testing.B) {
	for _, millicores := range []int64{100, 800} {
		b.Run(fmt.Sprintf("%dm", millicores), func(b *testing.B) {
			a := start(b, behaviour.App{Resources: behaviour.Resources{IdleCPU: millicores}})
			a.get(b, "/")
			pid := a.cmd.Process.Pid
			c0, t0 := cpuTime(b, pid), time.Now()
			b.ResetTimer()
			for range b.N {
				time.Sleep(time.Second)
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b, pid)-c0)/float64(time.Since(t0)), "cores")
			b.ReportMetric(float64(millicores)/1000, "model-cores")
		})
	}
}

// TestVariantWritesWhereItSays runs the app with and without the input
// value that selects a variant: with it, the app writes the variant's
// rate into the variant's directory.
func TestVariantWritesWhereItSays(t *testing.T) {
	tests := []struct {
		name     string
		level    string
		wantData bool
	}{
		{"debug selects the variant", "debug", true},
		{"info keeps the app's own behaviour", "info", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := t.TempDir()
			spec := behaviour.App{
				Name: "ingest",
				When: []behaviour.Variant{{Env: "LOG_LEVEL", Is: []string{"debug"},
					Resources: behaviour.Resources{DiskPerMinute: 120 << 20, DiskPath: logs}}},
			}
			a := start(t, spec, "LOG_LEVEL="+tt.level)
			data := filepath.Join(logs, "gameday-app.data")
			deadline := time.Now().Add(10 * time.Second)
			var size int64
			for time.Now().Before(deadline) {
				if fi, err := os.Stat(data); err == nil {
					size = fi.Size()
				}
				if size >= 1<<20 || (!tt.wantData && time.Now().After(deadline.Add(-7*time.Second))) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if got := size >= 1<<20; got != tt.wantData {
				t.Errorf("%s holds %d bytes; want data written: %v\nstderr:\n%s", data, size, tt.wantData, a.stderr.String())
			}
		})
	}
}

// TestDiskWritesBounded runs an app that writes 120 MiB a minute with
// GAMEDAY_APP_MAX_DISK at 3 MiB: it stops there and says so.
func TestDiskWritesBounded(t *testing.T) {
	logs := t.TempDir()
	spec := behaviour.App{Name: "ingest", Resources: behaviour.Resources{DiskPerMinute: 120 << 20, DiskPath: logs}}
	a := start(t, spec, "GAMEDAY_APP_MAX_DISK=3145728")
	data := filepath.Join(logs, "gameday-app.data")
	var size int64
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && size < 3<<20; time.Sleep(100 * time.Millisecond) {
		if fi, err := os.Stat(data); err == nil {
			size = fi.Size()
		}
	}
	time.Sleep(2 * time.Second) // 4 MiB more, unbounded
	if fi, err := os.Stat(data); err != nil {
		t.Error(err)
	} else if fi.Size() != 3<<20 {
		t.Errorf("%s holds %d bytes; want exactly 3 MiB", data, fi.Size())
	}
	if n := strings.Count(a.stderr.String(), "disk writes stop at 3145728 bytes"); n != 1 {
		t.Errorf("stderr says so %d times, want once:\n%s", n, a.stderr.String())
	}
}

func TestMaxDiskRejectsNonsense(t *testing.T) {
	a := start(t, behaviour.App{Name: "x"}, "GAMEDAY_APP_MAX_DISK=lots")
	if code := a.exitCode(t); code != 2 || !strings.Contains(a.stderr.String(), "GAMEDAY_APP_MAX_DISK") {
		t.Errorf("exit %d, stderr %q", code, a.stderr.String())
	}
}
