package selftest

import (
	"strings"
	"testing"

	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

func TestWrongFixVerdict(t *testing.T) {
	intp := func(n int) *int { return &n }
	w := &scenarios.WrongFix{ID: "rollback", Title: "Roll back", Expect: scenarios.WrongFixExpect{
		Penalties: []string{"needless-rollback"}, Unachieved: []string{"fix"},
		Outcome: scenarios.WrongFixTimeLimit, Score: intp(15), FalsePositives: intp(0),
	}}
	// judged is a game that went as w expects.
	judged := func() runner.Result {
		return runner.Result{
			Journal: verify.Journal{Outcome: verify.OutcomeTimeLimit},
			Score: verify.Result{Total: 15,
				Penalties:  []verify.PenaltyResult{{ID: "needless-rollback"}},
				Objectives: []verify.ObjectiveResult{{ID: "detect", Achieved: true}, {ID: "fix"}}},
		}
	}
	tests := []struct {
		name string
		edit func(*runner.Result)
		want []string // substrings of the error; none: the check passes
	}{
		{"everything expected followed", func(*runner.Result) {}, nil},
		{"the penalty did not apply", func(r *runner.Result) { r.Score.Penalties = nil },
			[]string{"Roll back: penalty needless-rollback did not apply"}},
		{"the fix was achieved", func(r *runner.Result) { r.Score.Objectives[1].Achieved = true },
			[]string{"objective fix was achieved"}},
		{"another outcome, score and claims", func(r *runner.Result) {
			r.Journal.Outcome, r.Score.Total, r.Score.Detection.FalsePositives = verify.OutcomeCompleted, 70, 2
		}, []string{"the game ended completed, not time-limit", "it scores 70, not 15", "2 false positive(s), not 0"}},
		{"a step failed", func(r *runner.Result) {
			r.Journal.Events = append(r.Journal.Events, verify.Event{Type: verify.EventStep, Step: "autopilot", Message: "failed: solution step 1 (Roll back): exit status 1"})
		}, []string{"a step of the wrong fix failed, so it proves nothing: solution step 1 (Roll back)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := judged()
			tt.edit(&res)
			err := wrongFixVerdict(res, nil, w)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want a pass", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("passed; want %q", tt.want)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}
