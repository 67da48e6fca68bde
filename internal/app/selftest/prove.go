package selftest

// Proofs: a scenario's games played, and the verdict on each.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// proveAll plays the solution and idle games, --parallel at a time, prints
// a line per check as it ends, and returns how many failed.
func proveAll(ctx context.Context, h Host, games []Game, o Options) int {
	var mu sync.Mutex
	failed := 0
	emit := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(line, "FAIL") {
			failed++
		}
		fmt.Fprintln(h.Out, line)
	}
	// A backend that cannot run here fails the scenario once, before any
	// game.
	refused := map[string]bool{}
	for _, x := range games {
		if name := x.S.Metadata.Name; !refused[name] {
			if _, err := h.Config(ctx, x.S); err != nil {
				refused[name] = true
				emit(proveLine(x.S, "backend", err))
			}
		}
	}
	games = slices.DeleteFunc(slices.Clone(games), func(x Game) bool { return refused[x.S.Metadata.Name] })
	parallel(len(games), o.Parallel, func(i int) {
		if ctx.Err() != nil {
			return
		}
		var line string
		if o.Parallel > 1 {
			out, err := subGame(ctx, h, games[i])
			line = strings.TrimSpace(out)
			if !strings.HasPrefix(line, "ok") && !strings.HasPrefix(line, "FAIL") {
				line = proveLine(games[i].S, games[i].Check, fmt.Errorf("the game's process ended with %v and said %q", err, line))
			}
		} else {
			line = proveLine(games[i].S, games[i].Check, prove(ctx, h, games[i], o))
		}
		if ctx.Err() == nil {
			emit(line)
		}
	})
	return failed
}

// proveLine is a check's result line: "ok   NAME CHECK" or "FAIL NAME
// CHECK: why", with seed=N after the name of a scenario with parameters.
func proveLine(s *scenarios.Scenario, check string, err error) string {
	if err != nil {
		return fmt.Sprintf("FAIL %s %s: %v", label(s), check, err)
	}
	return fmt.Sprintf("ok   %s %s", label(s), check)
}

// prove plays one solution or idle game in this process.
func prove(ctx context.Context, h Host, x Game, o Options) error {
	cfg, err := h.Config(ctx, x.S)
	if err != nil {
		return err
	}
	if x.Check == checkSolution {
		cfg.Mode, cfg.AutopilotGrace = runner.Autopilot, o.Grace
		res, err := runner.Run(ctx, x.S, cfg)
		return solutionVerdict(res, err)
	}
	if id, ok := strings.CutPrefix(x.Check, checkWrongFix+":"); ok {
		w := x.S.WrongFix(id)
		if w == nil {
			return errkind.Errorf(errkind.Invalid, "%s has no wrong fix %q", x.S.Metadata.Name, id)
		}
		cfg.Mode, cfg.AutopilotGrace = runner.Autopilot, w.Observe.Duration
		res, err := runner.Run(ctx, x.S.WithSteps(w.Steps), cfg)
		return wrongFixVerdict(res, err, w)
	}
	if x.Check == checkMemorised {
		other, err := otherAnswer(x.S)
		if err != nil {
			return err
		}
		// The same grace as the solution's game: an answer that would reach
		// full marks a little later must not pass for a wrong one.
		cfg.Mode, cfg.AutopilotGrace = runner.Autopilot, o.Grace
		res, err := runner.Run(ctx, x.S.WithSteps(other.Spec.Solution), cfg)
		return memorisedVerdict(res, err, other.Variant.Seed)
	}
	cfg.TimeLimit = o.Idle
	if x.Check == checkFalseAlarm {
		s, claim := falseAlarm(x.S)
		cfg.Mode = runner.Autopilot
		res, err := runner.Run(ctx, s, cfg)
		return falseAlarmVerdict(res, err, claim)
	}
	res, err := runner.Run(ctx, x.S, cfg)
	if x.S.Spec.Control {
		return controlIdleVerdict(res, err)
	}
	return idleVerdict(res, err)
}

// memorisedVerdict: another variant's solution, replayed word for word,
// must not score full marks.
func memorisedVerdict(res runner.Result, err error, seed uint64) error {
	if k := errkind.Of(err); k == errkind.NotReproduced || k == errkind.Infra || k == errkind.Aborted {
		return err
	}
	if r := res.Score; r.Total >= r.Max {
		return fmt.Errorf("the reference solution of seed %d, replayed word for word, scores %d of %d: a memorised answer solves this variant (run %s)",
			seed, r.Total, r.Max, res.Dir.Path)
	}
	return nil
}

