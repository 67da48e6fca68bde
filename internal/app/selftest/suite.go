package selftest

// The detection suite: a row per game, totals per scenario, the table,
// JSON and JUnit.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/gameday-sre/gameday/internal/app/exitcode"
	"github.com/gameday-sre/gameday/internal/domain/report"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

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
	timed := 0
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
			timed++
		}
	}
	if timed > 0 {
		mean := ttd / verify.Seconds(timed)
		total.TTD = &mean
	}
	total.Detected, total.RootCauseNamed = t.Detected == t.Count, t.RootCauseNamed == t.Count
	total.Verdict = "ok"
	if t.Failed > 0 {
		total.Verdict = fmt.Sprintf("%d of %d variants failed", t.Failed, t.Count)
	}
	return total
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

// writeJUnit writes the suite's JUnit file.
func writeJUnit(path string, runs []report.JUnitRun) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return errors.Join(report.JUnitAll(f, runs...), f.Close())
}
