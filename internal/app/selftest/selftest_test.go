package selftest

import (
	"strings"
	"testing"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
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

const variantsScenario = "../../../scenarios/testdata/valid/variants/scenario.yaml"

func TestSelectGamesOfVariants(t *testing.T) {
	seven := uint64(7)
	tests := []struct {
		name string
		o    Options
		want []string // label and check of each game
	}{
		{"the canonical variant by default", Options{}, []string{"variants seed=0 solution", "variants seed=0 idle", "variants seed=0 memorised"}},
		{"one seed", Options{Seed: &seven}, []string{"variants seed=7 solution", "variants seed=7 idle", "variants seed=7 memorised"}},
		{"seeds 1 to 3", Options{Variants: 3}, []string{
			"variants seed=1 solution", "variants seed=1 idle", "variants seed=1 memorised",
			"variants seed=2 solution", "variants seed=2 idle", "variants seed=2 memorised",
			"variants seed=3 solution", "variants seed=3 idle", "variants seed=3 memorised"}},
		{"one check of one seed", Options{Seed: &seven, Only: "idle"}, []string{"variants seed=7 idle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			games, err := selectGames([]string{variantsScenario}, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range games {
				got = append(got, label(x.S)+" "+x.Check)
				if s := x.seed(); s == nil || *s != x.S.Variant.Seed {
					t.Errorf("%s: the child would play seed %v", label(x.S), s)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("games:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
	// Variants differ in what they play, not only in their seed.
	games, _ := selectGames([]string{variantsScenario}, Options{Variants: 6})
	briefings := map[string]bool{}
	for _, x := range games {
		briefings[x.S.Spec.Briefing] = true
	}
	if len(briefings) < 2 {
		t.Errorf("six seeds played %d briefing(s)", len(briefings))
	}
}

func TestRunRefusesBadVariants(t *testing.T) {
	one := uint64(1)
	for name, o := range map[string]Options{
		"negative variants":  {Parallel: 1, Variants: -1},
		"variants and seed":  {Parallel: 1, Variants: 2, Seed: &one},
		"parallel of naught": {Parallel: 0},
	} {
		t.Run(name, func(t *testing.T) {
			err := Run(t.Context(), Host{}, []string{variantsScenario}, o)
			if errkind.Of(err) != errkind.Invalid {
				t.Errorf("got %v, want an Invalid error", err)
			}
		})
	}
}

func TestSuiteTableWithVariants(t *testing.T) {
	sec := func(s float64) *verify.Seconds { v := verify.Seconds(s); return &v }
	seed := func(n uint64) *uint64 { return &n }
	rows := []suiteRow{
		{Scenario: "ecr", Seed: seed(1), Detected: true, TTD: sec(30), RootCauseNamed: true, TruePositives: 2, Verdict: "ok"},
		{Scenario: "ecr", Seed: seed(2), Detected: true, TTD: sec(90), TruePositives: 1, FalsePositives: 1, Verdict: "ok"},
		{Scenario: "ecr", Seed: seed(3), Verdict: "not detected", ExitCode: 5},
		{Scenario: "plain", Detected: true, TTD: sec(10), RootCauseNamed: true, TruePositives: 1, Verdict: "ok"},
	}
	var b strings.Builder
	if err := writeSuite(&b, withTotals(rows), "table"); err != nil {
		t.Fatal(err)
	}
	want := `SCENARIO  SEED   DETECTED  TTD    ROOT CAUSE  TRUE POS  FALSE POS  RESULT
ecr       1      yes       00:30  yes         2         0          ok
ecr       2      yes       01:30  no          1         1          ok
ecr       3      no        —      no          0         0          not detected
ecr       total  2/3       01:00  1/3         3         1          1 of 3 variants failed
plain     —      yes       00:10  yes         1         0          ok
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	// The totals are rows of their own; the suite's verdict counts the
	// variants, not the total rows.
	if err := suiteError(rows); errkind.Of(err) != errkind.Failed || !strings.Contains(err.Error(), "1 of 4") {
		t.Errorf("suite error %v, want 1 of 4 failed", err)
	}
}

func TestOtherAnswer(t *testing.T) {
	games, err := selectGames([]string{variantsScenario}, Options{Variants: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range games {
		if x.Check != checkMemorised {
			continue
		}
		other, err := otherAnswer(x.S)
		if err != nil {
			t.Fatal(err)
		}
		if other.Variant.Seed <= x.S.Variant.Seed || solutionText(other) == solutionText(x.S) {
			t.Errorf("%s: the other answer is seed %d's, which reads the same", label(x.S), other.Variant.Seed)
		}
		// It chose differently for every parameter.
		for _, p := range x.S.Spec.Parameters {
			differs := false
			for k, v := range x.S.Variant.Values {
				if (k == p.Name || strings.HasPrefix(k, p.Name+".")) && other.Variant.Values[k] != v {
					differs = true
				}
			}
			if !differs {
				t.Errorf("%s: the other answer, seed %d's, made the same choice of %s", label(x.S), other.Variant.Seed, p.Name)
			}
		}
	}
}

func TestMemorisedVerdict(t *testing.T) {
	tests := []struct {
		name       string
		total, max int
		err        error
		want       string // substring of the error; "" passes
	}{
		{"the memorised answer loses points", 40, 100, nil, ""},
		{"the memorised answer scores full marks", 100, 100, nil, "replayed word for word, scores 100 of 100"},
		{"the incident did not reproduce", 0, 100, errkind.Errorf(errkind.NotReproduced, "no symptoms"), "no symptoms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := runner.Result{Score: verify.Result{Total: tt.total, Max: tt.max}}
			err := memorisedVerdict(res, tt.err, 4)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want a pass", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
