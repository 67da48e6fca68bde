package behaviour

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Streams of log lines.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Exit reasons, as the kubelet reports a terminated container's.
const (
	ReasonCompleted = "Completed"
	ReasonError     = "Error"
	ReasonOOMKilled = "OOMKilled"
)

// Defaults of the model.
const (
	// DefaultRequestLogEvery is the interval of request log lines.
	DefaultRequestLogEvery = 5 * time.Second
	// RetryEvery is how often an app logs a dependency it cannot reach.
	RetryEvery = 5 * time.Second
	// IdleCPU is the CPU a running app uses when its Resources say
	// none, in millicores: what kubectl top shows of an idle process.
	IdleCPU = 1
	// BaseMemory is the memory a running app uses when its Resources say
	// none, in bytes.
	BaseMemory = 4 << 20
	// DefaultOverloadLog is what an overloaded app logs when its
	// OverloadLog says nothing.
	DefaultOverloadLog = `level=error msg="request timed out after 3s: worker pool exhausted"`
	// OOMExitCode is a container's exit code when the kernel kills it
	// for going over its memory limit.
	OOMExitCode = 137
)

// Run computes the app's life between two moments, since its start: the
// lines it writes after from and up to to (from < 0 includes the lines of
// start-up), and its state at to. Inputs are taken to hold over the whole
// window: an executor calls Run on successive windows, with the inputs of
// each, and appends the lines.
func (a App) Run(in Inputs, from, to time.Duration) ([]Line, State) {
	a = a.Under(in)
	var lines []Line
	write := func(at time.Duration, stream, text string) {
		if at > from && at <= to {
			lines = append(lines, Line{At: at, Stream: stream, Text: text})
		}
	}
	name := a.Name
	if name == "" {
		name = "app"
	}
	exit := a.exit(in)
	alive := func(at time.Duration) bool { return exit == nil || at < exit.At }

	write(0, Stdout, name+" starting")
	if f, in2, v, why := a.failingInput(in); f != nil {
		for _, l := range f.lines(in2, v, why) {
			write(0, orDefault(f.Stream, Stderr), l)
		}
	}
	if in.TermAt > 0 && alive(in.TermAt) {
		write(in.TermAt, Stdout, "received SIGTERM, draining connections")
	}
	// Periodic lines, written while the app runs: its dependencies'
	// errors, or its requests once it serves.
	down := a.downDependencies(in)
	every := a.RequestLogEvery
	if every <= 0 {
		every = DefaultRequestLogEvery
	}
	first := time.Duration(0)
	if from >= 0 {
		first = from
	}
	for _, d := range down {
		for at := nextTick(first, RetryEvery); at <= to && alive(at); at += RetryEvery {
			write(at, Stderr, d.line())
		}
	}
	if a.RequestLog != "" && len(down) == 0 && a.failingConfig(in) == nil {
		for at := nextTick(first, every); at <= to && alive(at) && (in.TermAt <= 0 || at < in.TermAt); at += every {
			if at >= a.Startup.WarmUp {
				write(at, Stdout, strings.ReplaceAll(a.RequestLog, "%d", fmt.Sprint(int64(at/every))))
			}
		}
	}
	if a.overloaded(in) && len(down) == 0 && a.failingConfig(in) == nil {
		line := orDefault(a.OverloadLog, DefaultOverloadLog)
		for at := nextTick(first, RetryEvery); at <= to && alive(at) && (in.TermAt <= 0 || at < in.TermAt); at += RetryEvery {
			if at >= a.Startup.WarmUp {
				write(at, Stderr, line)
			}
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].At < lines[j].At })
	return lines, a.state(in, to, exit, down)
}

// StateAt is the app's state at t since its start, without its logs:
// cheap enough to ask every second.
func (a App) StateAt(in Inputs, t time.Duration) State {
	_, st := a.Run(in, t, t)
	return st
}

// At is the app's state at t since its start, with every line written by
// then: Run over its whole life so far.
func (a App) At(in Inputs, t time.Duration) State {
	lines, st := a.Run(in, -1, t)
	st.Logs = lines
	return st
}

// state is the app's state at t.
func (a App) state(in Inputs, t time.Duration, exit *Exit, down []Dependency) State {
	var st State
	if exit != nil && t >= exit.At {
		e := *exit
		st.Exit = &e
		st.Memory = a.memory(exit.At, in.MemoryLimit)
		st.Disk = a.disk(exit.At)
		return st
	}
	warm := t >= a.Startup.WarmUp
	draining := in.TermAt > 0 && t >= in.TermAt
	failing := a.failingConfig(in) != nil
	st.Live = (warm || a.Startup.LiveWhileWarming) && !failing
	st.Ready = warm && !failing && len(down) == 0 && !draining
	switch {
	case failing:
		st.Waiting = "invalid configuration"
	case !warm:
		st.Waiting = "warming up"
	case len(down) > 0:
		st.Waiting = "no ready endpoints behind " + down[0].Service
	case draining:
		st.Waiting = "draining"
	}
	st.Status = 200
	if !st.Ready {
		st.Status = a.Startup.NotReadyStatus
		if st.Status == 0 {
			st.Status = 503
		}
	}
	st.CPU = a.Resources.IdleCPU
	if st.CPU == 0 {
		st.CPU = IdleCPU
	}
	if st.Ready {
		st.CPU += int64(float64(a.Resources.CPUPerLoad) * in.Load)
		if a.overloaded(in) {
			st.CPU, st.Overloaded = a.cpuBound(in), true
		}
	}
	st.Memory = a.memory(t, in.MemoryLimit)
	st.Disk = a.disk(t)
	return st
}

