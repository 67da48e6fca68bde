package runner

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/verify"
)

// names are the phase machine's phases, in order.
var names = []string{PhaseProvision, PhaseSetup, PhaseFault, PhaseGate, PhaseHandover, PhaseObserve}

func TestPhaseOrder(t *testing.T) {
	var got []string
	for _, p := range phases {
		got = append(got, p.name)
	}
	if !slices.Equal(got, names) {
		t.Errorf("phases %v, want %v", got, names)
	}
}

// fakeRun is a run with a journal and nothing else: enough for play.
func fakeRun() *run {
	return &run{
		cfg:     Config{Progress: func(string, string) {}},
		rec:     verify.NewRecorder("r1", verify.Spec{}, nil),
		log:     slog.New(slog.DiscardHandler),
		outcome: verify.OutcomeInfraError,
	}
}

// table is a phase table of the real names in which phase fail returns
// err (and cancels the context first when interrupt is set), each phase
// registers a cleanup that logs its name, and the observe phase sets
// the outcome as the real one does.
func table(fail string, err error, interrupt context.CancelFunc, ran, cleaned *[]string) []phase {
	var out []phase
	for _, n := range names {
		out = append(out, phase{name: n, run: func(r *run, ctx context.Context) error {
			*ran = append(*ran, n)
			r.onEnd(func(error) error { *cleaned = append(*cleaned, n); return nil })
			if n == fail {
				if interrupt != nil {
					interrupt()
					return ctx.Err()
				}
				return err
			}
			if n == PhaseObserve {
				r.outcome = verify.OutcomeCompleted
			}
			return nil
		}})
	}
	return out
}

func phaseEvents(r *run) []string {
	var out []string
	for _, e := range r.rec.Snapshot().Events {
		if e.Type == verify.EventPhase {
			out = append(out, e.Phase)
		}
	}
	return out
}

func TestPlay(t *testing.T) {
	boom := errors.New("boom")
	type tc struct {
		name      string
		fail      string
		err       error
		interrupt bool
		kind      errkind.Kind
		outcome   string
	}
	tests := []tc{
		{name: "every phase passes", outcome: verify.OutcomeCompleted},
		{name: "symptoms never appear", fail: PhaseGate, err: errkind.Errorf(errkind.NotReproduced, "no symptoms in 1m"),
			kind: errkind.NotReproduced, outcome: verify.OutcomeNotReproduced},
		{name: "an internal error is the infrastructure's", fail: PhaseSetup, err: errkind.E(errkind.Internal, boom),
			kind: errkind.Infra, outcome: verify.OutcomeInfraError},
		{name: "observe judges the run itself", fail: PhaseObserve, err: errkind.Errorf(errkind.Failed, "run ended: time-limit"),
			kind: errkind.Failed, outcome: verify.OutcomeInfraError},
	}
	for _, n := range names {
		tests = append(tests,
			tc{name: n + " fails", fail: n, err: errkind.E(errkind.Infra, boom), kind: errkind.Infra, outcome: verify.OutcomeInfraError})
		if n != PhaseObserve { // observe turns an interrupt into its own outcome
			tests = append(tests, tc{name: "interrupt during " + n, fail: n, interrupt: true, kind: errkind.Aborted, outcome: verify.OutcomeAborted})
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var interrupt context.CancelFunc
			if tt.interrupt {
				interrupt = cancel
			}
			var ran, cleaned []string
			r := fakeRun()
			err := r.play(ctx, table(tt.fail, tt.err, interrupt, &ran, &cleaned))
			switch {
			case tt.fail == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.fail != "" && errkind.Of(err) != tt.kind:
				t.Errorf("error %v of kind %v, want %v", err, errkind.Of(err), tt.kind)
			}
			if r.outcome != tt.outcome {
				t.Errorf("outcome %q, want %q", r.outcome, tt.outcome)
			}
			want := names
			if i := slices.Index(names, tt.fail); i >= 0 {
				want = names[:i+1]
			}
			if !slices.Equal(ran, want) {
				t.Errorf("phases run %v, want %v", ran, want)
			}
			if !slices.Equal(phaseEvents(r), want) {
				t.Errorf("journal phases %v, want %v", phaseEvents(r), want)
			}
			reversed := slices.Clone(want)
			slices.Reverse(reversed)
			if !slices.Equal(cleaned, reversed) {
				t.Errorf("cleanups ran %v, want %v (newest first)", cleaned, reversed)
			}
		})
	}
}

func TestPlayCleanupErrors(t *testing.T) {
	teardown := errkind.Errorf(errkind.Infra, "teardown: stuck")
	tests := []struct {
		name    string
		failAt  string
		wantErr string
	}{
		{"a failed teardown fails a run that passed", "", "teardown: stuck"},
		{"the first error wins", PhaseSetup, "setup broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fakeRun()
			tb := []phase{
				{name: PhaseProvision, run: func(r *run, _ context.Context) error {
					r.onEnd(func(error) error { return teardown })
					return nil
				}},
				{name: PhaseSetup, run: func(*run, context.Context) error {
					if tt.failAt == PhaseSetup {
						return errkind.Errorf(errkind.Infra, "setup broke")
					}
					return nil
				}},
			}
			err := r.play(context.Background(), tb)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("error %v, want %q", err, tt.wantErr)
			}
		})
	}
}
