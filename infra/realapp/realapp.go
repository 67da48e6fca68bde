// Package realapp is the real executor of a behaviour spec
// (scenarios/behaviour): the program gameday puts in the application
// images that really run (on kind). It reads the same description the
// simulated runtime executes, and really does it: it reads its
// environment and mounted files, writes the log lines, serves the health
// endpoints on its port, burns CPU on a duty cycle, holds the memory,
// writes to disk, drains on SIGTERM and exits with the model's code. What
// it does when is decided by behaviour.App.Run, never here.
package realapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// DefaultPort is where an app with no declared port answers.
const DefaultPort = 8080

// DefaultMaxDisk is the app binary's bound on what it writes, unless
// GAMEDAY_APP_MAX_DISK says otherwise: enough for a pod to outgrow an
// emptyDir sizeLimit or an ephemeral-storage limit, far from filling a
// host's disk. Node-wide disk pressure is the embedded backend's.
const DefaultMaxDisk = 1 << 30

// tick is how often the app recomputes its state.
const tick = 100 * time.Millisecond

// Options are what the executor takes from its process.
type Options struct {
	// Env is the environment (os.Environ form).
	Env []string
	// Stdout and Stderr receive the log lines.
	Stdout, Stderr io.Writer
	// Terminate delivers SIGTERM.
	Terminate <-chan struct{}
	// DataDir is where disk writes go when the spec names no path.
	DataDir string
	// MaxDisk bounds what the app writes in all, in bytes; 0 means no
	// bound. On kind a node's disk is the Docker host's own, so the app
	// binary sets one (see DefaultMaxDisk).
	MaxDisk int64
	// Dial checks a dependency (host:port); default a TCP dial.
	Dial func(ctx context.Context, addr string) error
}

// LoadSpec reads an App spec (JSON) from path.
func LoadSpec(path string) (behaviour.App, error) {
	var a behaviour.App
	b, err := os.ReadFile(path)
	if err != nil {
		return a, fmt.Errorf("read app spec: %w", err)
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("app spec %s: %w", path, err)
	}
	if p := a.Validate(); len(p) > 0 {
		return a, fmt.Errorf("app spec %s: %v", path, p)
	}
	return a, nil
}

// Run executes app until the model says it exits, and returns the exit
// code.
func Run(ctx context.Context, app behaviour.App, o Options) int {
	if o.Dial == nil {
		o.Dial = func(ctx context.Context, addr string) error {
			c, err := (&net.Dialer{Timeout: 300 * time.Millisecond}).DialContext(ctx, "tcp", addr)
			if err == nil {
				c.Close()
			}
			return err
		}
	}
	in := inputs(app, o.Env)
	x := &executor{app: app.Under(in), o: o, start: time.Now(), in: in}
	return x.run(ctx)
}

// inputs reads the app's configuration from its environment and files.
func inputs(app behaviour.App, environ []string) behaviour.Inputs {
	in := behaviour.Inputs{Env: map[string]string{}, Files: map[string]string{}}
	for _, kv := range environ {
		if k, v, ok := cutEq(kv); ok {
			in.Env[k] = v
		}
	}
	for _, file := range app.Files() {
		if b, err := os.ReadFile(file); err == nil {
			in.Files[file] = string(b)
		}
	}
	return in
}

func cutEq(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return "", "", false
}

type executor struct {
	app   behaviour.App
	o     Options
	start time.Time
	in    behaviour.Inputs

	mu       sync.Mutex
	state    behaviour.State
	up       map[string]int // dependency → 1 when it answers
	requests atomic.Int64   // requests served since the last tick
	load     float64

	cpu    atomic.Int64 // millicores to burn
	memory [][]byte
	disk   int64
}

