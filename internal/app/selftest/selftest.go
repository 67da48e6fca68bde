// Package selftest is gameday test: it proves scenarios (their reference
// solution, an idle game and each declared wrong fix, played as games),
// or measures a detector over them (the detection suite), one game per
// process when played in parallel. The command line around it turns
// flags into Options and says, through a Host, how to play here.
package selftest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/gameday-sre/gameday/internal/app/exitcode"
	"github.com/gameday-sre/gameday/internal/domain/report"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/procgroup"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// Checks of `gameday test`: a game each.
const (
	checkSolution   = "solution"    // the reference solution scores full marks
	checkIdle       = "idle"        // doing nothing does not recover (a control: scores full marks)
	checkFalseAlarm = "false-alarm" // a control: claiming a failure cause costs points
	checkDetect     = "detect"      // suite mode: headless against the detector
	// checkMemorised plays a variant with another variant's reference
	// solution, word for word: it must not score full marks.
	checkMemorised = "memorised"
	// checkWrongFix is a scenario's declared wrong fix, as
	// "wrong-fix:ID": what it expects must follow.
	checkWrongFix = "wrong-fix"
)

// Options are how gameday test plays.
type Options struct {
	// Idle is how long the game where nobody acts lasts.
	Idle time.Duration
	// Grace is how long an autopilot game waits for the objectives after
	// the solution's last command.
	Grace time.Duration
	// Parallel is how many games play at once, each in a child process.
	Parallel int
	// Only plays one check of one scenario, in this process: how a
	// child plays its game.
	Only string
	// Detector, when set, makes the run a detection suite: every
	// scenario headless against this command.
	Detector string
	// Timeout is each scenario's time limit in a detection suite.
	Timeout time.Duration
	// Budget fails a scenario detected later than this (OverBudget).
	Budget time.Duration
	// MaxFalsePositives fails a scenario with more wrong claims; nil is
	// no limit.
	MaxFalsePositives *int
	// JUnit is where the suite's JUnit file goes; empty writes none.
	JUnit string
	// Output is the suite's format: table or json.
	Output string
	// Variants plays the variants of seeds 1 to Variants of every
	// scenario with parameters, each as its own games; 0 plays the
	// variant of Seed, else the canonical one (seed 0).
	Variants int
	// Seed, when set and Variants is 0, is the seed of the variant played
	// of every scenario with parameters (how a child plays its variant).
	Seed *uint64
}

// Host is what gameday test needs from the command around it.
type Host struct {
	// Out receives the result lines or the suite's table; ErrOut the
	// games' narration.
	Out, ErrOut io.Writer
	// Config is the runner configuration to play s with here (Provision,
	// Root, Log, Progress), or why s cannot be played here (its backend).
	Config func(ctx context.Context, s *scenarios.Scenario) (runner.Config, error)
	// Child is the command that plays one game in a child process, for
	// Parallel > 1: gameday test with Only set to the check, and Seed to
	// the variant's seed when seed is not nil.
	Child func(ref, check string, seed *uint64) *exec.Cmd
}

// Game is one check of one scenario (of one variant, for a scenario with
// parameters). Ref is how the scenario was named (a built-in's name or a
// path), so that a child process can load it.
type Game struct {
	Ref   string
	S     *scenarios.Scenario
	Check string
}

// seed is the seed of the game's variant; nil for a scenario without
// parameters.
func (x Game) seed() *uint64 { return seedOf(x.S) }

// seedOf is the seed of s's variant; nil when s has no parameters.
func seedOf(s *scenarios.Scenario) *uint64 {
	if len(s.Spec.Parameters) == 0 {
		return nil
	}
	seed := s.Variant.Seed
	return &seed
}

// label names a scenario's variant in results: its name, and its seed
// when it has parameters ("ecr-imagepullbackoff seed=3").
func label(s *scenarios.Scenario) string {
	if seed := seedOf(s); seed != nil {
		return fmt.Sprintf("%s seed=%d", s.Metadata.Name, *seed)
	}
	return s.Metadata.Name
}

