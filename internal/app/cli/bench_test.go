package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday-sre/gameday/infra/kind"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// BenchmarkRunAutopilot plays ecr-imagepullbackoff on autopilot on each
// backend, in one invocation so that their figures compare: embedded,
// and kind where the machine can run it (else it skips, naming the
// images). It reports where the time to handover goes (provision, with
// when the AWS plane, the control plane and the nodes were ready; setup;
// fault; the symptom gate), and the latency from a state change to its
// journal entry, for an AWS change (the operator's AttachRolePolicy call
// → the fix objective) and a Kubernetes change (the operator's
// rollout-restart patch, from the audit log → the restart objective).
// On kind it also samples the node containers' memory (docker stats)
// every two seconds. Run with: make bench.
func BenchmarkRunAutopilot(b *testing.B) {
	for _, infra := range []string{scenarios.InfraEmbedded, scenarios.InfraKind} {
		b.Run(infra, func(b *testing.B) {
			if infra == scenarios.InfraKind {
				requireKind(b, kind.LocalImages()...)
				useAppBinary(b)
			}
			benchAutopilot(b, infra)
		})
	}
}

func benchAutopilot(b *testing.B, infra string) {
	// Solutions call "$GAMEDAY diagnose"; here that is this test binary.
	b.Setenv("GAMEDAY_CLI_MAIN", "1")
	g := &globals{streams: Streams{ErrOut: os.Stderr}, log: slog.New(slog.DiscardHandler)}
	var awsLat, kubeLat time.Duration
	sum := map[string]time.Duration{}
	for i := 0; i < b.N; i++ {
		s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
		if err != nil {
			b.Fatal(err)
		}
		var mem *nodeMemory
		if infra == scenarios.InfraKind {
			mem = sampleNodeMemory(2 * time.Second)
		}
		res, err := runner.Run(context.Background(), s, runner.Config{
			Provision: provision(g, infra, "auto"), Root: b.TempDir(), Mode: runner.Autopilot,
		})
		if mem != nil {
			mem.stop()
			fmt.Fprintf(os.Stderr, "%s: node containers' peak memory (docker stats): %s\n", infra, mem)
		}
		if err != nil {
			b.Fatal(err)
		}
		j := res.Journal
		for k, d := range startBreakdown(b, j) {
			sum[k] += d
		}
		awsLat += between(b, j, func(e verify.Event) bool {
			return e.Type == verify.EventAWS && strings.Contains(e.Message, "AttachRolePolicy")
		}, "fix")
		kubeLat += between(b, j, func(e verify.Event) bool {
			return e.Type == verify.EventKubectl && strings.Contains(e.Message, "patch deployments checkout")
		}, "restart")
	}
	n := time.Duration(b.N)
	mean := func(k string) float64 { return (sum[k] / n).Seconds() }
	b.ReportMetric(mean("handover"), "s-to-handover")
	b.ReportMetric(mean("provision"), "s-provision")
	b.ReportMetric(mean("symptom-gate"), "s-symptom-gate")
	b.ReportMetric(float64((awsLat/n).Microseconds())/1000, "ms-aws-change-to-journal")
	b.ReportMetric(float64((kubeLat/n).Microseconds())/1000, "ms-k8s-change-to-journal")
	fmt.Fprintf(os.Stderr, "%s: start to handover %.1fs = provision %.1fs (ready at: AWS %.1fs, control plane %.1fs, nodes %.1fs) + setup %.1fs + fault %.1fs + symptom gate %.1fs (mean of %d)\n", infra,
		mean("handover"), mean("provision"), mean("aws"), mean("control plane"), mean("nodes"), mean("setup"), mean("fault"), mean("symptom-gate"), b.N)
	fmt.Fprintf(os.Stderr, "%s: state change to journal: AWS %dms, Kubernetes %dms (mean of %d)\n", infra,
		(awsLat / n).Milliseconds(), (kubeLat / n).Milliseconds(), b.N)
}

