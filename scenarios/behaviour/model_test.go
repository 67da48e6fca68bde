package behaviour

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	s   = time.Second
	mib = int64(1 << 20)
)

func i64(v int64) *int64 { return &v }

// texts are a state's log lines as "stream: text".
func texts(lines []Line) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Stream+": "+l.Text)
	}
	return out
}

var checkout = App{
	Name: "checkout",
	Config: []Input{{
		File: "/etc/checkout/timeout_ms", Required: true, Integer: true, Min: i64(1), Max: i64(60000),
		OnInvalid: Failure{Log: []string{`level=fatal msg="invalid TIMEOUT_MS {value}: want milliseconds"`}, ExitCode: 1, After: 2 * s},
	}},
	Startup:    Startup{WarmUp: 20 * s, Port: 8080, Readiness: "/ready", Liveness: "/healthz"},
	Needs:      []Dependency{{Service: "redis:6379"}},
	Resources:  Resources{IdleCPU: 10, CPUPerLoad: 100, Memory: 100 * mib, MemoryPerMinute: 50 * mib, DiskPerMinute: mib},
	Shutdown:   Shutdown{Drain: 5 * s},
	RequestLog: `GET /checkout 200 request=%d`,
}

func good() Inputs {
	return Inputs{Files: map[string]string{"/etc/checkout/timeout_ms": "3000\n"}, ReadyEndpoints: func(string) int { return 1 }}
}

