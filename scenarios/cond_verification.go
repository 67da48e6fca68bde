package scenarios

import "context"

func init() {
	RegisterCondition("verification", func() ConditionKind { return &VerificationCondition{} })
}

// VerificationCondition holds once the scenario's verification
// (spec.verification) has ended as Passed says: passed (the default), or
// failed. It is how a recover objective asks for a fix that survives a
// verification deploy.
type VerificationCondition struct {
	// Passed is the outcome waited for. Default true.
	Passed *bool `yaml:"passed"`
}

// Default implements Defaulter.
func (q *VerificationCondition) Default() {
	if q.Passed == nil {
		t := true
		q.Passed = &t
	}
}

// Check implements ConditionKind.
func (q *VerificationCondition) Check(c *Checker, p string) {
	if c.s.Spec.Verification == nil {
		c.errs.add(p, "the scenario has no spec.verification to wait for")
	}
}

// Eval implements ConditionKind.
func (q *VerificationCondition) Eval(_ context.Context, w World) (bool, string) {
	passed, done, why := w.Verification()
	switch {
	case !done:
		return false, "verification not run yet" + why
	case passed:
		return *q.Passed, "verification passed" + why
	}
	return !*q.Passed, "verification failed" + why
}