// Run plays the games of the scenarios refs names (built-in names or
// paths; the library when none): their proofs, or with o.Detector the
// detection suite. It prints a line per proof, or the suite's table, on
// h.Out, and returns an error whose kind says how it ended: Failed when
// a check failed, OverBudget, Aborted, or Invalid for bad input.
func Run(ctx context.Context, h Host, refs []string, o Options) error {
	switch {
	case o.Parallel < 1:
		return errkind.Errorf(errkind.Invalid, "--parallel %d: want at least 1", o.Parallel)
	case o.Variants < 0:
		return errkind.Errorf(errkind.Invalid, "--variants %d: want at least 1", o.Variants)
	case o.Variants > 0 && o.Seed != nil:
		return errkind.Errorf(errkind.Invalid, "--variants plays seeds 1 to N; --seed plays one: give one of them")
	}
	games, err := selectGames(refs, o)
	if err != nil {
		return err
	}
	if o.Detector != "" {
		return detectionSuite(ctx, h, games, o)
	}
	failed := proveAll(ctx, h, games, o)
	if ctx.Err() != nil {
		return errkind.E(errkind.Aborted, ctx.Err())
	}
	if failed > 0 {
		return errkind.Errorf(errkind.Failed, "%d check(s) failed", failed)
	}
	if o.Only == "" {
		fmt.Fprintf(h.Out, "all %d scenario(s) pass (%d games%s)\n", scenarioCount(games), len(games), variantsNote(games, o))
	}
	return nil
}

// parallel runs n jobs, at most width at once, and returns when all are
// done. Each job gets its index.
func parallel(n, width int, job func(i int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			job(i)
		}()
	}
	wg.Wait()
}

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

// otherAnswer is the first variant after s's (by seed) whose reference
// solution reads differently: what a responder who memorised another
// game would type.
func otherAnswer(s *scenarios.Scenario) (*scenarios.Scenario, error) {
	mine := solutionText(s)
	for seed := s.Variant.Seed + 1; seed <= s.Variant.Seed+64; seed++ {
		v, err := s.WithSeed(seed)
		if err != nil {
			return nil, err
		}
		if solutionText(v) != mine {
			return v, nil
		}
	}
	return nil, fmt.Errorf("the next 64 seeds' reference solutions read the same as seed %d's: its parameters do not reach the answer", s.Variant.Seed)
}

// solutionText is a scenario's reference solution as the commands it runs.
func solutionText(s *scenarios.Scenario) string {
	var b strings.Builder
	for _, st := range s.Spec.Solution {
		b.WriteString(st.Run + "\n")
	}
	return b.String()
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

// scenarioCount counts the distinct scenarios among games (variants of
// one count once).
func scenarioCount(games []Game) int {
	seen := map[string]bool{}
	for _, x := range games {
		seen[x.S.Metadata.Name] = true
	}
	return len(seen)
}

// variantsNote says which variants the games played, for the summary
// line: "" when no scenario has parameters.
func variantsNote(games []Game, o Options) string {
	if !slices.ContainsFunc(games, func(x Game) bool { return x.seed() != nil }) {
		return ""
	}
	switch {
	case o.Variants > 0:
		return fmt.Sprintf("; seeds 1 to %d of each scenario with parameters", o.Variants)
	case o.Seed != nil:
		return fmt.Sprintf("; seed %d of each scenario with parameters", *o.Seed)
	}
	return "; the canonical variant (seed 0) of each scenario with parameters"
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

// subGame plays one game in a child gameday process (Host.Child) and
// returns what it printed. The child's stderr is prefixed with the
// game's name; Ctrl-C reaches it as SIGTERM, and it dies with this one.
func subGame(ctx context.Context, h Host, x Game) (string, error) {
	cmd := h.Child(x.Ref, x.Check, x.seed())
	var out bytes.Buffer
	cmd.Stdout = &out
	errOut := &prefixed{w: h.ErrOut, prefix: "[" + label(x.S) + " " + x.Check + "] "}
	cmd.Stderr = errOut
	proc, err := procgroup.Start(cmd)
	if err != nil {
		return "", err
	}
	select {
	case <-proc.Done():
	case <-ctx.Done():
		proc.Stop(2 * time.Minute) // the child tears down on SIGTERM
	}
	errOut.flush()
	return out.String(), proc.Err()
}

// prefixed writes each line to w with a prefix, for many children's
// narration on one stderr.
type prefixed struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial[:i]); err != nil {
			return len(b), err
		}
		p.partial = p.partial[i+1:]
	}
}

// flush writes what is left of an unfinished last line.
func (p *prefixed) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial)
		p.partial = nil
	}
}

