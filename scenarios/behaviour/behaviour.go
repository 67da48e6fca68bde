// Package behaviour describes how a scenario's application behaves, and
// computes what it does: the one model that both executors run (the
// embedded node's simulated container runtime, and gameday's app binary
// in the real images on kind). A scenario author describes the app (what
// it reads, how it starts, what it needs, what it uses, how it stops);
// neither executor knows which scenario it serves.
//
// The model is a pure function: App.At takes the container's inputs (its
// environment, mounted files, the state of the Services it needs, the
// load it serves, its memory limit) and the time since it started, and
// returns what has happened by then: log lines, an exit, readiness and
// liveness, and resource use. It reads no clock and does no I/O.
package behaviour

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"
)

// App is how one application image behaves. The zero App is the plain
// default for an image with no declared behaviour: it starts at once,
// stays up, answers 200 on its ports and logs one start line.
type App struct {
	// Name is the app's name in its log lines ("checkout").
	Name string `yaml:"name" json:"name,omitempty"`
	// Config are the inputs the app reads and checks at start-up.
	Config []Input `yaml:"config" json:"config,omitempty"`
	// Startup is how the app comes up.
	Startup Startup `yaml:"startup" json:"startup,omitempty"`
	// Needs are the Services the app depends on.
	Needs []Dependency `yaml:"needs" json:"needs,omitempty"`
	// Resources is what the app uses.
	Resources Resources `yaml:"resources" json:"resources,omitempty"`
	// Shutdown is how the app stops on SIGTERM.
	Shutdown Shutdown `yaml:"shutdown" json:"shutdown,omitempty"`
	// RequestLog is a line logged every RequestLogEvery while the app
	// serves; empty logs none. %d is replaced by a request counter.
	RequestLog string `yaml:"requestLog" json:"requestLog,omitempty"`
	// RequestLogEvery is the interval of RequestLog. Default 5s.
	RequestLogEvery time.Duration `yaml:"requestLogEvery" json:"requestLogEvery,omitempty"`
	// OverloadLog is the line logged every 5 s while the app is
	// overloaded (resources.maxCPU). Default: a request timeout line.
	OverloadLog string `yaml:"overloadLog" json:"overloadLog,omitempty"`
	// When are variants: how the app behaves otherwise while one of its
	// inputs has a given value (a debug log level that writes far more,
	// say). Every variant that matches applies, in order.
	When []Variant `yaml:"when" json:"when,omitempty"`
}

// Variant is how the app behaves while an input (an environment
// variable or a mounted file) has one of some values. What it sets
// replaces the app's; what it leaves empty keeps the app's.
type Variant struct {
	// Env is the environment variable the variant looks at.
	Env string `yaml:"env" json:"env,omitempty"`
	// File is the path of the mounted file the variant looks at.
	File string `yaml:"file" json:"file,omitempty"`
	// Is lists the values that select the variant.
	Is []string `yaml:"is" json:"is"`
	// Resources replace the app's, field by field.
	Resources Resources `yaml:"resources" json:"resources,omitempty"`
	// RequestLog replaces the app's request log line.
	RequestLog string `yaml:"requestLog" json:"requestLog,omitempty"`
	// RequestLogEvery replaces the interval of the request log line.
	RequestLogEvery time.Duration `yaml:"requestLogEvery" json:"requestLogEvery,omitempty"`
}

// Input is one configuration value the app reads: an environment
// variable or a mounted file (a ConfigMap or Secret key, by path).
type Input struct {
	// Env is the environment variable's name.
	Env string `yaml:"env" json:"env,omitempty"`
	// File is the path of a mounted file whose content is the value
	// (trailing newlines ignored).
	File string `yaml:"file" json:"file,omitempty"`
	// Required: a missing value fails.
	Required bool `yaml:"required" json:"required,omitempty"`
	// OneOf lists the accepted values.
	OneOf []string `yaml:"oneOf" json:"oneOf,omitempty"`
	// Integer requires a whole number, within Min and Max when set.
	Integer bool `yaml:"integer" json:"integer,omitempty"`
	// Min is the least an Integer value may be.
	Min *int64 `yaml:"min" json:"min,omitempty"`
	// Max is the most an Integer value may be.
	Max *int64 `yaml:"max" json:"max,omitempty"`
	// Pattern is a regular expression the value must match.
	Pattern string `yaml:"pattern" json:"pattern,omitempty"`
	// OnInvalid is what the app does when the value fails a check.
	OnInvalid Failure `yaml:"onInvalid" json:"onInvalid,omitempty"`
}