func TestAt(t *testing.T) {
	bad := good()
	bad.Files = map[string]string{"/etc/checkout/timeout_ms": "3s"}
	missing := good()
	missing.Files = nil
	redisDown := good()
	redisDown.ReadyEndpoints = func(svc string) int { return map[string]int{"redis:6379": 0}[svc] }
	loaded := good()
	loaded.Load = 2.5
	limited := good()
	limited.MemoryLimit = 200 * mib
	throttled := good()
	throttled.Load, throttled.CPULimit = 5, 300
	bounded := checkout
	bounded.Resources.MaxCPU = 400
	hot := good()
	hot.Load = 10
	terminated := good()
	terminated.TermAt = 30 * s
	debug := good()
	debug.Env = map[string]string{"LOG_LEVEL": "debug"}
	verbose := checkout
	verbose.When = []Variant{
		{Env: "LOG_LEVEL", Is: []string{"debug", "trace"}, Resources: Resources{DiskPerMinute: 600 * mib, DiskPath: "/var/log/checkout"},
			RequestLog: "level=debug msg=\"GET /checkout\" request=%d", RequestLogEvery: 10 * s},
		{File: "/etc/checkout/timeout_ms", Is: []string{"9999"}, Resources: Resources{IdleCPU: 99}},
	}

	liveEarly := checkout
	liveEarly.Startup.LiveWhileWarming = true
	liveEarlyBad := liveEarly

	tests := []struct {
		name    string
		app     App
		in      Inputs
		at      time.Duration
		want    State
		wantLog []string
	}{
		{"an image with no behaviour starts and stays up", App{}, Inputs{}, time.Hour,
			State{Ready: true, Live: true, Status: 200, CPU: IdleCPU, Memory: BaseMemory}, []string{"stdout: app starting"}},
		{"a bad config value: its line at once, not ready", checkout, bad, 1 * s,
			State{Status: 503, Waiting: "invalid configuration", Memory: 100*mib + 50*mib/60, Disk: mib / 60, CPU: 10},
			[]string{"stdout: checkout starting", `stderr: level=fatal msg="invalid TIMEOUT_MS 3s: want milliseconds"`}},
		{"a bad config value: exit 1 after 2s", checkout, bad, 3 * s,
			State{Exit: &Exit{At: 2 * s, Code: 1, Reason: ReasonError}, Memory: 100*mib + 50*mib/30, Disk: mib / 30},
			[]string{"stdout: checkout starting", `stderr: level=fatal msg="invalid TIMEOUT_MS 3s: want milliseconds"`}},
		{"a missing required file fails too", App{Config: []Input{{File: "/etc/x", Required: true}}}, Inputs{}, 1 * s,
			State{Exit: &Exit{At: 0, Code: 1, Reason: ReasonError}, Memory: BaseMemory},
			[]string{"stdout: app starting", `stderr: invalid /etc/x "": missing`}},
		{"warming up: health endpoints answer 503", checkout, good(), 10 * s,
			State{Status: 503, Waiting: "warming up", CPU: 10, Memory: 100*mib + 50*mib/6, Disk: mib / 6},
			[]string{"stdout: checkout starting"}},
		{"live while warming: live, not ready", liveEarly, good(), 10 * s,
			State{Live: true, Status: 503, Waiting: "warming up", CPU: 10, Memory: 100*mib + 50*mib/6, Disk: mib / 6},
			[]string{"stdout: checkout starting"}},
		{"live while warming, but not with a bad config value", liveEarlyBad, bad, 1 * s,
			State{Status: 503, Waiting: "invalid configuration", Memory: 100*mib + 50*mib/60, Disk: mib / 60, CPU: 10}, nil},
		{"warm: ready, serving, logging requests", checkout, good(), 25 * s,
			State{Ready: true, Live: true, Status: 200, CPU: 10, Memory: 100*mib + 50*mib*25/60, Disk: mib * 25 / 60},
			[]string{"stdout: checkout starting", "stdout: GET /checkout 200 request=4", "stdout: GET /checkout 200 request=5"}},
		{"a dependency without endpoints: not ready, and says so", checkout, redisDown, 25 * s,
			State{Live: true, Status: 503, Waiting: "no ready endpoints behind redis:6379", CPU: 10, Memory: 100*mib + 50*mib*25/60, Disk: mib * 25 / 60},
			[]string{"stdout: checkout starting", "stderr: dial tcp redis:6379: connect: connection refused", "stderr: dial tcp redis:6379: connect: connection refused",
				"stderr: dial tcp redis:6379: connect: connection refused", "stderr: dial tcp redis:6379: connect: connection refused", "stderr: dial tcp redis:6379: connect: connection refused"}},
		{"load raises CPU once ready", checkout, loaded, 21 * s,
			State{Ready: true, Live: true, Status: 200, CPU: 10 + 250, Memory: 100*mib + 50*mib*21/60, Disk: mib * 21 / 60},
			[]string{"stdout: checkout starting", "stdout: GET /checkout 200 request=4"}},
		{"load over the CPU limit: throttled at the limit, overloaded", checkout, throttled, 21 * s,
			State{Ready: true, Live: true, Status: 200, Overloaded: true, CPU: 300, Memory: 100*mib + 50*mib*21/60, Disk: mib * 21 / 60},
			[]string{"stdout: checkout starting", "stdout: GET /checkout 200 request=4", "stderr: " + DefaultOverloadLog}},
		{"load over what the app can use: overloaded at maxCPU", bounded, hot, 21 * s,
			State{Ready: true, Live: true, Status: 200, Overloaded: true, CPU: 400, Memory: 100*mib + 50*mib*21/60, Disk: mib * 21 / 60},
			[]string{"stdout: checkout starting", "stdout: GET /checkout 200 request=4", "stderr: " + DefaultOverloadLog}},
		{"load within both bounds: not overloaded", bounded, loaded, 21 * s,
			State{Ready: true, Live: true, Status: 200, CPU: 10 + 250, Memory: 100*mib + 50*mib*21/60, Disk: mib * 21 / 60},
			[]string{"stdout: checkout starting", "stdout: GET /checkout 200 request=4"}},
		{"memory over the limit: OOMKilled, exit 137", checkout, limited, 3 * time.Minute,
			State{Exit: &Exit{At: 2 * time.Minute, Code: OOMExitCode, Reason: ReasonOOMKilled}, Memory: 200 * mib, Disk: 2 * mib},
			nil},
		{"SIGTERM: draining, not ready", checkout, terminated, 32 * s,
			State{Live: true, Status: 503, Waiting: "draining", CPU: 10, Memory: 100*mib + 50*mib*32/60, Disk: mib * 32 / 60},
			[]string{"stdout: checkout starting", "stdout: GET /checkout 200 request=4", "stdout: GET /checkout 200 request=5", "stdout: received SIGTERM, draining connections"}},
		{"a variant whose input does not match changes nothing", verbose, good(), 25 * s,
			State{Ready: true, Live: true, Status: 200, CPU: 10, Memory: 100*mib + 50*mib*25/60, Disk: mib * 25 / 60},
			[]string{"stdout: checkout starting", "stdout: GET /checkout 200 request=4", "stdout: GET /checkout 200 request=5"}},
		{"a matching variant replaces what it sets and keeps the rest", verbose, debug, 25 * s,
			State{Ready: true, Live: true, Status: 200, CPU: 10, Memory: 100*mib + 50*mib*25/60, Disk: 600 * mib * 25 / 60},
			[]string{"stdout: checkout starting", `stdout: level=debug msg="GET /checkout" request=2`}},
		{"SIGTERM: exits 0 after the drain", checkout, terminated, 40 * s,
			State{Exit: &Exit{At: 35 * s, Code: 0, Reason: ReasonCompleted}, Memory: 100*mib + 50*mib*35/60, Disk: mib * 35 / 60},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.app.At(tt.in, tt.at)
			logs := texts(got.Logs)
			got.Logs = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("state (-want +got):\n%s", diff)
			}
			if tt.wantLog != nil && !slices.Equal(logs, tt.wantLog) {
				t.Errorf("logs:\n%s\nwant:\n%s", strings.Join(logs, "\n"), strings.Join(tt.wantLog, "\n"))
			}
		})
	}
}

