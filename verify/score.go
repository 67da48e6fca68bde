package verify

import (
	"fmt"
	"math"
	"time"
)

// Result is a scored run.
type Result struct {
	Scenario   string            `json:"scenario"`
	Title      string            `json:"title"`
	RunID      string            `json:"runId"`
	Outcome    string            `json:"outcome"`
	Objectives []ObjectiveResult `json:"objectives"`
	Penalties  []PenaltyResult   `json:"penalties"`
	Hints      []HintResult      `json:"hints"`
	Total      int               `json:"total"`
	Max        int               `json:"max"`
	Grade      string            `json:"grade"`
	Metrics    Metrics           `json:"metrics"`
	// Rule is the scoring rule the run was scored under (RuleClaims or
	// RuleLegacy).
	Rule string `json:"rule"`
	// ClaimCost is what a wrong claim costs under RuleClaims.
	ClaimCost int `json:"claimCost,omitempty"`
	// Claims are the run's distinct claims, judged (RuleClaims only).
	Claims []ClaimResult `json:"claims,omitempty"`
	// Detection sums up the claims for detection tooling.
	Detection Detection `json:"detection"`
	// Explanation says, line by line, where every point came from or went.
	Explanation []string `json:"explanation"`
}

// ObjectiveResult is one objective's score.
type ObjectiveResult struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Category string   `json:"category"`
	Achieved bool     `json:"achieved"`
	At       *Seconds `json:"at,omitempty"` // since handover
	Target   Seconds  `json:"target"`
	Points   int      `json:"points"`
	Max      int      `json:"max"`
	// Claim is the right claim that achieved a diagnosis objective.
	Claim *Finding `json:"claim,omitempty"`
}

// PenaltyResult is an observed penalty.
type PenaltyResult struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	At      Seconds `json:"at"`
	Points  int     `json:"points"` // negative
	Explain string  `json:"explain,omitempty"`
}

// HintResult is a revealed hint.
type HintResult struct {
	N    int     `json:"n"`
	At   Seconds `json:"at"`
	Cost int     `json:"cost"`
}

// Metrics are the incident-response times, since handover.
type Metrics struct {
	// TTD is time to detect: the first correct root-cause claim (or, in a
	// scenario without a rootCause objective, the first detection).
	TTD *Seconds `json:"ttd,omitempty"`
	// TTM is time to mitigate: the fix applied.
	TTM *Seconds `json:"ttm,omitempty"`
	// TTR is time to recover: the service healthy again.
	TTR *Seconds `json:"ttr,omitempty"`
	// MTTR is the mean time to recover over the run's incidents; a
	// scenario is one incident, so it equals TTR.
	MTTR *Seconds `json:"mttr,omitempty"`
}

// decayFloor is the share of an objective's points kept when it is
// achieved at the time limit.
const decayFloor = 0.5

// ObjectivePoints is the scoring curve. An objective achieved within its
// target earns full points; after the target the award falls linearly
// to half the points at the time limit. Fractions are rounded to the
// nearest point.
func ObjectivePoints(points int, at, target, limit time.Duration) int {
	if at <= target || limit <= target {
		return points
	}
	late := float64(at-target) / float64(limit-target)
	return int(math.Round(float64(points) * math.Max(decayFloor, 1-(1-decayFloor)*late)))
}

// Grade maps a percentage to a letter: A ≥ 90, B ≥ 80, C ≥ 70, D ≥ 60,
// F below.
func Grade(total, max int) string {
	if max <= 0 {
		return "F"
	}
	pct := 100 * float64(total) / float64(max)
	switch {
	case pct >= 90:
		return "A"
	case pct >= 80:
		return "B"
	case pct >= 70:
		return "C"
	case pct >= 60:
		return "D"
	}
	return "F"
}