// Failure is how the app fails: it writes lines, then exits.
type Failure struct {
	// Log are the lines it writes; {value} and {name} are replaced by the
	// offending value and the input's name. Default: one line naming both.
	Log []string `yaml:"log" json:"log,omitempty"`
	// Stream is stdout or stderr. Default stderr.
	Stream string `yaml:"stream" json:"stream,omitempty"`
	// ExitCode is the exit code. Default 1.
	ExitCode int `yaml:"exitCode" json:"exitCode,omitempty"`
	// After is how long after start it exits.
	After time.Duration `yaml:"after" json:"after,omitempty"`
}

// Startup is how the app comes up.
type Startup struct {
	// WarmUp is how long the app takes to serve after start.
	WarmUp time.Duration `yaml:"warmUp" json:"warmUp,omitempty"`
	// Port is the HTTP port the app serves (and its health endpoints).
	Port int `yaml:"port" json:"port,omitempty"`
	// Readiness is the readiness endpoint's path; empty means the app
	// has none.
	Readiness string `yaml:"readiness" json:"readiness,omitempty"`
	// Liveness is the liveness endpoint's path; empty means the app has
	// none.
	Liveness string `yaml:"liveness" json:"liveness,omitempty"`
	// NotReadyStatus is what a health endpoint answers before warm-up or
	// while a dependency is down. Default 503.
	NotReadyStatus int `yaml:"notReadyStatus" json:"notReadyStatus,omitempty"`
	// LiveWhileWarming makes the liveness endpoint answer 200 from the
	// start, as a bare "the process runs" check does, instead of only
	// once the app is warm.
	LiveWhileWarming bool `yaml:"liveWhileWarming" json:"liveWhileWarming,omitempty"`
}

// Dependency is a Service the app needs, as host:port.
type Dependency struct {
	// Service is host:port, for example redis:6379.
	Service string `yaml:"service" json:"service"`
	// Log is the line logged while the Service has no ready endpoints.
	// Default: a connection-refused line naming the Service.
	Log string `yaml:"log" json:"log,omitempty"`
}

// Resources is what the app uses.
type Resources struct {
	// IdleCPU is the CPU used with no load, in millicores.
	IdleCPU int64 `yaml:"idleCPU" json:"idleCPU,omitempty"`
	// CPUPerLoad is the CPU used per unit of load (one request a
	// second), in millicores.
	CPUPerLoad int64 `yaml:"cpuPerLoad" json:"cpuPerLoad,omitempty"`
	// MaxCPU is the most CPU one container of the app can put to work,
	// in millicores (its worker pool, say); 0 is no such bound. Load that
	// needs more, or more than the container's CPU limit, overloads it:
	// it answers requests with 503 (its health endpoints still answer).
	MaxCPU int64 `yaml:"maxCPU" json:"maxCPU,omitempty"`
	// Memory is the memory in use at start, in bytes.
	Memory int64 `yaml:"memory" json:"memory,omitempty"`
	// MemoryPerMinute is how much memory grows each minute, in bytes.
	MemoryPerMinute int64 `yaml:"memoryPerMinute" json:"memoryPerMinute,omitempty"`
	// DiskPerMinute is how much the app writes each minute, in bytes.
	DiskPerMinute int64 `yaml:"diskPerMinute" json:"diskPerMinute,omitempty"`
	// DiskPath is where it writes: a path in an emptyDir volume, or empty
	// for the container's writable layer.
	DiskPath string `yaml:"diskPath" json:"diskPath,omitempty"`
}