// BenchmarkLibrary plays every built-in scenario's reference solution on
// autopilot on the embedded backend, one after another, and prints a
// table on stderr: per scenario, the time from start to handover (and
// its parts: provision, setup, fault, symptom gate) and from handover to
// the end of the game, which the solution ends when it achieves every
// objective. The targets (make bench): a handover within 15 s and a
// solution within 30 s, unless the incident itself needs longer. Run one
// scenario with -bench Library/NAME.
func BenchmarkLibrary(b *testing.B) {
	b.Setenv("GAMEDAY_CLI_MAIN", "1") // solutions call "$GAMEDAY diagnose": this test binary
	g := &globals{streams: Streams{ErrOut: os.Stderr}, log: slog.New(slog.DiscardHandler)}
	type row struct {
		name          string
		parts         map[string]time.Duration
		solution      time.Duration
		total, points int
	}
	var rows []row
	for _, name := range scenarios.BuiltinNames() {
		b.Run(name, func(b *testing.B) {
			sum := map[string]time.Duration{}
			var solution time.Duration
			var last verify.Result
			for i := 0; i < b.N; i++ {
				s, err := scenarios.LoadBuiltin(name)
				if err != nil {
					b.Fatal(err)
				}
				res, err := runner.Run(context.Background(), s, runner.Config{
					Provision: provision(g, scenarios.InfraEmbedded, "auto"), Root: b.TempDir(), Mode: runner.Autopilot,
					AutopilotGrace: 90 * time.Second,
				})
				if err != nil {
					b.Fatalf("%s: %v", name, err)
				}
				for k, d := range startBreakdown(b, res.Journal) {
					sum[k] += d
				}
				solution += res.Journal.Ended.Sub(res.Journal.Handover)
				last = res.Score
			}
			n := time.Duration(b.N)
			mean := map[string]time.Duration{}
			for k, d := range sum {
				mean[k] = d / n
			}
			b.ReportMetric(mean["handover"].Seconds(), "s-to-handover")
			b.ReportMetric((solution / n).Seconds(), "s-solution")
			rows = append(rows, row{name, mean, solution / n, last.Total, last.Max})
		})
	}
	if len(rows) == 0 {
		return
	}
	var t strings.Builder
	fmt.Fprintf(&t, "\n| scenario | to handover | provision | setup | fault | symptom gate | solution | score |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&t, "| %s | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s | %.1f s | %d/%d |\n", r.name, r.parts["handover"].Seconds(),
			r.parts[runner.PhaseProvision].Seconds(), r.parts[runner.PhaseSetup].Seconds(), r.parts[runner.PhaseFault].Seconds(),
			r.parts[runner.PhaseGate].Seconds(), r.solution.Seconds(), r.total, r.points)
	}
	fmt.Fprint(os.Stderr, t.String())
}

// BenchmarkSelfTestLibrary runs `gameday test --parallel 2` over the
// whole library (every solution, idle and wrong-fix game) and reports its
// wall time; the target is 6 minutes on a 2-core machine.
func BenchmarkSelfTestLibrary(b *testing.B) {
	for _, tool := range []string{"kubectl", "aws", "moto_server"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s is not on PATH", tool)
		}
	}
	var wall time.Duration
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "test", "--parallel", "2")
		cmd.Env = append(os.Environ(), "GAMEDAY_CLI_MAIN=1", "GAMEDAY_HOME="+b.TempDir())
		start := time.Now()
		out, err := cmd.Output()
		wall += time.Since(start)
		if err != nil {
			b.Fatalf("gameday test: %v\n%s", err, out)
		}
		fmt.Fprintf(os.Stderr, "%s", out)
	}
	b.ReportMetric((wall / time.Duration(b.N)).Seconds(), "s-library")
	fmt.Fprintf(os.Stderr, "gameday test --parallel 2 of the library: %.0f s (mean of %d)\n", (wall / time.Duration(b.N)).Seconds(), b.N)
}

