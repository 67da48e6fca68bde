// Package report renders a scored run for people: a terminal summary and
// a Markdown report with the score table, the timeline, what went well,
// what cost points, and the scenario's debrief.
package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gameday-sre/gameday/verify"
)

// TimelineEntry is one line of a run's timeline.
type TimelineEntry struct {
	At   verify.Seconds `json:"at"`
	Text string         `json:"text"`
	// Kind is one of the Kind* constants: what sort of entry it is.
	Kind string `json:"kind"`
	// Actor is who acted (operator, a responder, autopilot, detector,
	// facilitator); empty for what the game observed (objectives,
	// penalties, the end).
	Actor string `json:"actor,omitempty"`
}

// Kinds of timeline entries.
const (
	KindAction    = "action"    // a kubectl or aws call, or an autopilot step
	KindClaim     = "claim"     // a diagnosis, a detector's finding or an alert
	KindHint      = "hint"      // a hint taken
	KindObjective = "objective" // an objective achieved
	KindPenalty   = "penalty"   // a penalty observed
	KindEnd       = "end"       // the operator gave up, or the run ended
	KindNote      = "note"      // a facilitator's observation
)

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
		kind, actor := KindAction, e.Actor
		switch e.Type {
		case verify.EventKubectl, verify.EventAWS:
			text = e.Message
		case verify.EventFinding:
			kind = KindClaim
			if actor == "" {
				actor = e.Finding.Source
			}
			if e.Finding.Cause == "" {
				text = fmt.Sprintf("%s: %s", actor, e.Finding.Note)
			} else {
				text = fmt.Sprintf("%s diagnosis: %s on %s", actor, e.Finding.Cause, orDash(e.Finding.Resource))
			}
		case verify.EventHint:
			kind, text = KindHint, fmt.Sprintf("hint %d taken (-%d)", e.Hint, e.Cost)
		case verify.EventObjective:
			kind, actor, text = KindObjective, "", "✓ objective "+e.Objective
		case verify.EventPenalty:
			kind, actor, text = KindPenalty, "", "✗ penalty "+e.Penalty
		case verify.EventGiveUp:
			kind, text = KindEnd, orDash(actor)+" ended the run"
			if actor == "operator" {
				text = "operator gave up"
			}
		case verify.EventObservation:
			kind, text = KindNote, "observation: "+e.Message
		case verify.EventStep:
			if e.Actor == "autopilot" {
				text = "autopilot: " + strings.TrimPrefix(e.Step, "solution: ")
			}
		case verify.EventEnd:
			kind, actor, text = KindEnd, "", "run ended: "+e.Message
		}
		if text == "" || text == last {
			continue
		}
		last = text
		out = append(out, TimelineEntry{At: at, Text: text, Kind: kind, Actor: actor})
	}
	return out
}

// Responder is what one named responder did after handover.
type Responder struct {
	Name    string         `json:"name"`
	Kubectl int            `json:"kubectl"`
	AWS     int            `json:"aws"`
	Claims  int            `json:"claims"`
	Hints   int            `json:"hints"`
	First   verify.Seconds `json:"first"`
	Last    verify.Seconds `json:"last"`
}

// notResponders are the actors that are not people of the team.
var notResponders = []string{"", "operator", "autopilot", "detector", "gameday", "facilitator"}

// named reports whether an actor is a named responder.
func named(actor string) bool { return !slices.Contains(notResponders, actor) }