// suiteRow is one scenario's line of a detection suite.
type suiteRow struct {
	Scenario string `json:"scenario"`
	// Seed and Variant name the variant played of a scenario with
	// parameters.
	Seed           *uint64         `json:"seed,omitempty"`
	Variant        string          `json:"variant,omitempty"`
	RunID          string          `json:"runId,omitempty"`
	Journal        string          `json:"journal,omitempty"`
	Outcome        string          `json:"outcome,omitempty"`
	Detected       bool            `json:"detected"`
	TTD            *verify.Seconds `json:"ttdSeconds,omitempty"`
	RootCauseNamed bool            `json:"rootCauseNamed"`
	TruePositives  int             `json:"truePositives"`
	FalsePositives int             `json:"falsePositives"`
	// Control is set for a control scenario, which has nothing to detect:
	// its false positives are what it measures.
	Control bool `json:"control,omitempty"`
	// Verdict is ok, or why the scenario fails the suite; ExitCode is
	// what a headless gameday run of it would exit with.
	Verdict  string `json:"verdict"`
	ExitCode int    `json:"exitCode"`
	// Variants is set on a scenario's total row, after the rows of its
	// variants (--variants): how many there were, were detected, named
	// the root cause and failed. Its TTD is their mean, its positives
	// their sums.
	Variants *variantTotal `json:"variants,omitempty"`
}

// variantTotal counts a scenario's variants in a detection suite.
type variantTotal struct {
	Count          int `json:"count"`
	Detected       int `json:"detected"`
	RootCauseNamed int `json:"rootCauseNamed"`
	Failed         int `json:"failed"`
}

// detectionSuite plays every scenario headless against the detector and
// writes the table (or JSON) and the JUnit file.
func detectionSuite(ctx context.Context, h Host, games []Game, o Options) error {
	rows := make([]suiteRow, len(games))
	parallel(len(games), o.Parallel, func(i int) {
		if o.Parallel > 1 {
			rows[i] = detectInChild(ctx, h, games[i], o)
			return
		}
		rows[i] = detect(ctx, h, games[i], o)
	})
	if ctx.Err() != nil {
		return errkind.E(errkind.Aborted, ctx.Err())
	}
	if o.JUnit != "" {
		var runs []report.JUnitRun
		for i, r := range rows {
			if run, ok := suiteJUnit(games[i].S, r, o); ok {
				runs = append(runs, run)
			}
		}
		if err := writeJUnit(o.JUnit, runs); err != nil {
			return errkind.E(errkind.Internal, fmt.Errorf("write JUnit: %w", err))
		}
	}
	if err := writeSuite(h.Out, withTotals(rows), o.Output); err != nil {
		return err
	}
	return suiteError(rows)
}

// detect plays one scenario headless against the detector in this process.
func detect(ctx context.Context, h Host, x Game, o Options) suiteRow {
	row := suiteRow{Scenario: x.S.Metadata.Name, Seed: x.seed(), Verdict: "ok", Control: x.S.Spec.Control}
	if row.Seed != nil {
		row.Variant = x.S.Variant.String()
	}
	cfg, err := h.Config(ctx, x.S)
	if err != nil {
		row.Verdict, row.ExitCode = "backend: "+err.Error(), exitcode.Of(err)
		return row
	}
	cfg.Headless, cfg.Detector, cfg.TimeLimit = true, o.Detector, o.Timeout
	cfg.DetectionBudget, cfg.MaxFalsePositives = o.Budget, o.MaxFalsePositives
	res, err := runner.Run(ctx, x.S, cfg)
	if err != nil {
		row.Verdict, row.ExitCode = err.Error(), exitcode.Of(err)
	}
	if res.Journal.Started.IsZero() {
		return row
	}
	row.RunID, row.Journal, row.Outcome = res.Dir.ID, res.Dir.File("journal.json"), res.Journal.Outcome
	r := res.Score
	if id := x.S.DetectionObjective(); id != "" {
		for _, obj := range r.Objectives {
			row.Detected = row.Detected || (obj.ID == id && obj.Achieved)
		}
	}
	row.TTD, row.RootCauseNamed = r.Detection.FirstCorrect, r.Detection.RootCauseNamed
	row.TruePositives, row.FalsePositives = r.Detection.TruePositives, r.Detection.FalsePositives
	return row
}

// detectInChild plays one scenario of the suite in a child process and
// reads back its row.
func detectInChild(ctx context.Context, h Host, x Game, o Options) suiteRow {
	out, err := subGame(ctx, h, x)
	var rows []suiteRow
	if jerr := json.Unmarshal([]byte(out), &rows); jerr != nil || len(rows) != 1 {
		return suiteRow{Scenario: x.S.Metadata.Name, Seed: x.seed(), ExitCode: exitcode.Internal,
			Verdict: fmt.Sprintf("the game's process ended with %v and printed %q", err, strings.TrimSpace(out))}
	}
	return rows[0]
}

