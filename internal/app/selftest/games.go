package selftest

// The games gameday test plays: which checks of which variants.

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// otherAnswerSearch is how many seeds after a variant's otherAnswer looks
// at.
const otherAnswerSearch = 64

// otherAnswer is the first variant after s's (by seed) that chose
// differently for every parameter and whose reference solution reads
// differently: what a responder who memorised another game would type.
// A variant that shares a choice with s may share its answer too (the
// same app with only its version changed), which memorising would
// rightly solve.
func otherAnswer(s *scenarios.Scenario) (*scenarios.Scenario, error) {
	mine := solutionText(s)
	for seed := s.Variant.Seed + 1; seed <= s.Variant.Seed+otherAnswerSearch; seed++ {
		v, err := s.WithSeed(seed)
		if err != nil {
			return nil, err
		}
		if s.DiffersEverywhere(v) && solutionText(v) != mine {
			return v, nil
		}
	}
	return nil, fmt.Errorf("none of the next %d seeds chooses differently for every parameter with a reference solution that reads differently from seed %d's: its parameters do not reach the answer", otherAnswerSearch, s.Variant.Seed)
}

// solutionText is a scenario's reference solution as the commands it runs.
func solutionText(s *scenarios.Scenario) string {
	var b strings.Builder
	for _, st := range s.Spec.Solution {
		b.WriteString(st.Run + "\n")
	}
	return b.String()
}

// falseAlarm returns a copy of a control scenario whose solution claims
// its first wrong cause (a decoy: the validator requires one) instead of
// the right answer, and that cause.
func falseAlarm(s *scenarios.Scenario) (*scenarios.Scenario, string) {
	cause := verify.Decoys(s.JournalSpec())[0]
	return s.WithSteps([]scenarios.SolutionStep{{
		Description: "Claim a failure on a healthy cluster",
		Run:         fmt.Sprintf(`"$GAMEDAY" diagnose --cause %s --note "false alarm, on purpose"`, cause),
	}}), cause
}

// selectGames lists the games gameday test plays: for each variant (see
// variants) of each scenario named (the built-in library when none is),
// its detection game with --detector, else its solution, idle,
// false-alarm (a control), memorised (parameters, not a control) and
// wrong fixes; with --only, the one game of that check.
func selectGames(refs []string, o Options) ([]Game, error) {
	var games []Game
	add := func(ref string, s *scenarios.Scenario) {
		if o.Detector != "" {
			games = append(games, Game{ref, s, checkDetect})
			return
		}
		games = append(games, Game{ref, s, checkSolution}, Game{ref, s, checkIdle})
		if s.Spec.Control {
			games = append(games, Game{ref, s, checkFalseAlarm})
		}
		if len(s.Spec.Parameters) > 0 && !s.Spec.Control { // a control's answer is to do nothing
			games = append(games, Game{ref, s, checkMemorised})
		}
		for _, w := range s.Spec.WrongFixes {
			games = append(games, Game{ref, s, checkWrongFix + ":" + w.ID})
		}
	}
	addVariants := func(ref string, s *scenarios.Scenario) error {
		vs, err := variants(s, o)
		for _, v := range vs {
			add(ref, v)
		}
		return err
	}
	if len(refs) == 0 {
		all, err := scenarios.Builtin()
		if err != nil {
			return nil, err
		}
		for _, s := range all {
			if err := addVariants(s.Metadata.Name, s); err != nil {
				return nil, err
			}
		}
	}
	for _, a := range refs {
		s, err := scenarios.Resolve(a)
		if err != nil {
			return nil, err
		}
		if err := addVariants(a, s); err != nil {
			return nil, err
		}
	}
	if o.Only != "" {
		games = slices.DeleteFunc(games, func(x Game) bool { return x.Check != o.Only })
		if len(games) != 1 {
			return nil, errkind.Errorf(errkind.Invalid, "--only %s goes with one scenario", o.Only)
		}
	}
	return games, nil
}

// variants are the variants of s that o plays: seeds 1 to o.Variants,
// else o.Seed's, else s itself (the canonical one); s alone when it has
// no parameters.
func variants(s *scenarios.Scenario, o Options) ([]*scenarios.Scenario, error) {
	var seeds []uint64
	switch {
	case len(s.Spec.Parameters) == 0:
		return []*scenarios.Scenario{s}, nil
	case o.Variants > 0:
		for seed := uint64(1); seed <= uint64(o.Variants); seed++ {
			seeds = append(seeds, seed)
		}
	case o.Seed != nil:
		seeds = []uint64{*o.Seed}
	default:
		return []*scenarios.Scenario{s}, nil
	}
	out := make([]*scenarios.Scenario, 0, len(seeds))
	for _, seed := range seeds {
		v, err := s.WithSeed(seed)
		if err != nil {
			return nil, fmt.Errorf("%s seed=%d: %w", s.Metadata.Name, seed, err)
		}
		out = append(out, v)
	}
	return out, nil
}
