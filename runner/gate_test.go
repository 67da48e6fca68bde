package runner

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
	"github.com/gameday-sre/gameday/verify/live"
)

// fakeSymptoms is a cluster whose symptoms appear after a number of
// evaluations (never, when negative), and that says it changed on every
// evaluation when eager.
type fakeSymptoms struct {
	mu      sync.Mutex
	after   int
	evals   int
	changed chan struct{}
}

func (f *fakeSymptoms) Symptoms(context.Context) []live.CheckFailure {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evals++
	if f.after >= 0 && f.evals > f.after {
		return nil
	}
	return []live.CheckFailure{{Check: "pods-stuck", Observed: "2/2 pods Running"}}
}

func (f *fakeSymptoms) Changed() <-chan struct{} { return f.changed }

func TestAwaitSymptoms(t *testing.T) {
	spec := scenarios.Symptoms{Checks: []scenarios.Check{{Name: "pods-stuck"}, {Name: "no-endpoints"}}}
	tests := []struct {
		name      string
		after     int           // evaluations before the symptoms appear; -1 never
		timeout   time.Duration // the scenario's symptom timeout
		poll      time.Duration
		changes   bool // the cluster signals a change (else only the poll wakes the gate)
		interrupt bool
		wantKind  errkind.Kind // 0: passes
		wantText  string
		wantEvals int // at least
	}{
		{name: "symptoms already there", after: 0, timeout: time.Second, poll: time.Hour, wantEvals: 1},
		{name: "a change wakes the gate", after: 3, timeout: 10 * time.Second, poll: time.Hour, changes: true, wantEvals: 4},
		{name: "the poll wakes the gate", after: 2, timeout: 10 * time.Second, poll: 5 * time.Millisecond, wantEvals: 3},
		{name: "symptoms that never appear time out", after: -1, timeout: 50 * time.Millisecond, poll: 5 * time.Millisecond,
			wantKind: errkind.NotReproduced,
			wantText: "scenario did not reproduce: 1 of 2 symptoms did not appear within 50ms\n  - pods-stuck: observed 2/2 pods Running", wantEvals: 2},
		{name: "an interrupt ends the wait", after: -1, timeout: time.Hour, poll: time.Hour, interrupt: true, wantKind: errkind.Aborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSymptoms{after: tt.after, changed: make(chan struct{})}
			if tt.changes {
				close(src.changed) // always readable: every evaluation is followed by another
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.interrupt {
				cancel()
			}
			rec := verify.NewRecorder("r1", verify.Spec{}, nil)
			sp := spec
			sp.Timeout.Duration = tt.timeout
			err := awaitSymptoms(ctx, src, sp, rec, tt.poll)
			switch {
			case tt.wantKind == 0 && err != nil:
				t.Fatalf("error %v, want none", err)
			case tt.wantKind == errkind.Aborted && err != context.Canceled:
				t.Fatalf("error %v, want the context's", err)
			case tt.wantKind == errkind.NotReproduced && (errkind.Of(err) != errkind.NotReproduced || err.Error() != tt.wantText):
				t.Fatalf("error %q of kind %v, want %q (not reproduced)", err, errkind.Of(err), tt.wantText)
			}
			if src.evals < tt.wantEvals {
				t.Errorf("%d evaluations, want at least %d", src.evals, tt.wantEvals)
			}
			var seen []string
			for _, e := range rec.Snapshot().Events {
				if e.Type == verify.EventSymptom {
					seen = append(seen, e.Check)
				}
			}
			want := ""
			if tt.wantKind == 0 {
				want = "pods-stuck,no-endpoints"
			}
			if strings.Join(seen, ",") != want {
				t.Errorf("journalled symptoms %v, want %q", seen, want)
			}
		})
	}
}
