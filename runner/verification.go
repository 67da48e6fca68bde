package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// verifySample is how often a verification samples its watched
// condition.
const verifySample = 250 * time.Millisecond

// startVerification starts the scenario's verification (spec.verification)
// once its objective is achieved; it runs once a run.
func (r *run) startVerification(ctx context.Context) {
	vf := r.s.Spec.Verification
	if vf == nil || r.verifyStarted {
		return
	}
	if _, ok := r.tracker.Achieved(vf.After); !ok {
		return
	}
	r.verifyStarted = true
	go func() {
		passed, why := r.verify(ctx, vf)
		if ctx.Err() != nil {
			return
		}
		msg := "passed: " + why
		if !passed {
			msg = "failed: " + why
		}
		r.rec.Add(verify.Event{Type: verify.EventStep, Step: "verification", Actor: "gameday", Message: msg})
		r.cfg.Progress("verification", msg)
		r.ev.SetVerification(passed, why)
	}()
}

// verify waits for the verification's ready condition, runs its steps
// while sampling the watched condition, and waits until it settles. It
// passes when every sample held.
func (r *run) verify(runCtx context.Context, vf *scenarios.Verification) (bool, string) {
	deadline := time.Now().Add(vf.Timeout.Duration)
	if vf.Ready != nil {
		if err := r.wait(runCtx, vf.Ready, time.Until(deadline)); err != nil {
			return false, "not ready to verify: " + err.Error()
		}
	}
	r.rec.Add(verify.Event{Type: verify.EventStep, Step: "verification", Actor: "gameday", Message: "started"})
	r.cfg.Progress("verification", "started")
	ctx, cancel := context.WithDeadline(runCtx, deadline)
	defer cancel()
	// The watcher samples from before the first step to the end.
	failed := make(chan string, 1)
	stop := make(chan struct{})
	samples := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if ok, obs := r.ev.Holds(ctx, &vf.Watch); !ok && ctx.Err() == nil {
				failed <- obs
				return
			}
			samples++
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-time.After(verifySample):
			}
		}
	}()
	finish := func() string {
		close(stop)
		<-done
		select {
		case obs := <-failed:
			return obs
		default:
			return ""
		}
	}
	for i := range vf.Steps {
		st := &vf.Steps[i]
		if err := r.step(ctx, st); err != nil {
			finish()
			return false, fmt.Sprintf("step %q: %v", st.Name, err)
		}
		r.rec.Add(verify.Event{Type: verify.EventStep, Step: "verification: " + st.Name, Actor: "gameday", Message: st.Kind + " done"})
	}
	// The run's context: wait's own timer ends it, saying what was seen.
	settleErr := r.wait(runCtx, &vf.Settled, time.Until(deadline))
	if bad := finish(); bad != "" {
		return false, bad
	}
	if settleErr != nil {
		return false, "did not settle: " + settleErr.Error()
	}
	return true, fmt.Sprintf("settled; every one of %d samples held", samples)
}
