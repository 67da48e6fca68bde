package scenarios

import (
	"fmt"
	"slices"
)

// WrongFix is a tempting wrong answer to the incident: what a responder
// does instead of the reference solution, and what must follow. `gameday
// test` plays each one on autopilot beside the solution and the idle
// game, so a scenario proves its own penalties.
type WrongFix struct {
	// ID names the wrong fix in `gameday test` output. Required, unique,
	// lowercase letters, digits and '-'.
	ID string `yaml:"id"`
	// Title says what the responder does, in a line. Required.
	Title string `yaml:"title"`
	// Steps are the responder's commands, in order, run as the solution's
	// are (with KUBECONFIG, AWS_* and the scenario variables). At least
	// one.
	Steps []SolutionStep `yaml:"steps"`
	// Observe is how long the game goes on after the last step, to show
	// that the incident does not recover. Default 20s; at most the time
	// limit.
	Observe Duration `yaml:"observe"`
	// Expect is what must follow. It must judge the fix wrong: at least
	// one penalty, an objective left unachieved, or a score below full
	// marks.
	Expect WrongFixExpect `yaml:"expect"`
}

// WrongFixExpect is what a wrong fix must lead to. Every field that is
// set must hold.
type WrongFixExpect struct {
	// Penalties are ids from spec.penalties that must apply.
	Penalties []string `yaml:"penalties"`
	// Unachieved are ids from spec.objectives that must stay unachieved.
	Unachieved []string `yaml:"unachieved"`
	// Outcome is how the game must end: completed (every objective
	// achieved, at a cost) or time-limit (it did not recover). Optional.
	Outcome string `yaml:"outcome"`
	// Score is the exact total the game must score. Optional.
	Score *int `yaml:"score"`
	// FalsePositives is how many wrong claims the game must count.
	// Optional.
	FalsePositives *int `yaml:"falsePositives"`
}

// The ways a wrong fix's game may end (WrongFixExpect.Outcome); they are
// the journal's outcomes of the same names.
const (
	WrongFixCompleted = "completed"
	WrongFixTimeLimit = "time-limit"
)

// WrongFixOutcomes are the outcomes a wrong fix may expect.
var WrongFixOutcomes = []string{WrongFixCompleted, WrongFixTimeLimit}

// WithSteps returns a copy of the scenario whose reference solution is
// steps: how a wrong fix, or any other answer, is played on autopilot.
// The scenario itself is not changed.
func (s *Scenario) WithSteps(steps []SolutionStep) *Scenario {
	c := *s
	c.Spec.Solution = slices.Clone(steps)
	return &c
}

// WrongFix returns the wrong fix with the id, or nil.
func (s *Scenario) WrongFix(id string) *WrongFix {
	for i := range s.Spec.WrongFixes {
		if s.Spec.WrongFixes[i].ID == id {
			return &s.Spec.WrongFixes[i]
		}
	}
	return nil
}

// MaxScore is the score of a run that achieves every objective in time
// with no hint, penalty or wrong claim: the sum of the objectives'
// points.
func (s *Scenario) MaxScore() int {
	n := 0
	for _, o := range s.Spec.Objectives {
		n += o.Points
	}
	return n
}

func (v *Checker) checkWrongFixes() {
	seen := map[string]bool{}
	penalties := map[string]bool{}
	for _, pe := range v.s.Spec.Penalties {
		penalties[pe.ID] = true
	}
	for i := range v.s.Spec.WrongFixes {
		w := &v.s.Spec.WrongFixes[i]
		p := fmt.Sprintf("spec.wrongFixes[%d]", i)
		v.id(seen, p+".id", "wrong fix", w.ID)
		v.required(p+".title", w.Title)
		if len(w.Steps) == 0 {
			v.errs.add(p+".steps", "at least one step is required: what the responder does")
		}
		v.commands(p+".steps", w.Steps)
		if w.Observe.Duration > v.s.Metadata.TimeLimit.Duration {
			v.errs.add(p+".observe", "%s is beyond the time limit %s", w.Observe, v.s.Metadata.TimeLimit)
		}
		v.checkWrongFixExpect(p+".expect", &w.Expect, penalties)
	}
}

func (v *Checker) checkWrongFixExpect(p string, e *WrongFixExpect, penalties map[string]bool) {
	for j, id := range e.Penalties {
		if !penalties[id] {
			v.ref(fmt.Sprintf("%s.penalties[%d]", p, j), "penalty", id, keys(penalties))
		}
	}
	for j, id := range e.Unachieved {
		if v.objectives[id] == nil {
			v.ref(fmt.Sprintf("%s.unachieved[%d]", p, j), "objective", id, keys(v.objectives))
		}
	}
	if e.Outcome != "" {
		v.oneOf(p+".outcome", e.Outcome, WrongFixOutcomes)
	}
	max := v.s.MaxScore()
	if e.Score != nil && (*e.Score < 0 || *e.Score >= max) {
		v.errs.add(p+".score", "a wrong fix scores less than full marks (%d) and not below 0, got %d", max, *e.Score)
	}
	if e.FalsePositives != nil && *e.FalsePositives < 0 {
		v.errs.add(p+".falsePositives", "must not be negative, got %d", *e.FalsePositives)
	}
	wrong := len(e.Penalties) > 0 || len(e.Unachieved) > 0 || e.Score != nil || (e.FalsePositives != nil && *e.FalsePositives > 0)
	if !wrong {
		v.errs.add(p, "nothing judges this fix wrong: expect a penalty, an unachieved objective, a score below %d or a false positive", max)
	}
}
