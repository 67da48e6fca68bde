package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// BenchmarkRunAutopilot plays ecr-imagepullbackoff on autopilot and
// reports: where the time to handover goes (provision, with when the AWS
// plane, the control plane and the nodes were ready; setup; fault; the
// symptom gate), and the latency from a state change to its journal
// entry, for an AWS change (the operator's AttachRolePolicy call → the
// fix objective) and a Kubernetes change (the operator's rollout-restart
// patch, from the audit log → the restart objective). Run with: make
// bench.
func BenchmarkRunAutopilot(b *testing.B) {
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
		res, err := runner.Run(context.Background(), s, runner.Config{
			Provision: provision(g, scenarios.InfraEmbedded, "auto"), Root: b.TempDir(), Mode: runner.Autopilot,
		})
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
	fmt.Fprintf(os.Stderr, "run: start to handover %.1fs = provision %.1fs (ready at: AWS %.1fs, control plane %.1fs, nodes %.1fs) + setup %.1fs + fault %.1fs + symptom gate %.1fs (mean of %d)\n",
		mean("handover"), mean("provision"), mean("aws"), mean("control plane"), mean("nodes"), mean("setup"), mean("fault"), mean("symptom-gate"), b.N)
	fmt.Fprintf(os.Stderr, "run: state change to journal: AWS %dms, Kubernetes %dms (mean of %d)\n",
		(awsLat / n).Milliseconds(), (kubeLat / n).Milliseconds(), b.N)
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
