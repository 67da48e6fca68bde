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
// once its objective is achieved. After a failed verification it starts
// another once the operator has written to the cluster since, up to the
// scenario's attempts; a passed one is final.
func (r *run) startVerification(ctx context.Context) {
	vf := r.s.Spec.Verification
	if vf == nil {
		return
	}
	if _, ok := r.tracker.Achieved(vf.After); !ok {
		return
	}
	attempts := vf.Attempts // the loader's default: 3
	attempt, ok := r.verification.start(attempts)
	if !ok {
		return
	}
	go func() {
		passed, why := r.verify(ctx, vf, attempt)
		if ctx.Err() != nil {
			return
		}
		r.verification.finish(passed, time.Now())
		msg := "passed: " + why
		if !passed {
			msg = "failed: " + why
			if attempt < attempts {
				msg += fmt.Sprintf(" (attempt %d of %d: gameday verifies again after your next change)", attempt, attempts)
			}
		}
		r.rec.Add(verify.Event{Type: verify.EventStep, Step: "verification", Actor: "gameday", Message: msg})
		r.cfg.Progress("verification", msg)
		r.ev.SetVerification(passed, why)
	}()
}

// start begins attempt n when one is due: the first, or another after a
// failure followed by a write, within max attempts.
func (s *verifyState) start(max int) (n int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.running, s.passed, s.attempts >= max:
		return 0, false
	case s.attempts > 0 && !s.lastWrite.After(s.failedAt):
		return 0, false
	}
	s.attempts++
	s.running = true
	return s.attempts, true
}

// finish records an attempt's outcome at t.
func (s *verifyState) finish(passed bool, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running, s.passed = false, passed
	if !passed {
		s.failedAt = t
	}
}

// markRan records that a verification's steps ran, and returns whether
// an earlier one's did.
func (s *verifyState) markRan() (before bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	before, s.stepsRan = s.stepsRan, true
	return before
}

// wrote records an operator's write to the cluster at t.
func (s *verifyState) wrote(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastWrite = t
}

// verify waits for the verification's ready condition, runs its steps
// while sampling the watched condition, and waits until it settles. It
// passes when every sample held.
func (r *run) verify(runCtx context.Context, vf *scenarios.Verification, attempt int) (bool, string) {
	deadline := time.Now().Add(vf.Timeout.Duration)
	if vf.Ready != nil {
		if err := r.wait(runCtx, vf.Ready, time.Until(deadline)); err != nil {
			return false, "not ready to verify: " + err.Error()
		}
	}
	started := "started"
	if attempt > 1 {
		started = fmt.Sprintf("started again (attempt %d)", attempt)
	}
	r.rec.Add(verify.Event{Type: verify.EventStep, Step: "verification", Actor: "gameday", Message: started})
	r.cfg.Progress("verification", started)
	ctx, cancel := context.WithDeadline(runCtx, deadline)
	defer cancel()
	// The watcher samples from before the first step to the end. The
	// first sample that fails ends the wait for the settle too: the
	// verification has failed, and says so at once, so that the
	// operator's next change (after the failure) starts another.
	settleCtx, failNow := context.WithCancel(runCtx)
	defer failNow()
	failed := make(chan string, 1)
	stop := make(chan struct{})
	samples := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if ok, obs := r.ev.Holds(ctx, &vf.Watch); !ok && ctx.Err() == nil {
				failed <- obs
				failNow()
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
	steps := vf.StepsFor(r.verification.markRan())
	for i := range steps {
		st := &steps[i]
		if err := r.step(ctx, st); err != nil {
			finish()
			return false, fmt.Sprintf("step %q: %v", st.Name, err)
		}
		r.rec.Add(verify.Event{Type: verify.EventStep, Step: "verification: " + st.Name, Actor: "gameday", Message: st.Kind + " done"})
	}
	// Not the deadline's context: wait's own timer ends it, saying what
	// was seen.
	settleErr := r.wait(settleCtx, &vf.Settled, time.Until(deadline))
	if bad := finish(); bad != "" {
		return false, bad
	}
	if settleErr != nil {
		return false, "did not settle: " + settleErr.Error()
	}
	return true, fmt.Sprintf("settled; every one of %d samples held", samples)
}
