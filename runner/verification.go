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
func (r *run) verify(ctx context.Context, vf *scenarios.Verification) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, vf.Timeout.Duration)
	defer cancel()
	holds := func(c *scenarios.Condition) (bool, string) { return r.ev.Eval(ctx, c, verify.NewRound()) }
	wait := func(c *scenarios.Condition) (string, bool) {
		for {
			ok, obs := holds(c)
			if ok {
				return obs, true
			}
			select {
			case <-ctx.Done():
				return obs, false
			case <-time.After(verifySample):
			}
		}
	}
	if vf.Ready != nil {
		if obs, ok := wait(vf.Ready); !ok {
			return false, "not ready to verify within " + vf.Timeout.String() + ": " + obs
		}
	}
	r.rec.Add(verify.Event{Type: verify.EventStep, Step: "verification", Actor: "gameday", Message: "started"})
	r.cfg.Progress("verification", "started")
	// The watcher samples from before the first step to the end.
	failed := make(chan string, 1)
	stop := make(chan struct{})
	samples := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if ok, obs := holds(&vf.Watch); !ok && ctx.Err() == nil {
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
	obs, settled := wait(&vf.Settled)
	if bad := finish(); bad != "" {
		return false, bad
	}
	if !settled {
		return false, "did not settle within " + vf.Timeout.String() + ": " + obs
	}
	return true, fmt.Sprintf("%s; every one of %d samples held", obs, samples)
}
