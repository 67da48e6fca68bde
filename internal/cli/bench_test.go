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
// reports: time from start to handover; and the latency from a state
// change to its journal entry, for an AWS change (the operator's
// AttachRolePolicy call → the fix objective) and a Kubernetes change (the
// operator's rollout-restart patch, from the audit log → the restart
// objective). Run with: make bench.
func BenchmarkRunAutopilot(b *testing.B) {
	// Solutions call "$GAMEDAY diagnose"; here that is this test binary.
	b.Setenv("GAMEDAY_CLI_MAIN", "1")
	g := &globals{streams: Streams{ErrOut: os.Stderr}, log: slog.New(slog.DiscardHandler)}
	var handover, awsLat, kubeLat time.Duration
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
		handover += j.Handover.Sub(j.Started)
		awsLat += between(b, j, func(e verify.Event) bool {
			return e.Type == verify.EventAWS && strings.Contains(e.Message, "AttachRolePolicy")
		}, "fix")
		kubeLat += between(b, j, func(e verify.Event) bool {
			return e.Type == verify.EventKubectl && strings.Contains(e.Message, "patch deployments checkout")
		}, "restart")
	}
	n := time.Duration(b.N)
	b.ReportMetric((handover / n).Seconds(), "s-to-handover")
	b.ReportMetric(float64((awsLat/n).Microseconds())/1000, "ms-aws-change-to-journal")
	b.ReportMetric(float64((kubeLat/n).Microseconds())/1000, "ms-k8s-change-to-journal")
	fmt.Fprintf(os.Stderr, "run: start to handover %.1fs; state change to journal: AWS %dms, Kubernetes %dms (mean of %d)\n",
		(handover / n).Seconds(), (awsLat / n).Milliseconds(), (kubeLat / n).Milliseconds(), b.N)
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