// startBreakdown reads where a run's time to handover went from its
// journal: each phase's length (from its phase event to the next), the
// whole (start to handover), and when the environment's parts were ready
// (the provisioned step).
func startBreakdown(b *testing.B, j verify.Journal) map[string]time.Duration {
	b.Helper()
	at := map[string]time.Time{}
	out := map[string]time.Duration{"handover": j.Handover.Sub(j.Started)}
	for _, e := range j.Events {
		if _, seen := at[e.Phase]; e.Type == verify.EventPhase && !seen {
			at[e.Phase] = e.Time
		}
		if e.Type == verify.EventStep && e.Step == "provisioned" {
			for k, v := range e.Durations {
				out[k] = v.Duration()
			}
		}
	}
	phases := []string{runner.PhaseProvision, runner.PhaseSetup, runner.PhaseFault, runner.PhaseGate, runner.PhaseHandover}
	for i := 0; i+1 < len(phases); i++ {
		from, ok1 := at[phases[i]]
		to, ok2 := at[phases[i+1]]
		if !ok1 || !ok2 {
			b.Fatalf("journal lacks the %s or %s phase", phases[i], phases[i+1])
		}
		out[phases[i]] = to.Sub(from)
	}
	if _, ok := out["nodes"]; !ok {
		b.Fatal("journal lacks the provisioned step's timings")
	}
	return out
}

// between returns the time from the first event matching change to the
// objective's achievement.
func between(b *testing.B, j verify.Journal, change func(verify.Event) bool, objective string) time.Duration {
	b.Helper()
	var from, to time.Time
	for _, e := range j.Events {
		if from.IsZero() && change(e) {
			from = e.Time
		}
		if e.Type == verify.EventObjective && e.Objective == objective {
			to = e.Time
		}
	}
	if from.IsZero() || to.IsZero() {
		b.Fatalf("journal lacks the change or the %s objective", objective)
	}
	return to.Sub(from)
}

// nodeMemory is the peak memory of each kind node container seen by
// docker stats while a run plays.
type nodeMemory struct {
	mu   sync.Mutex
	peak map[string]float64 // container → MiB
	done chan struct{}
	wg   sync.WaitGroup
}

// sampleNodeMemory samples kind's node containers every interval until
// stop.
func sampleNodeMemory(interval time.Duration) *nodeMemory {
	m := &nodeMemory{peak: map[string]float64{}, done: make(chan struct{})}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			m.sample()
			select {
			case <-m.done:
				return
			case <-time.After(interval):
			}
		}
	}()
	return m
}

func (m *nodeMemory) stop() { close(m.done); m.wg.Wait() }

func (m *nodeMemory) sample() {
	names, err := exec.Command("docker", "ps", "--filter", "label=io.x-k8s.kind.cluster", "--format", "{{.Names}}").Output()
	if err != nil || len(strings.Fields(string(names))) == 0 {
		return
	}
	args := append([]string{"stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"}, strings.Fields(string(names))...)
	out, err := exec.Command("docker", args...).Output()
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line) // name 123.4MiB / 23.5GiB
		if len(f) < 2 {
			continue
		}
		if mib, ok := mebibytes(f[1]); ok && mib > m.peak[f[0]] {
			m.peak[f[0]] = mib
		}
	}
}

// mebibytes reads a size as docker stats prints it (512KiB, 1.2GiB).
func mebibytes(s string) (float64, bool) {
	for _, u := range []struct {
		suffix string
		mib    float64
	}{{"GiB", 1024}, {"MiB", 1}, {"KiB", 1.0 / 1024}, {"B", 1.0 / (1 << 20)}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * u.mib, err == nil
		}
	}
	return 0, false
}

// String is "control plane N MiB, workers N–N MiB, all N MiB".
func (m *nodeMemory) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cp, total float64
	var workers []float64
	for name, mib := range m.peak {
		total += mib
		if strings.HasSuffix(name, "-control-plane") {
			cp = mib
		} else {
			workers = append(workers, mib)
		}
	}
	if len(workers) == 0 {
		return "no node container seen"
	}
	return fmt.Sprintf("control plane %.0f MiB, %d workers %.0f–%.0f MiB, all %.0f MiB", cp, len(workers), slices.Min(workers), slices.Max(workers), total)
}

func TestMebibytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"512KiB", 0.5, true},
		{"123.5MiB", 123.5, true},
		{"1.5GiB", 1536, true},
		{"0B", 0, true},
		{"lots", 0, false},
		{"x.yMiB", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := mebibytes(tc.in)
			if ok != tc.ok || ok && got != tc.want {
				t.Errorf("mebibytes(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}