// Shutdown is how the app stops on SIGTERM.
type Shutdown struct {
	// Drain is how long it takes to stop after SIGTERM.
	Drain time.Duration `yaml:"drain" json:"drain,omitempty"`
	// ExitCode is its exit code then. Default 0.
	ExitCode int `yaml:"exitCode" json:"exitCode,omitempty"`
}

// Inputs are what the app sees of its container and the cluster.
type Inputs struct {
	// Env is the container's environment.
	Env map[string]string
	// Files are the mounted files' contents, by path.
	Files map[string]string
	// ReadyEndpoints says how many ready endpoints a Service (host:port)
	// has; nil means every Service is up.
	ReadyEndpoints func(service string) int
	// Load is the load this container serves, in requests a second (a
	// Service's load spread over its ready pods: Share).
	Load float64
	// CPULimit is the container's CPU limit in millicores; 0 is none.
	CPULimit int64
	// MemoryLimit is the container's memory limit in bytes; 0 is none.
	MemoryLimit int64
	// TermAt, when positive, is when SIGTERM arrived, since start.
	TermAt time.Duration
}

// Line is a log line.
type Line struct {
	// At is when it was written, since start.
	At time.Duration
	// Stream is stdout or stderr.
	Stream string
	// Text is the line, without newline.
	Text string
}

// Exit is how the app ended.
type Exit struct {
	// At is when, since start.
	At time.Duration
	// Code is the exit code (137 for OOMKilled).
	Code int
	// Reason is Completed, Error or OOMKilled, as the kubelet reports it.
	Reason string
}

// State is what has happened by a moment of the app's life.
type State struct {
	// Logs are every line written so far, in order.
	Logs []Line
	// Exit is set once the app has ended.
	Exit *Exit
	// Ready and Live are what the readiness and liveness endpoints say
	// (true when the app declares no such endpoint and is running).
	Ready, Live bool
	// Status is the HTTP status of a health endpoint now; 0 once exited.
	Status int
	// Waiting names what keeps the app from being ready: "warming up",
	// or a Service with no ready endpoints; empty when ready.
	Waiting string
	// Overloaded says the load needs more CPU than the app can use: it
	// fails requests (its health endpoints still answer).
	Overloaded bool
	// CPU is the CPU in use, in millicores.
	CPU int64
	// Memory is the memory in use, in bytes.
	Memory int64
	// Disk is what the app has written, in bytes.
	Disk int64
}

// Validate checks an App's own consistency (regular expressions, bounds,
// streams) and returns every problem, each prefixed with its field path.
func (a App) Validate() []string {
	var out []string
	for i, in := range a.Config {
		p := fmt.Sprintf("config[%d]", i)
		if (in.Env == "") == (in.File == "") {
			out = append(out, p+": set exactly one of env and file")
		}
		if in.Pattern != "" {
			if _, err := regexp.Compile(in.Pattern); err != nil {
				out = append(out, fmt.Sprintf("%s.pattern: %v", p, err))
			}
		}
		if in.Min != nil && in.Max != nil && *in.Min > *in.Max {
			out = append(out, p+": min is above max")
		}
		if (in.Min != nil || in.Max != nil) && !in.Integer {
			out = append(out, p+": min and max go with integer: true")
		}
		if s := in.OnInvalid.Stream; s != "" && s != "stdout" && s != "stderr" {
			out = append(out, fmt.Sprintf("%s.onInvalid.stream: %q is not stdout or stderr", p, s))
		}
	}
	for i, v := range a.When {
		p := fmt.Sprintf("when[%d]", i)
		if (v.Env == "") == (v.File == "") {
			out = append(out, p+": set exactly one of env and file")
		}
		if len(v.Is) == 0 {
			out = append(out, p+".is: list the values that select the variant")
		}
	}
	if a.Startup.Port < 0 || a.Startup.Port > 65535 {
		out = append(out, fmt.Sprintf("startup.port: %d is not a port", a.Startup.Port))
	}
	if (a.Startup.Readiness != "" || a.Startup.Liveness != "") && a.Startup.Port == 0 {
		out = append(out, "startup: health endpoints need a port")
	}
	return out
}