func solutionVerdict(res runner.Result, err error) error {
	if errkind.Of(err) == errkind.NotReproduced || errkind.Of(err) == errkind.Infra {
		return err
	}
	r := res.Score
	var missed []string
	for _, o := range r.Objectives {
		if !o.Achieved {
			missed = append(missed, o.ID)
		}
	}
	if len(missed) > 0 {
		return fmt.Errorf("the reference solution does not achieve %s (outcome %s; run %s)", strings.Join(missed, ", "), res.Journal.Outcome, res.Dir.Path)
	}
	if r.Total != r.Max {
		return fmt.Errorf("the reference solution scores %d of %d: %s (run %s)", r.Total, r.Max, strings.Join(lost(r), "; "), res.Dir.Path)
	}
	return nil
}

func lost(r verify.Result) []string {
	var out []string
	for _, l := range r.Explanation {
		if strings.HasPrefix(l, "-") {
			out = append(out, l)
		}
	}
	return out
}

// controlIdleVerdict: on a control, doing nothing is the right answer
// and must score full marks.
func controlIdleVerdict(res runner.Result, err error) error {
	if err != nil {
		return err
	}
	if r := res.Score; r.Total != r.Max {
		return fmt.Errorf("with nobody acting on a healthy cluster, the run scores %d of %d: %s (run %s)", r.Total, r.Max, strings.Join(lost(r), "; "), res.Dir.Path)
	}
	return nil
}

// falseAlarmVerdict: on a control, claiming a failure cause must be
// judged a false positive and cost points.
func falseAlarmVerdict(res runner.Result, err error, cause string) error {
	if k := errkind.Of(err); k == errkind.NotReproduced || k == errkind.Infra || k == errkind.Aborted {
		return err
	}
	r := res.Score
	switch {
	case r.Detection.FalsePositives == 0:
		return fmt.Errorf("the claim %s on a healthy cluster was not counted as a false positive (run %s)", cause, res.Dir.Path)
	case r.Total >= r.Max:
		return fmt.Errorf("the false alarm %s scores %d of %d: it costs nothing (run %s)", cause, r.Total, r.Max, res.Dir.Path)
	}
	return nil
}

func idleVerdict(res runner.Result, err error) error {
	if k := errkind.Of(err); k == errkind.NotReproduced || k == errkind.Infra || k == errkind.Aborted {
		return err
	}
	var recovered []string
	for _, o := range res.Score.Objectives {
		if o.Achieved && slices.Contains([]string{scenarios.CategoryRecover, scenarios.CategoryFix}, o.Category) {
			recovered = append(recovered, o.ID)
		}
	}
	if len(recovered) > 0 {
		return fmt.Errorf("with nobody acting, %s were achieved: the incident heals itself (run %s)", strings.Join(recovered, ", "), res.Dir.Path)
	}
	return nil
}

// wrongFixVerdict: a declared wrong fix must have been played in full
// (no step failed) and led to everything it expects.
func wrongFixVerdict(res runner.Result, err error, w *scenarios.WrongFix) error {
	if k := errkind.Of(err); k == errkind.NotReproduced || k == errkind.Infra || k == errkind.Aborted {
		return err
	}
	if msg, failed := runner.AutopilotFailure(res.Journal); failed {
		return fmt.Errorf("a step of the wrong fix failed, so it proves nothing: %s (run %s)", msg, res.Dir.Path)
	}
	r, e := res.Score, w.Expect
	var missed []string
	for _, id := range e.Penalties {
		if !slices.ContainsFunc(r.Penalties, func(p verify.PenaltyResult) bool { return p.ID == id }) {
			missed = append(missed, "penalty "+id+" did not apply")
		}
	}
	for _, id := range e.Unachieved {
		if slices.ContainsFunc(r.Objectives, func(o verify.ObjectiveResult) bool { return o.ID == id && o.Achieved }) {
			missed = append(missed, "objective "+id+" was achieved")
		}
	}
	if e.Outcome != "" && res.Journal.Outcome != e.Outcome {
		missed = append(missed, fmt.Sprintf("the game ended %s, not %s", res.Journal.Outcome, e.Outcome))
	}
	if e.Score != nil && r.Total != *e.Score {
		missed = append(missed, fmt.Sprintf("it scores %d, not %d", r.Total, *e.Score))
	}
	if e.FalsePositives != nil && r.Detection.FalsePositives != *e.FalsePositives {
		missed = append(missed, fmt.Sprintf("%d false positive(s), not %d", r.Detection.FalsePositives, *e.FalsePositives))
	}
	if len(missed) > 0 {
		return fmt.Errorf("%s: %s (run %s)", w.Title, strings.Join(missed, "; "), res.Dir.Path)
	}
	return nil
}