// TestRunWindowsAddUp checks that an executor calling Run on successive
// windows writes exactly the lines of one call over the whole time.
func TestRunWindowsAddUp(t *testing.T) {
	down := good()
	down.ReadyEndpoints = func(string) int { return 0 }
	term := good()
	term.TermAt = 42 * s
	tests := []struct {
		name  string
		in    Inputs
		lines int
	}{
		{"retrying a dependency", down, 13},        // the start line and a retry every 5 s
		{"serving, then SIGTERM", term, 1 + 5 + 1}, // start, requests at 20..40 s, SIGTERM
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole := texts(checkout.At(tt.in, 60*s).Logs)
			var pieces []string
			prev := time.Duration(-1)
			for _, to := range []time.Duration{0, 3 * s, 5 * s, 17 * s, 20 * s, 40 * s, 60 * s} {
				lines, _ := checkout.Run(tt.in, prev, to)
				pieces = append(pieces, texts(lines)...)
				prev = to
			}
			if !slices.Equal(whole, pieces) {
				t.Errorf("windows wrote:\n%s\nthe whole run:\n%s", strings.Join(pieces, "\n"), strings.Join(whole, "\n"))
			}
			if len(whole) != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", len(whole), tt.lines, strings.Join(whole, "\n"))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	a := App{
		Config: []Input{
			{Env: "A", File: "/a"},
			{Env: "B", Pattern: "("},
			{Env: "C", Integer: true, Min: i64(5), Max: i64(1)},
			{Env: "D", Min: i64(1)},
			{Env: "E", OnInvalid: Failure{Stream: "stdlog"}},
		},
		Startup: Startup{Readiness: "/ready"},
		When:    []Variant{{Is: []string{"x"}}, {Env: "F"}},
	}
	got := a.Validate()
	for _, want := range []string{
		"config[0]: set exactly one of env and file",
		"config[1].pattern: error parsing regexp",
		"config[2]: min is above max",
		"config[3]: min and max go with integer: true",
		`config[4].onInvalid.stream: "stdlog" is not stdout or stderr`,
		"startup: health endpoints need a port",
		"when[0]: set exactly one of env and file",
		"when[1].is: list the values",
	} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("problems %q lack %q", got, want)
		}
	}
	if p := checkout.Validate(); len(p) != 0 {
		t.Errorf("a valid app: %q", p)
	}
}

func TestUnderAndFiles(t *testing.T) {
	app := App{
		Config:    []Input{{File: "/etc/a"}, {Env: "A"}},
		Resources: Resources{DiskPerMinute: mib},
		When: []Variant{
			{File: "/etc/level", Is: []string{"debug"}, Resources: Resources{DiskPerMinute: 100 * mib, DiskPath: "/logs"}},
			{File: "/etc/a", Is: []string{"1"}, Resources: Resources{MaxCPU: 5}},
			{Env: "A", Is: []string{"on"}, Resources: Resources{DiskPerMinute: 7}},
		},
	}
	if got, want := app.Files(), []string{"/etc/a", "/etc/level"}; !slices.Equal(got, want) {
		t.Errorf("Files() = %q, want %q", got, want)
	}
	tests := []struct {
		name string
		in   Inputs
		want Resources
	}{
		{"nothing matches", Inputs{}, Resources{DiskPerMinute: mib}},
		{"a file's value, trailing newline ignored", Inputs{Files: map[string]string{"/etc/level": "debug\n"}},
			Resources{DiskPerMinute: 100 * mib, DiskPath: "/logs"}},
		{"every match applies, later ones last", Inputs{Files: map[string]string{"/etc/level": "debug", "/etc/a": "1"}, Env: map[string]string{"A": "on"}},
			Resources{DiskPerMinute: 7, DiskPath: "/logs", MaxCPU: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := app.Under(tt.in)
			if diff := cmp.Diff(tt.want, got.Resources); diff != "" {
				t.Errorf("resources (-want +got):\n%s", diff)
			}
			if got.When != nil {
				t.Errorf("variants left to apply: %v", got.When)
			}
		})
	}
}