// Files are the paths of every mounted file the app reads: its
// configuration's and its variants'. An executor reads them into
// Inputs.Files.
func (a App) Files() []string {
	var out []string
	for _, in := range a.Config {
		if in.File != "" && !contains(out, in.File) {
			out = append(out, in.File)
		}
	}
	for _, v := range a.When {
		if v.File != "" && !contains(out, v.File) {
			out = append(out, v.File)
		}
	}
	return out
}

// Under is the app as it behaves with these inputs: its variants that
// match, applied in order, and none left to apply. Run applies them
// itself; an executor that reads the app's fields (where it writes, say)
// asks for them first.
func (a App) Under(x Inputs) App {
	for _, v := range a.When {
		got, ok := Input{Env: v.Env, File: v.File}.value(x)
		if !ok || !contains(v.Is, got) {
			continue
		}
		a.Resources = a.Resources.with(v.Resources)
		if v.RequestLog != "" {
			a.RequestLog = v.RequestLog
		}
		if v.RequestLogEvery > 0 {
			a.RequestLogEvery = v.RequestLogEvery
		}
	}
	a.When = nil
	return a
}

// with is r with o's non-zero fields in their place.
func (r Resources) with(o Resources) Resources {
	set := func(dst *int64, v int64) {
		if v != 0 {
			*dst = v
		}
	}
	set(&r.IdleCPU, o.IdleCPU)
	set(&r.CPUPerLoad, o.CPUPerLoad)
	set(&r.MaxCPU, o.MaxCPU)
	set(&r.Memory, o.Memory)
	set(&r.MemoryPerMinute, o.MemoryPerMinute)
	set(&r.DiskPerMinute, o.DiskPerMinute)
	if o.DiskPath != "" {
		r.DiskPath = o.DiskPath
	}
	return r
}

// name is the input's name in messages: its variable or its file.
func (in Input) name() string {
	if in.Env != "" {
		return in.Env
	}
	return in.File
}

// value reads the input from the container.
func (in Input) value(x Inputs) (string, bool) {
	if in.Env != "" {
		v, ok := x.Env[in.Env]
		return v, ok
	}
	v, ok := x.Files[in.File]
	for ok && len(v) > 0 && (v[len(v)-1] == '\n' || v[len(v)-1] == '\r') {
		v = v[:len(v)-1]
	}
	return v, ok
}

// check says why a value fails the input's checks, or "".
func (in Input) check(v string, present bool) string {
	switch {
	case !present:
		if in.Required {
			return "missing"
		}
		return ""
	case len(in.OneOf) > 0 && !contains(in.OneOf, v):
		return fmt.Sprintf("not one of %v", in.OneOf)
	case in.Pattern != "" && !regexp.MustCompile(in.Pattern).MatchString(v):
		return "does not match " + in.Pattern
	case in.Integer:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "not an integer"
		}
		if (in.Min != nil && n < *in.Min) || (in.Max != nil && n > *in.Max) {
			return "out of range"
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Response is the HTTP status the app answers a request for path with,
// in state st: its liveness endpoint says whether it is live; every other
// path answers as the app is (200 once warm and ready, NotReadyStatus
// before), and 503 once it has exited. An overloaded app fails every
// request but its health endpoints'.
func (a App) Response(st State, path string) int {
	status := st.Status
	if a.Startup.Liveness != "" && path == a.Startup.Liveness && st.Live {
		status = http.StatusOK
	}
	health := path == a.Startup.Liveness || path == a.Startup.Readiness
	if st.Overloaded && !health && status == http.StatusOK {
		status = http.StatusServiceUnavailable
	}
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	return status
}