// suiteJUnit is a row's JUnit suite, re-scored from its journal.
func suiteJUnit(s *scenarios.Scenario, row suiteRow, o Options) (report.JUnitRun, bool) {
	if row.Journal == "" {
		return report.JUnitRun{}, false
	}
	j, err := verify.ReadJournal(row.Journal)
	if err != nil {
		return report.JUnitRun{}, false
	}
	id := s.DetectionObjective()
	return report.JUnitRun{Journal: j, Result: verify.Score(j), Options: report.JUnitOptions{
		DetectionObjective: id, DetectionBudget: verify.Seconds(o.Budget.Seconds()),
		MaxFalsePositives: o.MaxFalsePositives, Attempted: map[string]bool{id: true}}}, true
}

// writeSuite prints the suite's rows as a table or JSON.
func writeSuite(w io.Writer, rows []suiteRow, output string) error {
	if output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	seeded := slices.ContainsFunc(rows, func(r suiteRow) bool { return r.Seed != nil })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if seeded {
		fmt.Fprint(tw, "SCENARIO\tSEED\t")
	} else {
		fmt.Fprint(tw, "SCENARIO\t")
	}
	fmt.Fprintln(tw, "DETECTED\tTTD\tROOT CAUSE\tTRUE POS\tFALSE POS\tRESULT")
	for _, r := range rows {
		detected, rootCause := report.YesNo(r.Detected), report.YesNo(r.RootCauseNamed)
		if t := r.Variants; t != nil {
			detected, rootCause = fmt.Sprintf("%d/%d", t.Detected, t.Count), fmt.Sprintf("%d/%d", t.RootCauseNamed, t.Count)
		}
		if r.Control { // nothing to detect: its false positives are the measure
			detected, rootCause = "control", "—"
		}
		fmt.Fprintf(tw, "%s\t", r.Scenario)
		if seeded {
			fmt.Fprintf(tw, "%s\t", seedColumn(r))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", detected, report.Time(r.TTD), rootCause,
			r.TruePositives, r.FalsePositives, r.Verdict)
	}
	return tw.Flush()
}

// seedColumn is a row's SEED: its seed, "total" on a total row, "—"
// for a scenario without parameters.
func seedColumn(r suiteRow) string {
	switch {
	case r.Variants != nil:
		return "total"
	case r.Seed != nil:
		return strconv.FormatUint(*r.Seed, 10)
	}
	return "—"
}

// withTotals is rows with a total row after the rows of each scenario
// played in more than one variant.
func withTotals(rows []suiteRow) []suiteRow {
	var out []suiteRow
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].Scenario == rows[i].Scenario {
			j++
		}
		out = append(out, rows[i:j]...)
		if j-i > 1 {
			out = append(out, totalRow(rows[i:j]))
		}
		i = j
	}
	return out
}

// totalRow sums the rows of one scenario's variants.
func totalRow(rows []suiteRow) suiteRow {
	t := &variantTotal{Count: len(rows)}
	total := suiteRow{Scenario: rows[0].Scenario, Control: rows[0].Control, Variants: t}
	var ttd verify.Seconds
	for _, r := range rows {
		total.TruePositives += r.TruePositives
		total.FalsePositives += r.FalsePositives
		if r.Detected {
			t.Detected++
		}
		if r.RootCauseNamed {
			t.RootCauseNamed++
		}
		if r.ExitCode != exitcode.OK {
			t.Failed++
		}
		if r.TTD != nil {
			ttd += *r.TTD
		}
	}
	if n := countTTD(rows); n > 0 {
		mean := ttd / verify.Seconds(n)
		total.TTD = &mean
	}
	total.Detected, total.RootCauseNamed = t.Detected == t.Count, t.RootCauseNamed == t.Count
	total.Verdict = "ok"
	if t.Failed > 0 {
		total.Verdict = fmt.Sprintf("%d of %d variants failed", t.Failed, t.Count)
	}
	return total
}

// countTTD counts the rows with a time to the first right claim.
func countTTD(rows []suiteRow) int {
	n := 0
	for _, r := range rows {
		if r.TTD != nil {
			n++
		}
	}
	return n
}

// suiteError is the suite's outcome: exit 5 when any scenario failed,
// else 6 when any was detected over the budget.
func suiteError(rows []suiteRow) error {
	failed, over := 0, 0
	for _, r := range rows {
		switch r.ExitCode {
		case exitcode.OK:
		case exitcode.OverBudget:
			over++
		default:
			failed++
		}
	}
	switch {
	case failed > 0:
		return errkind.Errorf(errkind.Failed, "%d of %d scenario(s) failed the detection suite", failed, len(rows))
	case over > 0:
		return errkind.Errorf(errkind.OverBudget, "%d of %d scenario(s) detected over the budget", over, len(rows))
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

// writeJUnit writes the suite's JUnit file.
func writeJUnit(path string, runs []report.JUnitRun) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(report.JUnitAll(f, runs...), f.Close())
}
