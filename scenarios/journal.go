package scenarios

import (
	"regexp"

	"github.com/gameday-sre/gameday/verify"
)

// JournalSpec copies what scoring needs from the scenario into a
// journal, so that the journal alone can be scored again.
func (s *Scenario) JournalSpec() verify.Spec {
	sp := verify.Spec{Name: s.Metadata.Name, Title: s.Metadata.Title, TimeLimit: verify.Seconds(s.Metadata.TimeLimit.Seconds()), Debrief: s.Spec.Debrief,
		Control: s.Spec.Control}
	for _, o := range s.Spec.Objectives {
		sp.Objectives = append(sp.Objectives, verify.SpecObjective{ID: o.ID, Title: o.Title, Category: o.Category, Points: o.Points,
			Target: verify.Seconds(o.Target.Seconds()), After: o.After, Hidden: o.Hidden})
	}
	for _, p := range s.Spec.Penalties {
		sp.Penalties = append(sp.Penalties, verify.SpecPenalty{ID: p.ID, Title: p.Title, Points: p.Points, Explain: p.Explain})
	}
	for _, h := range s.Spec.Hints {
		sp.Hints = append(sp.Hints, verify.SpecHint{Text: h.Text, Cost: h.Cost, Objective: h.Objective})
	}
	for _, c := range s.Spec.Causes {
		sp.Causes = append(sp.Causes, verify.SpecCause{ID: c.ID, Summary: c.Summary})
	}
	sp.Claims = s.AnswerKey()
	sp.Timings = s.Spec.Environment.Cluster.Timings.Summary()
	if len(s.Spec.Parameters) > 0 {
		seed := s.Variant.Seed
		sp.Seed, sp.Variant = &seed, s.Variant.String()
	}
	return sp
}

// AnswerKey returns the scenario's answer key: the finding conditions of its
// diagnosis objectives, in order.
func (s *Scenario) AnswerKey() []verify.SpecClaim {
	var out []verify.SpecClaim
	for _, o := range s.Spec.Objectives {
		for _, f := range o.When.DiagnosisFindings() {
			re, err := s.ExpandRegexp(f.Resource)
			if err != nil {
				re = regexp.QuoteMeta(f.Resource) // validated at load; cannot happen
			}
			out = append(out, verify.SpecClaim{Cause: f.Cause, Resource: re, Source: f.Source, Objective: o.ID})
		}
	}
	return out
}

// DiagnosisFindings returns the finding conditions of a condition that
// is a finding or any of findings; nil for any other shape, whose
// objective is then scored by its recorded events.
func (c *Condition) DiagnosisFindings() []*FindingCondition {
	if f, ok := c.Leaf.(*FindingCondition); ok {
		return []*FindingCondition{f}
	}
	if len(c.Any) == 0 {
		return nil
	}
	var out []*FindingCondition
	for i := range c.Any {
		f, ok := c.Any[i].Leaf.(*FindingCondition)
		if !ok {
			return nil
		}
		out = append(out, f)
	}
	return out
}

// WithAnswerKey returns j with the answer key of s, the scenario it was
// written for (same name), when j has none: how journals written before
// claims were judged are re-scored under RuleClaims. It reports whether
// it added the key.
func WithAnswerKey(j verify.Journal, s *Scenario) (verify.Journal, bool) {
	if len(j.Spec.Claims) > 0 || s == nil || s.Metadata.Name != j.Spec.Name {
		return j, false
	}
	j.Spec.Claims = s.AnswerKey()
	return j, len(j.Spec.Claims) > 0
}
