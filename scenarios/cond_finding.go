package scenarios

import (
	"context"
	"fmt"
)

func init() { RegisterCondition("finding", func() ConditionKind { return &FindingCondition{} }) }

// FindingCondition holds when a right root-cause claim matching it was
// recorded during the run.
type FindingCondition struct {
	// Cause is a cause id from spec.causes. Required.
	Cause string `yaml:"cause"`
	// Resource is a regular expression the claim's resource must match;
	// scenario variables are inserted quoted. Empty matches any.
	Resource string `yaml:"resource"`
	// Source is operator, detector or any. Default any.
	Source string `yaml:"source"`
}

// Default implements Defaulter.
func (q *FindingCondition) Default() {
	if q.Source == "" {
		q.Source = SourceAny
	}
}

// Check implements ConditionKind.
func (q *FindingCondition) Check(c *Checker, p string) {
	if c.required(p+".cause", q.Cause) && !c.causes[q.Cause] {
		c.ref(p+".cause", "cause", q.Cause, keys(c.causes))
	}
	c.regexp(p+".resource", q.Resource)
	c.oneOf(p+".source", q.Source, []string{SourceAny, SourceOperator, SourceDetector})
}

// Eval implements ConditionKind: only a right claim satisfies it.
func (q *FindingCondition) Eval(_ context.Context, w World) (bool, string) {
	if desc, ok := w.RightClaim(q); ok {
		return true, desc
	}
	return false, fmt.Sprintf("no right claim of %s among %d", q.Cause, w.Claims())
}
