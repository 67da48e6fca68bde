// Package report renders a scored run for people: a terminal summary and
// a Markdown report with the score table, the timeline, what went well,
// what cost points, and the scenario's debrief.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/gameday-sre/gameday/verify"
)

// TimelineEntry is one line of a run's timeline.
type TimelineEntry struct {
	At   verify.Seconds
	Text string
}

// Timeline returns what happened after handover, in order: the operator's
// kubectl and aws actions (repeats folded), findings, hints, objectives,
// penalties and the end.
func Timeline(j verify.Journal) []TimelineEntry {
	if j.Handover.IsZero() {
		return nil
	}
	var out []TimelineEntry
	last := ""
	for _, e := range j.Events {
		if e.Time.Before(j.Handover) {
			continue
		}
		at := verify.Seconds(e.Time.Sub(j.Handover).Seconds())
		var text string
		switch e.Type {
		case verify.EventKubectl, verify.EventAWS:
			text = e.Message
		case verify.EventFinding:
			if e.Finding.Cause == "" {
				text = fmt.Sprintf("%s: %s", e.Finding.Source, e.Finding.Note)
			} else {
				text = fmt.Sprintf("%s diagnosis: %s on %s", e.Finding.Source, e.Finding.Cause, orDash(e.Finding.Resource))
			}
		case verify.EventHint:
			text = fmt.Sprintf("hint %d taken (-%d)", e.Hint, e.Cost)
		case verify.EventObjective:
			text = "✓ objective " + e.Objective
		case verify.EventPenalty:
			text = "✗ penalty " + e.Penalty
		case verify.EventGiveUp:
			text = "operator gave up"
		case verify.EventStep:
			if e.Actor == "autopilot" {
				text = "autopilot: " + strings.TrimPrefix(e.Step, "solution: ")
			}
		case verify.EventEnd:
			text = "run ended: " + e.Message
		}
		if text == "" || text == last {
			continue
		}
		last = text
		out = append(out, TimelineEntry{At: at, Text: text})
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dur(s *verify.Seconds) string {
	if s == nil {
		return "—"
	}
	return verify.Clock(*s)
}

// Summary writes the terminal summary.
func Summary(w io.Writer, j verify.Journal, r verify.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s — %s\n", r.Scenario, r.Title)
	fmt.Fprintf(&b, "Outcome: %s · Score %d/%d · Grade %s\n", r.Outcome, r.Total, r.Max, r.Grade)
	fmt.Fprintf(&b, "TTD %s · TTM %s · TTR %s\n\n", dur(r.Metrics.TTD), dur(r.Metrics.TTM), dur(r.Metrics.TTR))
	for _, o := range r.Objectives {
		mark := "✗"
		if o.Achieved {
			mark = "✓"
		}
		fmt.Fprintf(&b, "  %s %-11s %3d/%-3d %-6s %s\n", mark, o.ID, o.Points, o.Max, dur(o.At), o.Title)
	}
	for _, p := range r.Penalties {
		fmt.Fprintf(&b, "  ✗ penalty %4d     %-6s %s\n", p.Points, verify.Clock(p.At), p.Title)
	}
	for _, h := range r.Hints {
		fmt.Fprintf(&b, "  ? hint %d  %4d     %s\n", h.N, -h.Cost, verify.Clock(h.At))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Markdown writes the full report.
func Markdown(w io.Writer, j verify.Journal, r verify.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Game day report: %s\n\n", r.Title)
	fmt.Fprintf(&b, "Scenario `%s` · run `%s` · outcome **%s**\n\n", r.Scenario, r.RunID, r.Outcome)
	fmt.Fprintf(&b, "**Score %d / %d — grade %s**\n\n", r.Total, r.Max, r.Grade)
	b.WriteString("| metric | time since handover |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| time to detect (TTD) | %s |\n| time to mitigate (TTM) | %s |\n| time to recover (TTR) | %s |\n| MTTR (one incident) | %s |\n\n",
		dur(r.Metrics.TTD), dur(r.Metrics.TTM), dur(r.Metrics.TTR), dur(r.Metrics.MTTR))

	b.WriteString("## Score\n\n| objective | achieved | target | points |\n| --- | --- | --- | --- |\n")
	for _, o := range r.Objectives {
		fmt.Fprintf(&b, "| %s | %s | %s | %d / %d |\n", o.Title, dur(o.At), verify.Clock(o.Target), o.Points, o.Max)
	}
	for _, p := range r.Penalties {
		fmt.Fprintf(&b, "| penalty: %s | %s | | %d |\n", p.Title, verify.Clock(p.At), p.Points)
	}
	for _, h := range r.Hints {
		fmt.Fprintf(&b, "| hint %d | %s | | %d |\n", h.N, verify.Clock(h.At), -h.Cost)
	}
	fmt.Fprintf(&b, "| **total** | | | **%d / %d** |\n\n", r.Total, r.Max)
	b.WriteString("Points decay linearly after an objective's target, to half at the time limit.\n\n")

	b.WriteString("## Timeline\n\n")
	tl := Timeline(j)
	if len(tl) == 0 {
		b.WriteString("The run ended before handover.\n\n")
	}
	for _, e := range tl {
		fmt.Fprintf(&b, "- `%s` %s\n", verify.Clock(e.At), e.Text)
	}
	b.WriteString("\n## What went well\n\n")
	good := 0
	for _, o := range r.Objectives {
		if o.Achieved && o.Points == o.Max {
			fmt.Fprintf(&b, "- %s, within the %s target.\n", o.Title, verify.Clock(o.Target))
			good++
		}
	}
	if good == 0 {
		b.WriteString("- No objective was achieved within its target.\n")
	}
	b.WriteString("\n## What cost points\n\n")
	lost := 0
	for _, o := range r.Objectives {
		switch {
		case !o.Achieved:
			fmt.Fprintf(&b, "- %s: not achieved (-%d).\n", o.Title, o.Max)
			lost++
		case o.Points < o.Max:
			fmt.Fprintf(&b, "- %s: achieved at %s, after the %s target (-%d).\n", o.Title, dur(o.At), verify.Clock(o.Target), o.Max-o.Points)
			lost++
		}
	}
	for _, p := range r.Penalties {
		fmt.Fprintf(&b, "- %s (%d). %s\n", p.Title, p.Points, strings.Join(strings.Fields(p.Explain), " "))
		lost++
	}
	for _, h := range r.Hints {
		if h.Cost > 0 {
			fmt.Fprintf(&b, "- Hint %d (-%d).\n", h.N, h.Cost)
			lost++
		}
	}
	if lost == 0 {
		b.WriteString("- Nothing.\n")
	}
	if findings := wrongFindings(j, r); len(findings) > 0 {
		b.WriteString("\n## Diagnoses that did not match the root cause (false positives)\n\n")
		for _, f := range findings {
			fmt.Fprintf(&b, "- %s\n", f)
		}
	}
	b.WriteString("\n## Every point, explained\n\n")
	for _, l := range r.Explanation {
		fmt.Fprintf(&b, "- %s\n", l)
	}
	if j.Spec.Debrief != "" {
		b.WriteString("\n## Debrief\n\n")
		b.WriteString(strings.TrimSpace(bumpHeadings(j.Spec.Debrief)))
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// wrongFindings lists claims whose cause no achieved detect or rootCause
// objective credited (false positives, for detector runs).
func wrongFindings(j verify.Journal, r verify.Result) []string {
	credited := false
	for _, o := range r.Objectives {
		credited = credited || (o.Achieved && (o.Category == "rootCause" || o.Category == "detect"))
	}
	var out []string
	for _, e := range j.Events {
		if e.Type != verify.EventFinding || e.Finding == nil {
			continue
		}
		at := verify.Clock(verify.Seconds(e.Time.Sub(j.Handover).Seconds()))
		switch {
		case e.Finding.Cause == "":
			out = append(out, fmt.Sprintf("%s (%s) at %s: %s", e.Finding.Source, orDash(e.Finding.Tool), at, e.Finding.Note))
		case !credited || !creditedCause(j, e.Finding.Cause):
			out = append(out, fmt.Sprintf("%s claimed %s on %s at %s", e.Finding.Source, e.Finding.Cause, orDash(e.Finding.Resource), at))
		}
	}
	return out
}

// creditedCause reports whether an objective achieved by a finding event
// followed a claim of cause (the journal records the matching message).
func creditedCause(j verify.Journal, cause string) bool {
	for _, e := range j.Events {
		if e.Type == verify.EventObjective && strings.Contains(e.Message, "finding "+cause+" ") {
			return true
		}
	}
	return false
}

// bumpHeadings makes the debrief's headings subordinate to the report's.
func bumpHeadings(md string) string {
	lines := strings.Split(md, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "#") {
			lines[i] = "#" + l
		}
	}
	return strings.Join(lines, "\n")
}