func (x *executor) run(ctx context.Context) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	x.up = map[string]int{}
	x.checkDependencies(ctx)
	x.in.ReadyEndpoints = x.endpoints
	srv, err := x.serve()
	if err != nil {
		fmt.Fprintf(x.o.Stderr, "listen: %v\n", err)
		return 1
	}
	defer srv.Close()
	go x.burn(ctx)
	go func() {
		for ctx.Err() == nil {
			x.checkDependencies(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}()
	prev := time.Duration(-1)
	t := time.NewTicker(tick)
	defer t.Stop()
	var reqAt time.Duration
	term := x.o.Terminate // nil once SIGTERM is noted
	for {
		now := time.Since(x.start)
		select {
		case <-term:
			x.in.TermAt, term = max(now, time.Nanosecond), nil
		default:
		}
		if now-reqAt >= time.Second {
			x.load = float64(x.requests.Swap(0)) / (now - reqAt).Seconds()
			reqAt = now
		}
		x.in.Load = x.load
		lines, st := x.app.Run(x.in, prev, now) // reads endpoints, which locks
		x.mu.Lock()
		x.state = st
		x.mu.Unlock()
		prev = now
		for _, l := range lines {
			w := x.o.Stdout
			if l.Stream == behaviour.Stderr {
				w = x.o.Stderr
			}
			fmt.Fprintln(w, l.Text)
		}
		if st.Exit != nil {
			return st.Exit.Code
		}
		x.cpu.Store(st.CPU)
		x.holdMemory(st.Memory)
		x.writeDisk(st.Disk)
		select {
		case <-ctx.Done():
			return 0
		case <-t.C:
		case <-term:
		}
	}
}

// endpoints is the model's view of a dependency: 1 when it answered the
// last check.
func (x *executor) endpoints(service string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.up[service]
}

func (x *executor) checkDependencies(ctx context.Context) {
	for _, d := range x.app.Needs {
		n := 0
		if x.o.Dial(ctx, d.Service) == nil {
			n = 1
		}
		x.mu.Lock()
		x.up[d.Service] = n
		x.mu.Unlock()
	}
}

// serve answers on the app's port: the health endpoints with the
// model's status, every other path as the app's own requests (200 while
// ready, counted as load).
func (x *executor) serve() (*http.Server, error) {
	port := x.app.Startup.Port
	if port == 0 {
		port = DefaultPort
	}
	if v := x.in.Env["GAMEDAY_APP_PORT"]; v != "" { // tests pick a free port
		if p, err := strconv.Atoi(v); err == nil {
			port = p
		}
	}
	// Every interface, as an app in a pod must be reached at the pod's
	// address; tests on a host keep it on loopback.
	ln, err := net.Listen("tcp", net.JoinHostPort(x.in.Env["GAMEDAY_APP_HOST"], strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		x.mu.Lock()
		st := x.state
		x.mu.Unlock()
		if p := r.URL.Path; p != x.app.Startup.Liveness && p != x.app.Startup.Readiness {
			x.requests.Add(1)
		}
		status := x.app.Response(st, r.URL.Path)
		w.WriteHeader(status)
		fmt.Fprintf(w, "%s\n", http.StatusText(status))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(x.o.Stderr, "serve: %v\n", err)
		}
	}()
	return srv, nil
}

// burn spends the model's CPU on a duty cycle (see dutyCycle) on a
// thread of its own, so that the thread's CPU clock counts only the burn.
func (x *executor) burn(ctx context.Context) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := dutyCycle{now: time.Now, cpu: threadCPU, sleep: time.Sleep}
	for ctx.Err() == nil {
		d.slice(x.cpu.Load())
	}
}

// dutyCycle burns CPU in slices of one tick: in each it works until its
// thread has used millicores/1000 of the tick in CPU time, then sleeps
// the rest. Counting CPU time, not wall time, keeps the use right on a
// busy machine, where the thread waits to run; a slice gives up after
// two ticks of wall time, so a starved thread still follows changes of
// the model. The clocks are fields so that tests can drive them.
type dutyCycle struct {
	now   func() time.Time
	cpu   func() time.Duration
	sleep func(time.Duration)
}

// slice runs one slice.
func (d dutyCycle) slice(millicores int64) {
	start := d.now()
	end := start.Add(tick)
	busy := min(time.Duration(max(millicores, 0))*tick/1000, tick)
	until := d.cpu() + busy
	for d.cpu() < until && d.now().Before(end.Add(tick)) {
	}
	if rest := end.Sub(d.now()); rest > 0 {
		d.sleep(rest)
	}
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// holdMemory allocates (and touches) memory up to n bytes; memory over a
// container's limit gets the process OOM-killed, as it should.
func (x *executor) holdMemory(n int64) {
	const chunk = 1 << 20
	held := int64(len(x.memory)) * chunk
	for held+chunk <= n {
		b := make([]byte, chunk)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		x.memory = append(x.memory, b)
		held += chunk
	}
}

// writeDisk appends to the app's data file up to n bytes in all, and
// no more than Options.MaxDisk.
func (x *executor) writeDisk(n int64) {
	capped := x.o.MaxDisk > 0 && n > x.o.MaxDisk
	if capped {
		n = x.o.MaxDisk
	}
	if n <= x.disk {
		return
	}
	dir := x.app.Resources.DiskPath
	if dir == "" {
		dir = x.o.DataDir
	}
	if dir == "" {
		return
	}
	f, err := os.OpenFile(filepath.Join(dir, "gameday-app.data"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, min(n-x.disk, 1<<20))
	for x.disk < n {
		k := min(int64(len(buf)), n-x.disk)
		if _, err := f.Write(buf[:k]); err != nil {
			return
		}
		x.disk += k
	}
	// Said once: the call that reaches the bound; later ones return above.
	if capped {
		fmt.Fprintf(x.o.Stderr, "gameday-app: disk writes stop at %d bytes (GAMEDAY_APP_MAX_DISK); the model asks for more\n", n)
	}
}