// Score computes a run's score from its journal alone.
//
// Under RuleClaims (a journal with an answer key) every distinct claim
// after handover is judged (Judge); a diagnosis objective is achieved by
// its first right claim, whatever the recorded objective events say; and
// each wrong claim costs ClaimCost points, in order, until the wrong
// claims have cost all the diagnosis points earned.
//
// A control (Spec.Control) differs twice: a run that ends at its time
// limit earns the no-incident answers nobody claimed (heldQuiet), and
// wrong claims may cost everything earned, not only diagnosis points.
func Score(j Journal) Result {
	r := Result{Scenario: j.Spec.Name, Title: j.Spec.Title, RunID: j.RunID, Outcome: j.Outcome, Rule: RuleLegacy}
	achieved, penalised, hints := afterHandover(j)
	var claimedBy map[string]*Finding
	var quiet map[string]bool
	if len(j.Spec.Claims) > 0 {
		claimedBy, quiet = r.judge(j, achieved)
	}
	r.scoreObjectives(j, achieved, claimedBy, quiet)
	if r.Rule == RuleClaims {
		r.chargeWrongClaims(j)
	}
	r.applyPenalties(j, penalised)
	r.applyHints(j, hints)
	if r.Total < 0 {
		r.Total = 0
	}
	r.Grade = Grade(r.Total, r.Max)
	r.Metrics = metrics(r.Objectives)
	return r
}

// afterHandover reads the journal's events from handover on: when each
// objective was first achieved and each penalty first applied, and the
// hints taken.
func afterHandover(j Journal) (achieved, penalised map[string]time.Time, hints []Event) {
	achieved, penalised = map[string]time.Time{}, map[string]time.Time{}
	for _, e := range j.Events {
		if j.Handover.IsZero() || e.Time.Before(j.Handover) {
			continue
		}
		switch e.Type {
		case EventObjective:
			if _, seen := achieved[e.Objective]; !seen {
				achieved[e.Objective] = e.Time
			}
		case EventPenalty:
			if _, seen := penalised[e.Penalty]; !seen {
				penalised[e.Penalty] = e.Time
			}
		case EventHint:
			hints = append(hints, e)
		}
	}
	return achieved, penalised, hints
}

// judge scores the run under RuleClaims: it judges the claims, and
// replaces the diagnosis objectives in achieved by those the right
// claims achieved (claimedBy says which claim), adding a control's
// answers earned by silence (quiet).
func (r *Result) judge(j Journal, achieved map[string]time.Time) (claimedBy map[string]*Finding, quiet map[string]bool) {
	r.Rule, r.ClaimCost = RuleClaims, ClaimCost(j.Spec)
	var byClaims map[string]time.Time
	r.Claims, byClaims = judgeClaims(j)
	claimedBy, quiet = map[string]*Finding{}, map[string]bool{}
	for id := range achieved {
		if isDiagnosis(j.Spec, id) {
			delete(achieved, id)
		}
	}
	for i, c := range r.Claims {
		for _, id := range c.Objectives {
			achieved[id], claimedBy[id] = byClaims[id], &r.Claims[i].Finding
		}
	}
	for id, at := range heldQuiet(j, achieved) {
		achieved[id], quiet[id] = at, true
	}
	return claimedBy, quiet
}

// scoreObjectives awards each objective its points by when it was
// achieved. An objective counts only within the time limit, and after
// every objective it waits for.
func (r *Result) scoreObjectives(j Journal, achieved map[string]time.Time, claimedBy map[string]*Finding, quiet map[string]bool) {
	handover, limit := j.Handover, j.Spec.TimeLimit.Duration()
	counts := func(o SpecObjective) (time.Time, bool) {
		at, ok := achieved[o.ID]
		if !ok || at.Sub(handover) > limit {
			return time.Time{}, false
		}
		for _, dep := range o.After {
			dat, ok := achieved[dep]
			if !ok || dat.After(at) {
				return time.Time{}, false
			}
		}
		return at, true
	}
	for _, o := range j.Spec.Objectives {
		or := ObjectiveResult{ID: o.ID, Title: o.Title, Category: o.Category, Target: o.Target, Max: o.Points}
		r.Max += o.Points
		if at, ok := counts(o); ok {
			s := Seconds(at.Sub(handover).Seconds())
			or.Achieved, or.At, or.Claim = true, &s, claimedBy[o.ID]
			or.Points = ObjectivePoints(o.Points, at.Sub(handover), o.Target.Duration(), limit)
			why := "within its target"
			switch {
			case quiet[o.ID]:
				or.Points, why = o.Points, "nobody claimed a failure in the time box"
			case s > o.Target:
				why = fmt.Sprintf("%s after its %s target", clock(s-o.Target), clock(o.Target))
			}
			r.Explanation = append(r.Explanation, fmt.Sprintf("+%d %s: achieved at %s, %s (of %d)", or.Points, o.Title, clock(s), why, o.Points))
		} else {
			r.Explanation = append(r.Explanation, fmt.Sprintf("+0 %s: not achieved (of %d)", o.Title, o.Points))
		}
		r.Total += or.Points
		r.Objectives = append(r.Objectives, or)
	}
}

