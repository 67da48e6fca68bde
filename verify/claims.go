package verify

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"
)

// Scoring rules. A journal is scored under RuleClaims when it carries an
// answer key (Spec.Claims), and under RuleLegacy otherwise.
const (
	// RuleLegacy: an objective's finding condition holds when any claim
	// matches it; wrong claims cost nothing. Journals written before
	// claims were judged carry no answer key and are scored this way.
	RuleLegacy = "v1"
	// RuleClaims: every claim is judged right or wrong against the
	// answer key; only right claims achieve diagnosis objectives, and
	// each wrong claim costs ClaimCost points, up to the diagnosis points
	// earned.
	RuleClaims = "v2"
)

// Verdicts on a claim.
const (
	// VerdictRight: the claim matches the answer key.
	VerdictRight = "right"
	// VerdictWrong: a cause that is not the incident's, a resource that
	// is not the one behind it, or an alert that matches no cause.
	VerdictWrong = "wrong"
	// VerdictIncomplete: the right cause without the resource the answer
	// needs. It earns nothing and costs nothing.
	VerdictIncomplete = "incomplete"
)

// SpecClaim is one right answer: a finding condition of a diagnosis
// objective (one whose condition is a finding, or any of findings).
type SpecClaim struct {
	// Cause is the cause id.
	Cause string `json:"cause"`
	// Resource is the regular expression (variables expanded) a claim's
	// resource must match; empty matches any.
	Resource string `json:"resource,omitempty"`
	// Source is operator, detector or any.
	Source string `json:"source,omitempty"`
	// Objective is the objective the answer achieves.
	Objective string `json:"objective"`
}

// Judge returns the verdict on a claim under an answer key.
//
// A claim is wrong when its cause is in no answer, when it names a
// resource and some answer for its cause constrains the resource but
// none matches it, or when it has no cause (an alert that matches no
// cause). It is right when an answer matches it fully, and incomplete
// otherwise (the right cause, no resource where one is needed).
func Judge(key []SpecClaim, f Finding) string {
	if f.Cause == "" {
		return VerdictWrong
	}
	var answers []SpecClaim
	for _, a := range key {
		if a.Cause == f.Cause && sourceMatches(a.Source, f.Source) {
			answers = append(answers, a)
		}
	}
	if len(answers) == 0 {
		return VerdictWrong
	}
	constrained, resourceOK := false, false
	for _, a := range answers {
		if a.Resource != "" {
			constrained = true
			resourceOK = resourceOK || resourceMatches(a.Resource, f.Resource)
		}
	}
	if f.Resource != "" && constrained && !resourceOK {
		return VerdictWrong
	}
	for _, a := range answers {
		if a.Resource == "" || resourceMatches(a.Resource, f.Resource) {
			return VerdictRight
		}
	}
	return VerdictIncomplete
}

// Answers reports whether a claim satisfies answer a: it is right and
// matches a's cause, source and resource.
func Answers(key []SpecClaim, a SpecClaim, f Finding) bool {
	return f.Cause == a.Cause && sourceMatches(a.Source, f.Source) &&
		(a.Resource == "" || resourceMatches(a.Resource, f.Resource)) && Judge(key, f) == VerdictRight
}

func sourceMatches(want, got string) bool {
	return want == "" || want == SourceAny || want == got
}

func resourceMatches(expr, resource string) bool {
	re, err := regexp.Compile(expr)
	return err == nil && re.MatchString(resource)
}

// ClaimCost is what each wrong claim costs under RuleClaims: the
// diagnosis points (those of the objectives in the key) divided by twice
// the number of decoy causes (catalogue causes in no answer), rounded
// up. Claiming every cause in the catalogue thus costs at least half the
// diagnosis points. It is 0 when the key is empty.
func ClaimCost(sp Spec) int {
	diag, decoys := diagnosisPoints(sp), len(Decoys(sp))
	if diag == 0 {
		return 0
	}
	return int(math.Ceil(float64(diag) / float64(2*max(decoys, 1))))
}

