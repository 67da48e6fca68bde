package cli

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
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/internal/domain/report"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/procgroup"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
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
	// checkWrongFix is a scenario's declared wrong fix, as
	// "wrong-fix:ID": what it expects must follow.
	checkWrongFix = "wrong-fix"
)

// selfTestOptions are the flags of `gameday test`.
type selfTestOptions struct {
	idle     time.Duration
	grace    time.Duration
	emulator string
	infra    string
	parallel int
	only     string // one check, in this process (how parallel games run)
	// Suite mode: every scenario headless against one detector.
	detector string
	timeout  time.Duration
	budget   time.Duration
	maxFP    int
	junit    string
	output   string
}

// game is one check of one scenario. ref is how the scenario was named
// (a built-in's name or a path), so that a child process can load it.
type game struct {
	ref   string
	s     *scenarios.Scenario
	check string
}

func newTestCmd(g *globals) *cobra.Command {
	var o selfTestOptions
	cmd := &cobra.Command{
		Use:   "test [NAME|PATH...]",
		Short: "Prove scenarios, or measure a detector over the library (--detector)",
		Long: `Prove that scenarios are solvable and that their checks are right. For each
scenario (the built-in library when none is given):

  - solution: a run on autopilot achieves every objective and scores full
    marks;
  - idle: a run where nobody acts, for --idle, does not recover;
  - wrong-fix:ID, one game per entry of spec.wrongFixes: its steps are
    played on autopilot instead of the solution, the game goes on for the
    wrong fix's observe time, and what it expects must follow (the
    penalties applied, the objectives left unachieved, the outcome, the
    score). A step that fails fails the check.

A control scenario (spec.control: true, a healthy cluster) is proven
differently: its solution and its idle run both score full marks, and a
third game, false-alarm, claims one of its wrong causes and must lose
points for it.

Loading a scenario already checks that every hint, penalty, objective and
condition refers to something that exists; a scenario that fails that is
refused with exit code 2 before anything runs.

With --detector CMD, gameday test is a detection suite instead: each
scenario runs headless (as gameday run --headless) with CMD as the
detector, and a table on stdout says per scenario whether the incident was
detected, the time to the first right claim (TTD), whether the root cause
was named, and the true and false positives (-o json for CI history).
--junit writes one JUnit file for all scenarios.

--parallel N plays N games at once, each in a gameday process of its own
(an embedded environment needs its process); their progress lines on
stderr are prefixed with the scenario and the check. A game needs about
600 MB; CPU is what limits how many fit.

Exit code 5 when any check fails, any scenario is not detected or has
more false positives than --max-false-positives; 6 when every scenario
was detected but one took longer than --detection-budget. Every failure
says what was observed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.parallel < 1 {
				return errkind.Errorf(errkind.Invalid, "--parallel %d: want at least 1", o.parallel)
			}
			if o.detector == "" && (o.budget > 0 || o.maxFP >= 0 || o.junit != "" || cmd.Flags().Changed("output") || cmd.Flags().Changed("timeout")) {
				return errkind.Errorf(errkind.Invalid, "--timeout, --detection-budget, --max-false-positives, --junit and --output go with --detector")
			}
			if err := outputFormat(o.output, "table", "json"); err != nil {
				return err
			}
			games, err := selectGames(args, o)
			if err != nil {
				return err
			}
			root, err := rundir.Root()
			if err != nil {
				return errkind.E(errkind.Invalid, err)
			}
			if o.detector != "" {
				return detectionSuite(cmd.Context(), g, games, root, o)
			}
			failed := proveAll(cmd.Context(), g, games, root, o)
			if cmd.Context().Err() != nil {
				return errkind.E(errkind.Aborted, cmd.Context().Err())
			}
			if failed > 0 {
				return errkind.Errorf(errkind.Failed, "%d check(s) failed", failed)
			}
			if o.only == "" {
				fmt.Fprintf(g.streams.Out, "all %d scenario(s) pass (%d games)\n", scenarioCount(games), len(games))
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&o.idle, "idle", 30*time.Second, "how long the run where nobody acts lasts")
	cmd.Flags().DurationVar(&o.grace, "grace", 90*time.Second, "how long to wait for objectives after the solution's last command")
	cmd.Flags().StringVar(&o.emulator, "aws", "", "AWS emulator: auto, moto, moto-container or localstack (default: the config file's, else auto)")
	cmd.Flags().StringVar(&o.infra, "infra", "", "backend: embedded or kind; default: each scenario's environment.infra, else the config file's, else embedded")
	cmd.Flags().IntVar(&o.parallel, "parallel", 1, "how many games to play at once, each in its own process")
	cmd.Flags().StringVar(&o.detector, "detector", "", "a detector command: run every scenario headless against it and report detection (see gameday run --detector)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 3*time.Minute, "with --detector: each scenario's time limit")
	cmd.Flags().DurationVar(&o.budget, "detection-budget", 0, "with --detector: fail (exit 6) a scenario detected later than this")
	cmd.Flags().IntVar(&o.maxFP, "max-false-positives", -1, "with --detector: fail (exit 5) a scenario with more wrong claims than this")
	cmd.Flags().StringVar(&o.junit, "junit", "", "with --detector: write one JUnit XML file for all scenarios")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "with --detector: table or json")
	cmd.Flags().StringVar(&o.only, "only", "", "play one check (solution, idle, false-alarm, wrong-fix:ID or detect) of one scenario: how --parallel runs each game")
	_ = cmd.Flags().MarkHidden("only")
	return cmd
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
func proveAll(ctx context.Context, g *globals, games []game, root string, o selfTestOptions) int {
	var mu sync.Mutex
	failed := 0
	emit := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(line, "FAIL") {
			failed++
		}
		fmt.Fprintln(g.streams.Out, line)
	}
	// A backend that cannot run here fails the scenario once, before any
	// game.
	refused := map[*scenarios.Scenario]bool{}
	for _, x := range games {
		if _, _, err := chooseInfra(ctx, o.infra, o.emulator, x.s); err != nil && !refused[x.s] {
			refused[x.s] = true
			emit(proveLine(x.s, "backend", err))
		}
	}
	games = slices.DeleteFunc(slices.Clone(games), func(x game) bool { return refused[x.s] })
	parallel(len(games), o.parallel, func(i int) {
		if ctx.Err() != nil {
			return
		}
		var line string
		if o.parallel > 1 {
			out, err := subGame(ctx, g, games[i], o)
			line = strings.TrimSpace(out)
			if !strings.HasPrefix(line, "ok") && !strings.HasPrefix(line, "FAIL") {
				line = proveLine(games[i].s, games[i].check, fmt.Errorf("the game's process ended with %v and said %q", err, line))
			}
		} else {
			line = proveLine(games[i].s, games[i].check, prove(ctx, g, games[i], root, o))
		}
		if ctx.Err() == nil {
			emit(line)
		}
	})
	return failed
}

// proveLine is a check's result line: "ok   NAME CHECK" or "FAIL NAME
// CHECK: why".
func proveLine(s *scenarios.Scenario, check string, err error) string {
	if err != nil {
		return fmt.Sprintf("FAIL %s %s: %v", s.Metadata.Name, check, err)
	}
	return fmt.Sprintf("ok   %s %s", s.Metadata.Name, check)
}

// prove plays one solution or idle game in this process.
func prove(ctx context.Context, g *globals, x game, root string, o selfTestOptions) error {
	infra, emulator, err := chooseInfra(ctx, o.infra, o.emulator, x.s)
	if err != nil {
		return err
	}
	cfg := runner.Config{Provision: provision(g, infra, emulator), Root: root, Log: g.log, Progress: progress(g.streams.ErrOut)}
	if x.check == checkSolution {
		cfg.Mode, cfg.AutopilotGrace = runner.Autopilot, o.grace
		res, err := runner.Run(ctx, x.s, cfg)
		return solutionVerdict(res, err)
	}
	if id, ok := strings.CutPrefix(x.check, checkWrongFix+":"); ok {
		w := x.s.WrongFix(id)
		if w == nil {
			return errkind.Errorf(errkind.Invalid, "%s has no wrong fix %q", x.s.Metadata.Name, id)
		}
		cfg.Mode, cfg.AutopilotGrace = runner.Autopilot, w.Observe.Duration
		res, err := runner.Run(ctx, x.s.WithSteps(w.Steps), cfg)
		return wrongFixVerdict(res, err, w)
	}
	cfg.TimeLimit = o.idle
	if x.check == checkFalseAlarm {
		s, claim := falseAlarm(x.s)
		cfg.Mode = runner.Autopilot
		res, err := runner.Run(ctx, s, cfg)
		return falseAlarmVerdict(res, err, claim)
	}
	res, err := runner.Run(ctx, x.s, cfg)
	if x.s.Spec.Control {
		return controlIdleVerdict(res, err)
	}
	return idleVerdict(res, err)
}

// scenarioCount counts the distinct scenarios among games.
func scenarioCount(games []game) int {
	seen := map[*scenarios.Scenario]bool{}
	for _, x := range games {
		seen[x.s] = true
	}
	return len(seen)
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

// subGame plays one game in a child gameday process (gameday test --only)
// and returns what it printed. The child's stderr is prefixed with the
// game's name; Ctrl-C reaches it as SIGTERM, and it dies with this one.
func subGame(ctx context.Context, g *globals, x game, o selfTestOptions) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	args := []string{"test", x.ref, "--only", x.check, "--idle", o.idle.String(), "--grace", o.grace.String()}
	if g.verbose {
		args = append(args, "-v")
	}
	if o.emulator != "" {
		args = append(args, "--aws", o.emulator)
	}
	if o.infra != "" {
		args = append(args, "--infra", o.infra)
	}
	if x.check == checkDetect {
		args = append(args, "--detector", o.detector, "--timeout", o.timeout.String(), "-o", "json",
			"--detection-budget", o.budget.String(), fmt.Sprintf("--max-false-positives=%d", o.maxFP))
	}
	var out bytes.Buffer
	cmd := exec.Command(exe, args...)
	cmd.Stdout = &out
	errOut := &prefixed{w: g.streams.ErrOut, prefix: "[" + x.s.Metadata.Name + " " + x.check + "] "}
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
	Scenario       string          `json:"scenario"`
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
}

// detectionSuite plays every scenario headless against the detector and
// writes the table (or JSON) and the JUnit file.
func detectionSuite(ctx context.Context, g *globals, games []game, root string, o selfTestOptions) error {
	rows := make([]suiteRow, len(games))
	parallel(len(games), o.parallel, func(i int) {
		if o.parallel > 1 {
			rows[i] = detectInChild(ctx, g, games[i], o)
			return
		}
		rows[i] = detect(ctx, g, games[i], root, o)
	})
	if ctx.Err() != nil {
		return errkind.E(errkind.Aborted, ctx.Err())
	}
	if o.junit != "" {
		var runs []report.JUnitRun
		for i, r := range rows {
			if run, ok := suiteJUnit(games[i].s, r, o); ok {
				runs = append(runs, run)
			}
		}
		if err := writeFileWith(o.junit, func(w io.Writer) error { return report.JUnitAll(w, runs...) }); err != nil {
			return errkind.E(errkind.Internal, fmt.Errorf("write JUnit: %w", err))
		}
	}
	if err := writeSuite(g.streams.Out, rows, o.output); err != nil {
		return err
	}
	return suiteError(rows)
}

// detect plays one scenario headless against the detector in this process.
func detect(ctx context.Context, g *globals, x game, root string, o selfTestOptions) suiteRow {
	row := suiteRow{Scenario: x.s.Metadata.Name, Verdict: "ok", Control: x.s.Spec.Control}
	infra, emulator, err := chooseInfra(ctx, o.infra, o.emulator, x.s)
	if err != nil {
		row.Verdict, row.ExitCode = "backend: "+err.Error(), ExitCode(err)
		return row
	}
	res, err := runner.Run(ctx, x.s, runner.Config{
		Provision: provision(g, infra, emulator), Root: root, Log: g.log, Progress: progress(g.streams.ErrOut),
		Headless: true, Detector: o.detector, TimeLimit: o.timeout, DetectionBudget: o.budget, MaxFalsePositives: falsePositiveLimit(o.maxFP),
	})
	if err != nil {
		row.Verdict, row.ExitCode = err.Error(), ExitCode(err)
	}
	if res.Journal.Started.IsZero() {
		return row
	}
	row.RunID, row.Journal, row.Outcome = res.Dir.ID, res.Dir.File("journal.json"), res.Journal.Outcome
	r := res.Score
	if id := x.s.DetectionObjective(); id != "" {
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
func detectInChild(ctx context.Context, g *globals, x game, o selfTestOptions) suiteRow {
	out, err := subGame(ctx, g, x, o)
	var rows []suiteRow
	if jerr := json.Unmarshal([]byte(out), &rows); jerr != nil || len(rows) != 1 {
		return suiteRow{Scenario: x.s.Metadata.Name, ExitCode: ExitInternal,
			Verdict: fmt.Sprintf("the game's process ended with %v and printed %q", err, strings.TrimSpace(out))}
	}
	return rows[0]
}

// suiteJUnit is a row's JUnit suite, re-scored from its journal.
func suiteJUnit(s *scenarios.Scenario, row suiteRow, o selfTestOptions) (report.JUnitRun, bool) {
	if row.Journal == "" {
		return report.JUnitRun{}, false
	}
	j, err := verify.ReadJournal(row.Journal)
	if err != nil {
		return report.JUnitRun{}, false
	}
	id := s.DetectionObjective()
	return report.JUnitRun{Journal: j, Result: verify.Score(j), Options: report.JUnitOptions{
		DetectionObjective: id, DetectionBudget: verify.Seconds(o.budget.Seconds()),
		MaxFalsePositives: falsePositiveLimit(o.maxFP), Attempted: map[string]bool{id: true}}}, true
}

// writeSuite prints the suite's rows as a table or JSON.
func writeSuite(w io.Writer, rows []suiteRow, output string) error {
	if output == "json" {
		return writeJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tDETECTED\tTTD\tROOT CAUSE\tTRUE POS\tFALSE POS\tRESULT")
	for _, r := range rows {
		detected, rootCause := report.YesNo(r.Detected), report.YesNo(r.RootCauseNamed)
		if r.Control { // nothing to detect: its false positives are the measure
			detected, rootCause = "control", "—"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", r.Scenario, detected, report.Time(r.TTD), rootCause,
			r.TruePositives, r.FalsePositives, r.Verdict)
	}
	return tw.Flush()
}

// suiteError is the suite's outcome: exit 5 when any scenario failed,
// else 6 when any was detected over the budget.
func suiteError(rows []suiteRow) error {
	failed, over := 0, 0
	for _, r := range rows {
		switch r.ExitCode {
		case ExitOK:
		case ExitOverBudget:
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

// writeFileWith creates path and writes it with write.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	werr := write(f)
	return errors.Join(werr, f.Close())
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

// selectGames lists the games gameday test plays: for each scenario named
// (the built-in library when none is), its detection game with
// --detector, else its solution, idle, false-alarm (a control) and wrong
// fixes; with --only, the one game of that check.
func selectGames(args []string, o selfTestOptions) ([]game, error) {
	var games []game
	add := func(ref string, s *scenarios.Scenario) {
		if o.detector != "" {
			games = append(games, game{ref, s, checkDetect})
			return
		}
		games = append(games, game{ref, s, checkSolution}, game{ref, s, checkIdle})
		if s.Spec.Control {
			games = append(games, game{ref, s, checkFalseAlarm})
		}
		for _, w := range s.Spec.WrongFixes {
			games = append(games, game{ref, s, checkWrongFix + ":" + w.ID})
		}
	}
	if len(args) == 0 {
		all, err := scenarios.Builtin()
		if err != nil {
			return nil, err
		}
		for _, s := range all {
			add(s.Metadata.Name, s)
		}
	}
	for _, a := range args {
		s, err := scenarios.Resolve(a)
		if err != nil {
			return nil, err
		}
		add(a, s)
	}
	if o.only != "" {
		games = slices.DeleteFunc(games, func(x game) bool { return x.check != o.only })
		if len(games) != 1 {
			return nil, errkind.Errorf(errkind.Invalid, "--only %s goes with one scenario", o.only)
		}
	}
	return games, nil
}