// chargeWrongClaims takes what wrong claims cost: up to the diagnosis
// points earned; on a control, where every claim of a failure is a false
// alarm, up to everything earned.
func (r *Result) chargeWrongClaims(j Journal) {
	earned := 0
	for _, o := range r.Objectives {
		if j.Spec.Control || isDiagnosis(j.Spec, o.ID) {
			earned += o.Points
		}
	}
	r.Total -= chargeClaims(r.Claims, r.ClaimCost, earned)
	for _, c := range r.Claims {
		if c.Verdict == VerdictWrong {
			r.Explanation = append(r.Explanation, fmt.Sprintf("-%d wrong claim: %s, at %s", c.Cost, ClaimLabel(c.Finding), clock(c.At)))
		}
	}
	r.Detection = detection(*r)
}

// applyPenalties takes each penalty applied, once.
func (r *Result) applyPenalties(j Journal, penalised map[string]time.Time) {
	for _, p := range j.Spec.Penalties {
		if at, ok := penalised[p.ID]; ok {
			pr := PenaltyResult{ID: p.ID, Title: p.Title, At: Seconds(at.Sub(j.Handover).Seconds()), Points: -p.Points, Explain: p.Explain}
			r.Penalties = append(r.Penalties, pr)
			r.Total -= p.Points
			r.Explanation = append(r.Explanation, fmt.Sprintf("-%d %s, at %s", p.Points, p.Title, clock(pr.At)))
		}
	}
}

// applyHints takes each hint's cost.
func (r *Result) applyHints(j Journal, hints []Event) {
	for _, h := range hints {
		at := Seconds(h.Time.Sub(j.Handover).Seconds())
		r.Hints = append(r.Hints, HintResult{N: h.Hint, At: at, Cost: h.Cost})
		r.Total -= h.Cost
		if h.Cost > 0 {
			r.Explanation = append(r.Explanation, fmt.Sprintf("-%d hint %d, taken at %s", h.Cost, h.Hint, clock(at)))
		}
	}
}

// heldQuiet returns, for a control run that ended at its time limit,
// the no-incident answers nobody claimed and when they count: at the
// time limit. On a healthy cluster silence is the right answer, so doing
// nothing scores full marks.
func heldQuiet(j Journal, achieved map[string]time.Time) map[string]time.Time {
	if !j.Spec.Control || j.Outcome != OutcomeTimeLimit || j.Handover.IsZero() {
		return nil
	}
	at := j.Handover.Add(j.Spec.TimeLimit.Duration())
	if !j.Ended.IsZero() && j.Ended.Before(at) {
		at = j.Ended
	}
	out := map[string]time.Time{}
	for _, a := range j.Spec.Claims {
		if _, done := achieved[a.Objective]; !done && a.Cause == CauseNoIncident {
			out[a.Objective] = at
		}
	}
	return out
}

// detection counts the judged claims.
func detection(r Result) Detection {
	var d Detection
	for _, c := range r.Claims {
		switch c.Verdict {
		case VerdictRight:
			d.TruePositives++
			if d.FirstCorrect == nil {
				at := c.At
				d.FirstCorrect = &at
			}
		case VerdictWrong:
			d.FalsePositives++
		}
	}
	for _, o := range r.Objectives {
		d.RootCauseNamed = d.RootCauseNamed || (o.Achieved && o.Category == CategoryRootCause)
	}
	return d
}

func metrics(objs []ObjectiveResult) Metrics {
	first := func(cat string) *Seconds {
		var best *Seconds
		for _, o := range objs {
			if o.Category == cat && o.Achieved && (best == nil || *o.At < *best) {
				best = o.At
			}
		}
		return best
	}
	m := Metrics{TTD: first(CategoryRootCause), TTM: first(CategoryFix), TTR: first(CategoryRecover)}
	if m.TTD == nil {
		m.TTD = first(CategoryDetect)
	}
	m.MTTR = m.TTR
	return m
}

// clock formats seconds since handover as mm:ss (or h:mm:ss).
func clock(s Seconds) string {
	d := time.Duration(math.Round(float64(s))) * time.Second
	if d < 0 {
		d = 0
	}
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d", m, sec)
}

// Clock formats seconds since handover as mm:ss, as reports show times.
func Clock(s Seconds) string { return clock(s) }
