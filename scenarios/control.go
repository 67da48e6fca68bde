package scenarios

import (
	"fmt"
	"slices"

	"github.com/gameday-sre/gameday/verify"
)

// CauseNoIncident is the cause that says there is no incident: the one
// right answer of a control scenario (Spec.Control), and a wrong one
// anywhere else.
const CauseNoIncident = verify.CauseNoIncident

// checkControl checks a control scenario's shape: no fault steps, the
// cause no-incident in its catalogue, and no-incident as its only
// answer. Any other scenario may list no-incident as a decoy, never as
// an answer.
func (v *Checker) checkControl() {
	answers := v.answers()
	if !v.s.Spec.Control {
		if answers[CauseNoIncident] {
			v.errs.add("spec.objectives", "the answer %s belongs to a control scenario: set spec.control: true, or make %s a wrong cause", CauseNoIncident, CauseNoIncident)
		}
		return
	}
	for i, st := range v.s.Spec.Steps {
		if st.Phase == PhaseFault {
			v.errs.add(fmt.Sprintf("spec.steps[%d].phase", i), "a control scenario stages no fault: make %q a setup step, or drop spec.control", st.Name)
		}
	}
	if !v.causes[CauseNoIncident] {
		v.errs.add("spec.causes", "a control scenario needs the cause %s in its catalogue", CauseNoIncident)
	}
	if !answers[CauseNoIncident] {
		v.errs.add("spec.objectives", "a control scenario needs an objective achieved by the claim %s (when: {finding: {cause: %s}})", CauseNoIncident, CauseNoIncident)
	}
	var others []string
	for c := range answers {
		if c != CauseNoIncident {
			others = append(others, c)
		}
	}
	if len(others) > 0 {
		slices.Sort(others)
		v.errs.add("spec.objectives", "a control scenario's only right answer is %s; %v would be failures on a healthy cluster", CauseNoIncident, others)
	}
}