// Responders sums up each named responder's actions, diagnoses and
// hints after handover, in order of their first action; none for a run
// played as the one operator.
func Responders(j verify.Journal) []Responder {
	var out []Responder
	idx := map[string]int{}
	for _, e := range j.Events {
		if j.Handover.IsZero() || e.Time.Before(j.Handover) || !named(e.Actor) {
			continue
		}
		at := verify.Seconds(e.Time.Sub(j.Handover).Seconds())
		i, ok := idx[e.Actor]
		if !ok {
			i = len(out)
			idx[e.Actor] = i
			out = append(out, Responder{Name: e.Actor, First: at})
		}
		r := &out[i]
		switch e.Type {
		case verify.EventKubectl:
			r.Kubectl++
		case verify.EventAWS:
			r.AWS++
		case verify.EventFinding:
			r.Claims++
		case verify.EventHint:
			r.Hints++
		}
		r.Last = at
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Time is a time since handover as reports show it (mm:ss), or — when
// there is none.
func Time(s *verify.Seconds) string {
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
	fmt.Fprintf(&b, "TTD %s · TTM %s · TTR %s\n", Time(r.Metrics.TTD), Time(r.Metrics.TTM), Time(r.Metrics.TTR))
	if r.Rule == verify.RuleClaims {
		d := r.Detection
		fmt.Fprintf(&b, "Claims: %d right, %d wrong (-%d) · root cause named: %s · first right claim %s\n",
			d.TruePositives, d.FalsePositives, wrongCost(r), YesNo(d.RootCauseNamed), Time(d.FirstCorrect))
	}
	b.WriteString("\n")
	for _, o := range r.Objectives {
		mark := "✗"
		if o.Achieved {
			mark = "✓"
		}
		fmt.Fprintf(&b, "  %s %-11s %3d/%-3d %-6s %s\n", mark, o.ID, o.Points, o.Max, Time(o.At), o.Title)
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
	fmt.Fprintf(&b, "Scored under rule %s: %s.\n\n", r.Rule, ruleText(j, r))
	if len(j.Spec.Timings) > 0 {
		fmt.Fprintf(&b, "Cluster timings: %s.\n\n", strings.Join(j.Spec.Timings, ", "))
	}
	if v := variantLine(j); v != "" {
		fmt.Fprintf(&b, "Variant: %s; `gameday run %s --seed %d` replays it.\n\n", v, j.Spec.Name, *j.Spec.Seed)
	}
	b.WriteString("| metric | time since handover |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| time to detect (TTD) | %s |\n| time to mitigate (TTM) | %s |\n| time to recover (TTR) | %s |\n| MTTR (one incident) | %s |\n\n",
		Time(r.Metrics.TTD), Time(r.Metrics.TTM), Time(r.Metrics.TTR), Time(r.Metrics.MTTR))

	b.WriteString("## Score\n\n| objective | achieved | target | points |\n| --- | --- | --- | --- |\n")
	for _, o := range r.Objectives {
		fmt.Fprintf(&b, "| %s | %s | %s | %d / %d |\n", o.Title, Time(o.At), verify.Clock(o.Target), o.Points, o.Max)
	}
	for _, p := range r.Penalties {
		fmt.Fprintf(&b, "| penalty: %s | %s | | %d |\n", p.Title, verify.Clock(p.At), p.Points)
	}
	for _, h := range r.Hints {
		fmt.Fprintf(&b, "| hint %d | %s | | %d |\n", h.N, verify.Clock(h.At), -h.Cost)
	}
	if c := wrongCost(r); c > 0 {
		fmt.Fprintf(&b, "| wrong claims | | | %d |\n", -c)
	}
	fmt.Fprintf(&b, "| **total** | | | **%d / %d** |\n\n", r.Total, r.Max)
	b.WriteString("Points decay linearly after an objective's target, to half at the time limit.\n\n")

	b.WriteString("## Timeline\n\n")
	tl := Timeline(j)
	if len(tl) == 0 {
		b.WriteString("The run ended before handover.\n\n")
	}
	for _, e := range tl {
		who := ""
		if named(e.Actor) && !strings.HasPrefix(e.Text, e.Actor) {
			who = "**" + e.Actor + "** "
		}
		fmt.Fprintf(&b, "- `%s` %s%s\n", verify.Clock(e.At), who, e.Text)
	}
	if rs := Responders(j); len(rs) > 0 {
		b.WriteString("\n## Responders\n\n| responder | kubectl | aws | claims | hints | first action | last action |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s |\n", r.Name, r.Kubectl, r.AWS, r.Claims, r.Hints, verify.Clock(r.First), verify.Clock(r.Last))
		}
	}
	wentWell(&b, r)
	costPoints(&b, r)
	if claims := claimLines(j, r); len(claims) > 0 {
		b.WriteString("\n## Claims\n\n| time | claim | verdict | cost |\n| --- | --- | --- | --- |\n")
		for _, l := range claims {
			b.WriteString(l)
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

// wentWell writes the objectives achieved within their targets.
func wentWell(b *strings.Builder, r verify.Result) {
	b.WriteString("\n## What went well\n\n")
	good := 0
	for _, o := range r.Objectives {
		if o.Achieved && *o.At <= o.Target {
			fmt.Fprintf(b, "- %s, within the %s target.\n", o.Title, verify.Clock(o.Target))
			good++
		}
	}
	if good == 0 {
		b.WriteString("- No objective was achieved within its target.\n")
	}
}

// costPoints writes every point lost: objectives missed or late,
// penalties, wrong claims and hints.
func costPoints(b *strings.Builder, r verify.Result) {
	b.WriteString("\n## What cost points\n\n")
	lost := 0
	for _, o := range r.Objectives {
		switch {
		case !o.Achieved:
			fmt.Fprintf(b, "- %s: not achieved (-%d).\n", o.Title, o.Max)
			lost++
		case o.Points < o.Max:
			fmt.Fprintf(b, "- %s: achieved at %s, after the %s target (-%d).\n", o.Title, Time(o.At), verify.Clock(o.Target), o.Max-o.Points)
			lost++
		}
	}
	for _, p := range r.Penalties {
		fmt.Fprintf(b, "- %s (%d). %s\n", p.Title, p.Points, strings.Join(strings.Fields(p.Explain), " "))
		lost++
	}
	for _, c := range r.Claims {
		if c.Verdict == verify.VerdictWrong {
			fmt.Fprintf(b, "- A wrong claim at %s: %s (-%d).\n", verify.Clock(c.At), verify.ClaimLabel(c.Finding), c.Cost)
			lost++
		}
	}
	for _, h := range r.Hints {
		if h.Cost > 0 {
			fmt.Fprintf(b, "- Hint %d (-%d).\n", h.N, h.Cost)
			lost++
		}
	}
	if lost == 0 {
		b.WriteString("- Nothing.\n")
	}
}

// claimLines are the rows of the claims table: every distinct claim
// with its verdict and cost under RuleClaims; under RuleLegacy every
// claim, not judged.
func claimLines(j verify.Journal, r verify.Result) []string {
	var out []string
	if r.Rule == verify.RuleClaims {
		for _, c := range r.Claims {
			verdict := c.Verdict
			if len(c.Objectives) > 0 {
				verdict += " (achieved " + strings.Join(c.Objectives, ", ") + ")"
			}
			out = append(out, fmt.Sprintf("| %s | %s | %s | %d |\n", verify.Clock(c.At), verify.ClaimLabel(c.Finding), verdict, -c.Cost))
		}
		return out
	}
	for _, e := range j.Events {
		if e.Type == verify.EventFinding && e.Finding != nil && !j.Handover.IsZero() && !e.Time.Before(j.Handover) {
			at := verify.Clock(verify.Seconds(e.Time.Sub(j.Handover).Seconds()))
			out = append(out, fmt.Sprintf("| %s | %s | not judged | 0 |\n", at, verify.ClaimLabel(*e.Finding)))
		}
	}
	return out
}

// wrongCost is what the wrong claims cost in all.
func wrongCost(r verify.Result) int {
	n := 0
	for _, c := range r.Claims {
		n += c.Cost
	}
	return n
}

// ruleText says what the scoring rule does with claims.
func ruleText(j verify.Journal, r verify.Result) string {
	if r.Rule == verify.RuleClaims {
		if j.Spec.Control {
			return fmt.Sprintf("a control: nothing is broken, so each claim of a failure is a false positive and costs %d points, up to everything earned", r.ClaimCost)
		}
		return fmt.Sprintf("each claim is judged right or wrong; a wrong claim costs %d points, up to the diagnosis points earned", r.ClaimCost)
	}
	return "claims are not judged (the journal predates the answer key)"
}

// YesNo is a flag as reports show it.
func YesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
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