// Decoys returns the catalogue's causes that no answer names.
func Decoys(sp Spec) []string {
	var out []string
	for _, c := range sp.Causes {
		if !slices.ContainsFunc(sp.Claims, func(a SpecClaim) bool { return a.Cause == c.ID }) {
			out = append(out, c.ID)
		}
	}
	return out
}

// diagnosisPoints sums the points of the objectives in the answer key.
func diagnosisPoints(sp Spec) int {
	n := 0
	for _, o := range sp.Objectives {
		if isDiagnosis(sp, o.ID) {
			n += o.Points
		}
	}
	return n
}

func isDiagnosis(sp Spec, id string) bool {
	return slices.ContainsFunc(sp.Claims, func(a SpecClaim) bool { return a.Objective == id })
}

// ClaimResult is one claim as scored: distinct claims only (a claim
// repeated by the same source, as Alertmanager re-sends firing alerts,
// is judged once).
type ClaimResult struct {
	// At is when the claim was first made, since handover.
	At Seconds `json:"at"`
	// Finding is the claim.
	Finding Finding `json:"finding"`
	// Verdict is VerdictRight, VerdictWrong or VerdictIncomplete.
	Verdict string `json:"verdict"`
	// Objectives are the objectives this claim achieved first.
	Objectives []string `json:"objectives,omitempty"`
	// Cost is the points it cost (wrong claims only; 0 once the wrong
	// claims have cost all the diagnosis points earned).
	Cost int `json:"cost,omitempty"`
}

// Detection sums up a run's claims, for detection tooling.
type Detection struct {
	// TruePositives counts distinct right claims.
	TruePositives int `json:"truePositives"`
	// FalsePositives counts distinct wrong claims, alerts that match no
	// cause included.
	FalsePositives int `json:"falsePositives"`
	// FirstCorrect is the time from handover to the first right claim.
	FirstCorrect *Seconds `json:"firstCorrect,omitempty"`
	// RootCauseNamed is true when a root-cause objective was achieved,
	// not only the symptom detected.
	RootCauseNamed bool `json:"rootCauseNamed"`
}

// claimKey identifies a distinct claim.
func claimKey(f Finding) string {
	return f.Source + "\x00" + f.Cause + "\x00" + f.Resource + "\x00" + map[bool]string{true: f.Note}[f.Cause == ""]
}

// judgeClaims judges the journal's distinct claims after handover, in
// order, and returns them with when each diagnosis objective was first
// achieved by a right claim.
func judgeClaims(j Journal) ([]ClaimResult, map[string]time.Time) {
	achieved := map[string]time.Time{}
	seen := map[string]bool{}
	var out []ClaimResult
	for _, e := range j.Events {
		if e.Type != EventFinding || e.Finding == nil || j.Handover.IsZero() || e.Time.Before(j.Handover) {
			continue
		}
		k := claimKey(*e.Finding)
		if seen[k] {
			continue
		}
		seen[k] = true
		c := ClaimResult{At: Seconds(e.Time.Sub(j.Handover).Seconds()), Finding: *e.Finding, Verdict: Judge(j.Spec.Claims, *e.Finding)}
		for _, a := range j.Spec.Claims {
			if _, done := achieved[a.Objective]; !done && Answers(j.Spec.Claims, a, *e.Finding) {
				achieved[a.Objective] = e.Time
				c.Objectives = append(c.Objectives, a.Objective)
			}
		}
		out = append(out, c)
	}
	return out, achieved
}

// chargeClaims sets the cost of each wrong claim, in order, until the
// wrong claims have cost earned points, and returns the total.
func chargeClaims(claims []ClaimResult, cost, earned int) int {
	total := 0
	for i := range claims {
		if claims[i].Verdict != VerdictWrong {
			continue
		}
		c := min(cost, earned-total)
		claims[i].Cost = c
		total += c
	}
	return total
}

// ClaimLabel is a claim as reports and explanations show it.
func ClaimLabel(f Finding) string {
	who := f.Source
	if f.Tool != "" {
		who += " (" + f.Tool + ")"
	}
	if f.Cause == "" {
		return fmt.Sprintf("%s: %s", who, f.Note)
	}
	res := f.Resource
	if res == "" {
		res = "no resource"
	}
	return fmt.Sprintf("%s claimed %s on %s", who, f.Cause, res)
}
