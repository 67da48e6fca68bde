package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/session"
	"github.com/gameday-sre/gameday/verify"
	"github.com/gameday-sre/gameday/verify/live"
)

// phase is one step of the phase machine: its name (a journal phase
// event and a progress line), what the progress line adds, and what it
// does. A phase that fails ends the run; cleanups it registered (onEnd)
// undo what it set up, after every later phase's.
type phase struct {
	name   string
	detail func(r *run) string
	run    func(r *run, ctx context.Context) error
}

// phases is the run, in order: provision, setup, fault, symptom gate,
// handover, observe (which ends with the verdict). Teardown is the
// cleanups that provision registers.
var phases = []phase{
	{name: PhaseProvision, run: (*run).provision},
	{name: PhaseSetup, run: (*run).setup},
	{name: PhaseFault, run: func(r *run, ctx context.Context) error { return r.steps(ctx, scenarios.PhaseFault) }},
	{name: PhaseGate, run: (*run).gate,
		detail: func(r *run) string {
			return fmt.Sprintf("waiting up to %s for the symptoms", r.s.Spec.Symptoms.Timeout)
		}},
	{name: PhaseHandover, run: (*run).openSession},
	{name: PhaseObserve, run: (*run).observeAndJudge,
		detail: func(r *run) string { return fmt.Sprintf("time limit %s", r.s.Metadata.TimeLimit) }},
}

// play runs the phases in order until one fails, then the cleanups,
// newest first, whatever happened. It returns the error whose kind says
// how the run ended, and leaves the outcome in r.outcome.
func (r *run) play(ctx context.Context, table []phase) (err error) {
	defer func() {
		for i := len(r.cleanups) - 1; i >= 0; i-- {
			if cerr := r.cleanups[i](err); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	for _, p := range table {
		detail := ""
		if p.detail != nil {
			detail = p.detail(r)
		}
		r.phase(p.name, detail)
		if err := p.run(r, ctx); err != nil {
			return r.failed(ctx, p.name, err)
		}
	}
	return nil
}

// failed turns a phase's error into the run's outcome and error. The
// observe phase has judged the run itself; a gate that saw no symptoms
// means the fault did not reproduce; otherwise an interrupt is an abort,
// and anything else a failure of the infrastructure.
func (r *run) failed(ctx context.Context, phase string, err error) error {
	switch {
	case phase == PhaseObserve:
		return err
	case errkind.Of(err) == errkind.NotReproduced:
		r.outcome = verify.OutcomeNotReproduced
		return err
	}
	return r.classify(ctx, err, &r.outcome)
}

// onEnd registers a cleanup, run when the run ends, after those
// registered later. It receives the run's error so far.
func (r *run) onEnd(f func(error) error) { r.cleanups = append(r.cleanups, f) }

// provision builds the environment, registers its teardown, and starts
// the live evaluation.
func (r *run) provision(ctx context.Context) error {
	env, stop, err := r.cfg.Provision(ctx, r.s, r.dir, r.onAWSCall)
	r.onEnd(func(error) error {
		r.finish()
		if r.cfg.Keep && env != nil && ctx.Err() == nil {
			r.log.Info("keeping the environment up until interrupted", "dir", r.dir.Path)
			<-ctx.Done()
		}
		r.phase(PhaseTeardown, "")
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		if serr := stop(stopCtx); serr != nil {
			r.log.Warn("teardown", "err", serr)
			return errkind.E(errkind.Infra, fmt.Errorf("teardown: %w", serr))
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.env = env
	r.recordStartTimes(env)
	if err := r.dir.WriteEnv(env.OperatorEnv()); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	if err := r.clients(); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	r.tracker = live.NewTracker(r.s, r.rec)
	r.ev = live.NewEvaluator(r.s, r.cs, r.dyn, r.mapper, env, r.tracker.Achieved)
	r.tracker.SetEvaluator(r.ev)
	evCtx, stopEv := context.WithCancel(ctx)
	r.onEnd(func(error) error { stopEv(); r.ev.Shutdown(); return nil })
	if err := r.ev.Start(evCtx); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	return nil
}

// openSession serves the session API and the board, writes how the
// operator and each responder connect, and hands over.
func (r *run) openSession(ctx context.Context) error {
	ctl, stopCtl, err := session.Serve(r, r.dir, r.cfg.Responders...)
	r.onEnd(func(error) error { stopCtl(); return nil })
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	sessionEnv := func(token string) []string {
		return []string{"GAMEDAY_FINDINGS_URL=" + ctl.URL + "/v1/findings", "GAMEDAY_ALERTMANAGER_URL=" + ctl.URL + "/v1/alertmanager",
			"GAMEDAY_TOKEN=" + token, "GAMEDAY_BOARD_URL=" + ctl.Board, "GAMEDAY_RUN=" + r.cfg.RunID}
	}
	r.connEnv = append(r.env.OperatorEnv(), sessionEnv(ctl.Token)...)
	r.board = ctl
	if err := r.dir.WriteEnv(r.connEnv); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	for _, name := range r.cfg.Responders {
		kvs, err := r.env.ResponderEnv(ctx, name)
		if err != nil {
			return err
		}
		kvs = append(append(kvs, sessionEnv(ctl.Responders[name])...), "GAMEDAY_RESPONDER="+name)
		if err := r.dir.WriteResponderEnv(name, kvs); err != nil {
			return errkind.E(errkind.Infra, err)
		}
	}
	r.handover()
	return nil
}

// observeAndJudge watches the responders until the run ends, then judges
// how it ended: nil for a run that completed (or a control that stayed
// quiet to its limit) within the headless limits, an error whose kind
// says otherwise.
func (r *run) observeAndJudge(ctx context.Context) error {
	r.outcome = r.observe(ctx)
	cfg, s := r.cfg, r.s
	// A control is time-boxed: reaching its limit is its normal end.
	quietEnd := s.Spec.Control && r.outcome == verify.OutcomeTimeLimit
	switch {
	case r.outcome == verify.OutcomeCompleted, r.outcome == verify.OutcomeDetected, quietEnd:
		if fp := verify.Score(r.rec.Snapshot()).Detection.FalsePositives; cfg.Headless && cfg.MaxFalsePositives != nil && fp > *cfg.MaxFalsePositives {
			return errkind.Errorf(errkind.Failed, "%d false positives, over --max-false-positives %d", fp, *cfg.MaxFalsePositives)
		}
		if cfg.Headless && cfg.DetectionBudget > 0 {
			if ttd, ok := r.detectedAt(); ok && ttd.Sub(r.rec.Snapshot().Handover) > cfg.DetectionBudget {
				return errkind.Errorf(errkind.OverBudget, "detected after %s, over the %s detection budget",
					ttd.Sub(r.rec.Snapshot().Handover).Round(time.Millisecond), cfg.DetectionBudget)
			}
		}
		return nil
	case r.outcome == verify.OutcomeAborted:
		return errkind.E(errkind.Aborted, ctx.Err())
	default:
		if cfg.Headless && !s.Spec.Control {
			if _, ok := r.detectedAt(); !ok {
				return errkind.Errorf(errkind.Failed, "not detected: run ended (%s)", r.outcome)
			}
		}
		return errkind.Errorf(errkind.Failed, "run ended: %s", r.outcome)
	}
}
