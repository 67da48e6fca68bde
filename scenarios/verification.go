package scenarios

import "fmt"

// Verification is a check that gameday itself runs once the operator's
// fix is in: steps that exercise the fix (a verification deploy), with a
// condition watched the whole time. It passes when the watched condition
// holds from the first step until the verification settles; the
// verification condition kind then holds, for a recover objective.
type Verification struct {
	// After is the objective whose achievement starts the verification.
	// Required.
	After string `yaml:"after"`
	// Ready must hold before the steps run, so that the operator's own
	// rollout is done first (for example the Deployment rolled out).
	// Optional.
	Ready *Condition `yaml:"ready"`
	// Steps are run in order, as gameday (for example a setImage: a
	// verification deploy). At least one.
	Steps []Step `yaml:"steps"`
	// Watch is sampled four times a second from the first step until the
	// verification settles; one sample that does not hold fails it.
	// Required.
	Watch Condition `yaml:"watch"`
	// Settled ends the verification once it holds after the steps (for
	// example the verification deploy rolled out). Required.
	Settled Condition `yaml:"settled"`
	// Timeout bounds the whole verification; a verification that has not
	// settled by then fails. Default 3m.
	Timeout Duration `yaml:"timeout"`
	// Attempts is how many times gameday verifies: after a failed
	// verification it verifies again once the operator has changed
	// something in the cluster since (a write through the API server)
	// and Ready holds, up to this many times in all. Default 3; 1 never
	// verifies again.
	Attempts int `yaml:"attempts"`
	// Again are the steps of a verification after one whose steps ran,
	// when repeating Steps would change nothing (the release they ship
	// is already out): a restartRollout, say. Default: Steps.
	Again []Step `yaml:"again"`
}

// DefaultVerificationAttempts is how many times gameday verifies when a
// scenario does not say.
const DefaultVerificationAttempts = 3

// StepsFor returns the steps of a verification: Steps, or Again when an
// earlier verification's steps ran.
func (vf *Verification) StepsFor(ranBefore bool) []Step {
	if ranBefore && len(vf.Again) > 0 {
		return vf.Again
	}
	return vf.Steps
}

// checkVerification checks the verification's references and its steps
// and conditions.
func (v *Checker) checkVerification() {
	vf := v.s.Spec.Verification
	if vf == nil {
		return
	}
	const p = "spec.verification"
	if v.required(p+".after", vf.After) && v.objectives[vf.After] == nil {
		v.ref(p+".after", "objective", vf.After, keys(v.objectives))
	}
	if vf.Ready != nil {
		v.condition(p+".ready", vf.Ready, condCtx{objectives: true})
	}
	if len(vf.Steps) == 0 {
		v.errs.add(p+".steps", "at least one step is required: what exercises the fix")
	}
	v.verificationSteps(p+".steps", vf.Steps)
	v.verificationSteps(p+".again", vf.Again)
	v.condition(p+".watch", &vf.Watch, condCtx{objectives: true})
	v.condition(p+".settled", &vf.Settled, condCtx{objectives: true})
	if vf.Timeout.Duration < 0 {
		v.errs.add(p+".timeout", "must not be negative")
	}
	if vf.Attempts < 0 || vf.Attempts > 10 {
		v.errs.add(p+".attempts", "%d: must be from 1 to 10 (0: the default, %d)", vf.Attempts, DefaultVerificationAttempts)
	}
	if len(vf.Again) > 0 && vf.Attempts == 1 {
		v.errs.add(p+".again", "attempts is 1: there is no second verification to run these steps")
	}
}

// verificationSteps checks the steps at p (spec.verification.steps or
// .again).
func (v *Checker) verificationSteps(p string, steps []Step) {
	for i := range steps {
		st := &steps[i]
		sp := fmt.Sprintf("%s[%d]", p, i)
		v.required(sp+".name", st.Name)
		if st.Phase != "" && st.Phase != PhaseSetup {
			v.errs.add(sp+".phase", "a verification step has no phase; it runs when the verification starts")
		}
		if v.exactlyOne(sp, st.actions, stepKinds.names(), "no action", "several actions (%s): set exactly one per step") && st.Action != nil {
			st.Action.Check(v, sp+"."+st.Kind)
		}
	}
}
