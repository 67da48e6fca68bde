package live

import (
	"context"
	"sync"
	"time"

	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// Tracker watches a run's objectives and penalties and records each
// change in the journal the moment it is observed.
type Tracker struct {
	s   *scenarios.Scenario
	rec *verify.Recorder

	mu        sync.Mutex
	ev        *Evaluator
	achieved  map[string]time.Time
	penalised map[string]bool
}

// NewTracker returns a tracker; attach an evaluator with SetEvaluator.
func NewTracker(s *scenarios.Scenario, rec *verify.Recorder) *Tracker {
	return &Tracker{s: s, rec: rec, achieved: map[string]time.Time{}, penalised: map[string]bool{}}
}

// SetEvaluator sets the evaluator conditions are checked with.
func (t *Tracker) SetEvaluator(ev *Evaluator) { t.ev = ev }

// Achieved reports when an objective was achieved.
func (t *Tracker) Achieved(id string) (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.achieved[id]
	return at, ok
}

// Check evaluates every pending objective (once its after objectives are
// achieved) and every penalty not yet observed, records what changed, and
// reports whether every objective is achieved.
func (t *Tracker) Check(ctx context.Context) bool {
	round := NewRound()
	for changed := true; changed; {
		changed = false
		for i := range t.s.Spec.Objectives {
			o := &t.s.Spec.Objectives[i]
			if _, done := t.Achieved(o.ID); done || !t.depsDone(o.After) {
				continue
			}
			if ok, obs := t.ev.Eval(ctx, &o.When, round); ok {
				e := t.rec.Add(verify.Event{Type: verify.EventObjective, Objective: o.ID, Message: o.Title + ": " + obs, Finding: t.ev.Claim(&o.When)})
				t.mu.Lock()
				t.achieved[o.ID] = e.Time
				t.mu.Unlock()
				changed = true
			}
		}
	}
	for i := range t.s.Spec.Penalties {
		p := &t.s.Spec.Penalties[i]
		t.mu.Lock()
		seen := t.penalised[p.ID]
		t.mu.Unlock()
		if seen {
			continue
		}
		if ok, obs := t.ev.Eval(ctx, &p.When, round); ok {
			t.rec.Add(verify.Event{Type: verify.EventPenalty, Penalty: p.ID, Message: p.Title + ": " + obs})
			t.mu.Lock()
			t.penalised[p.ID] = true
			t.mu.Unlock()
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.achieved) == len(t.s.Spec.Objectives)
}

func (t *Tracker) depsDone(after []string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range after {
		if _, ok := t.achieved[a]; !ok {
			return false
		}
	}
	return true
}

// CheckFailure is a symptom check that does not hold, with what was seen.
type CheckFailure struct {
	Check    string
	Observed string
}

// Symptoms evaluates the scenario's symptom checks and returns those that
// do not hold.
func (e *Evaluator) Symptoms(ctx context.Context) []CheckFailure {
	var out []CheckFailure
	round := NewRound()
	for i := range e.s.Spec.Symptoms.Checks {
		c := &e.s.Spec.Symptoms.Checks[i]
		if ok, obs := e.Eval(ctx, &c.When, round); !ok {
			out = append(out, CheckFailure{Check: c.Name, Observed: obs})
		}
	}
	return out
}

// Holds evaluates one condition on its own.
func (e *Evaluator) Holds(ctx context.Context, c *scenarios.Condition) (bool, string) {
	return e.Eval(ctx, c, NewRound())
}