// overloaded says whether the load needs more CPU than the app can use,
// once it serves: the one place overload is decided, for its state and
// its log lines.
func (a App) overloaded(in Inputs) bool {
	most := a.cpuBound(in)
	idle := a.Resources.IdleCPU
	if idle == 0 {
		idle = IdleCPU
	}
	return most > 0 && idle+int64(float64(a.Resources.CPUPerLoad)*in.Load) > most
}

// cpuBound is the most CPU the container can use: the lower of the app's
// MaxCPU and the container's limit, 0 for no bound.
func (a App) cpuBound(in Inputs) int64 {
	most := a.Resources.MaxCPU
	if l := in.CPULimit; l > 0 && (most == 0 || l < most) {
		most = l
	}
	return most
}

// exit is how and when the app ends under these inputs, or nil if it
// runs on: the first of a failing configuration, going over the memory
// limit, and the end of draining after SIGTERM.
func (a App) exit(in Inputs) *Exit {
	var out *Exit
	consider := func(e Exit) {
		if out == nil || e.At < out.At {
			out = &e
		}
	}
	if f := a.failingConfig(in); f != nil {
		code := f.ExitCode
		if code == 0 {
			code = 1
		}
		consider(Exit{At: f.After, Code: code, Reason: ReasonError})
	}
	if lim, r := in.MemoryLimit, a.Resources; lim > 0 {
		switch {
		case r.Memory > lim:
			consider(Exit{At: 0, Code: OOMExitCode, Reason: ReasonOOMKilled})
		case r.MemoryPerMinute > 0:
			minutes := float64(lim-r.Memory) / float64(r.MemoryPerMinute)
			consider(Exit{At: time.Duration(minutes * float64(time.Minute)), Code: OOMExitCode, Reason: ReasonOOMKilled})
		}
	}
	if in.TermAt > 0 {
		reason := ReasonCompleted
		if a.Shutdown.ExitCode != 0 {
			reason = ReasonError
		}
		consider(Exit{At: in.TermAt + a.Shutdown.Drain, Code: a.Shutdown.ExitCode, Reason: reason})
	}
	return out
}

// failingConfig is the first input whose value fails its checks, or nil.
func (a App) failingConfig(in Inputs) *Failure {
	f, _, _, _ := a.failingInput(in)
	return f
}

func (a App) failingInput(x Inputs) (*Failure, Input, string, string) {
	for _, in := range a.Config {
		v, ok := in.value(x)
		if why := in.check(v, ok); why != "" {
			f := in.OnInvalid
			return &f, in, v, why
		}
	}
	return nil, Input{}, "", ""
}

// lines are a failure's log lines for an input's bad value.
func (f Failure) lines(in Input, value, why string) []string {
	if len(f.Log) == 0 {
		return []string{fmt.Sprintf("invalid %s %q: %s", in.name(), value, why)}
	}
	out := make([]string, len(f.Log))
	for i, l := range f.Log {
		out[i] = strings.NewReplacer("{value}", value, "{name}", in.name()).Replace(l)
	}
	return out
}

// downDependencies are the needed Services with no ready endpoints.
func (a App) downDependencies(in Inputs) []Dependency {
	if in.ReadyEndpoints == nil {
		return nil
	}
	var out []Dependency
	for _, d := range a.Needs {
		if in.ReadyEndpoints(d.Service) == 0 {
			out = append(out, d)
		}
	}
	return out
}

// line is what the app logs while the dependency is down.
func (d Dependency) line() string {
	if d.Log != "" {
		return d.Log
	}
	return fmt.Sprintf("dial tcp %s: connect: connection refused", d.Service)
}

// memory is the memory in use at t, no more than limit (when set).
func (a App) memory(t time.Duration, limit int64) int64 {
	base := a.Resources.Memory
	if base == 0 {
		base = BaseMemory
	}
	m := base + int64(float64(a.Resources.MemoryPerMinute)*t.Minutes())
	if limit > 0 && m > limit {
		return limit
	}
	return m
}

// disk is what the app has written by t.
func (a App) disk(t time.Duration) int64 {
	return int64(float64(a.Resources.DiskPerMinute) * t.Minutes())
}

// nextTick is the first multiple of every after from (from itself is
// taken when from is 0, so a window from start includes no tick at 0).
func nextTick(from, every time.Duration) time.Duration {
	return (from/every + 1) * every
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
