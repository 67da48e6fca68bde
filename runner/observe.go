package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/gameday-sre/gameday/infra/operator"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/procgroup"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
	"github.com/gameday-sre/gameday/verify/live"
)

// gate waits until every symptom check holds, or fails with a
// NotReproduced error that lists what was observed instead.
func (r *run) gate(ctx context.Context) error {
	return awaitSymptoms(ctx, r.ev, r.s.Spec.Symptoms, r.rec, time.Second)
}

// symptomSource is what the symptom gate reads: the symptom checks that
// fail now, and a signal when the cluster or the AWS account changed.
type symptomSource interface {
	Symptoms(ctx context.Context) []live.CheckFailure
	Changed() <-chan struct{}
}

// awaitSymptoms evaluates the symptom checks whenever src says something
// changed, and at least every poll, until all hold (each is journalled)
// or the spec's timeout passes (NotReproduced, with what was observed).
func awaitSymptoms(ctx context.Context, src symptomSource, spec scenarios.Symptoms, rec *verify.Recorder, poll time.Duration) error {
	timeout := spec.Timeout.Duration
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		failures := src.Symptoms(ctx)
		if len(failures) == 0 {
			for _, c := range spec.Checks {
				rec.Add(verify.Event{Type: verify.EventSymptom, Check: c.Name})
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			var b strings.Builder
			fmt.Fprintf(&b, "scenario did not reproduce: %d of %d symptoms did not appear within %s", len(failures), len(spec.Checks), timeout)
			for _, f := range failures {
				fmt.Fprintf(&b, "\n  - %s: observed %s", f.Check, f.Observed)
			}
			return errkind.Errorf(errkind.NotReproduced, "%s", b.String())
		case <-src.Changed():
		case <-tick.C:
		}
	}
}

// observe runs until every objective is achieved, the time limit passes,
// the operator gives up or ctx ends, and returns the outcome.
func (r *run) observe(ctx context.Context) string {
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.tailAudit(octx)
	if r.cfg.Detector != "" {
		stop, err := r.startDetector()
		if err != nil {
			r.log.Warn("detector", "err", err)
			r.rec.Add(verify.Event{Type: verify.EventStep, Step: "detector", Actor: "gameday", Message: "failed to start: " + err.Error()})
		}
		defer stop()
	}
	autopilotDone := make(chan error, 1)
	autopilotStarted := false
	startAutopilot := func() {
		if !autopilotStarted {
			autopilotStarted = true
			go func() { autopilotDone <- r.autopilot(octx) }()
		}
	}
	if r.cfg.Mode == Autopilot && !r.cfg.Headless {
		startAutopilot()
	}
	limit := time.NewTimer(r.s.Metadata.TimeLimit.Duration)
	defer limit.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	deadline := start.Add(r.s.Metadata.TimeLimit.Duration)
	for {
		if r.tracker.Check(ctx) {
			r.log.Info("every objective achieved")
			return verify.OutcomeCompleted
		}
		r.startVerification(octx)
		if r.cfg.Headless {
			if _, ok := r.detectedAt(); ok {
				if !r.cfg.Solve {
					return verify.OutcomeDetected
				}
				startAutopilot()
			}
		}
		select {
		case <-ctx.Done():
			return verify.OutcomeAborted
		case <-limit.C:
			r.tracker.Check(ctx)
			return verify.OutcomeTimeLimit
		case <-r.giveUp:
			return verify.OutcomeGaveUp
		case err := <-autopilotDone:
			if err != nil {
				r.log.Warn("autopilot", "err", err)
				r.rec.Add(verify.Event{Type: verify.EventStep, Step: stepAutopilot, Actor: stepAutopilot, Message: autopilotFailed + err.Error()})
			}
			autopilotDone = nil
			if g := r.cfg.AutopilotGrace; g > 0 && time.Until(deadline) > g {
				limit.Reset(g)
			}
		case <-r.ev.Changed():
		case <-r.awsCalls:
		case <-tick.C:
			done := 0
			for _, o := range r.s.Spec.Objectives {
				if _, ok := r.tracker.Achieved(o.ID); ok {
					done++
				}
			}
			r.cfg.Progress(PhaseTick, fmt.Sprintf("%s of %s · %d/%d objectives",
				verify.Clock(verify.Seconds(time.Since(start).Seconds())), r.s.Metadata.TimeLimit, done, len(r.s.Spec.Objectives)))
		}
	}
}

// startDetector runs the detector command in its own process group with
// the connection environment; its output goes to detector.log. The stop
// function kills the group.
func (r *run) startDetector() (func(), error) {
	logf, err := os.Create(r.dir.File("detector.log"))
	if err != nil {
		return func() {}, err
	}
	cmd := exec.Command("bash", "-c", r.cfg.Detector)
	cmd.Env = append(os.Environ(), r.connEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	proc, err := procgroup.Start(cmd)
	if err != nil {
		logf.Close()
		return func() {}, err
	}
	r.rec.Add(verify.Event{Type: verify.EventStep, Step: "detector", Actor: "gameday", Message: "started: " + r.cfg.Detector})
	return func() {
		proc.Stop(5 * time.Second)
		logf.Close()
	}, nil
}

// The journal's record of an autopilot that stopped at a failed command:
// a step event named stepAutopilot whose message starts autopilotFailed.
const (
	stepAutopilot   = "autopilot"
	autopilotFailed = "failed: "
)

// AutopilotFailure reports whether the journal records that one of the
// autopilot's commands failed, and the failure.
func AutopilotFailure(j verify.Journal) (string, bool) {
	for _, e := range j.Events {
		if e.Type == verify.EventStep && e.Step == stepAutopilot && strings.HasPrefix(e.Message, autopilotFailed) {
			return strings.TrimPrefix(e.Message, autopilotFailed), true
		}
	}
	return "", false
}

// autopilot runs the reference solution with the operator's environment.
func (r *run) autopilot(ctx context.Context) error {
	env := append(os.Environ(), r.env.OperatorEnv()...)
	for k, v := range r.s.Variables() {
		env = append(env, k+"="+v)
	}
	env = append(env, "GAMEDAY="+r.cfg.Gameday, "GAMEDAY_HOME="+r.cfg.Root, "GAMEDAY_RUN="+r.cfg.RunID)
	for i, st := range r.s.Spec.Solution {
		r.cfg.Progress("autopilot", fmt.Sprintf("%d/%d %s", i+1, len(r.s.Spec.Solution), st.Description))
		cmd := exec.CommandContext(ctx, "bash", "-c", st.Run)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		r.rec.Add(verify.Event{Type: verify.EventStep, Step: "solution: " + st.Description, Actor: "autopilot", Message: strings.TrimSpace(lastLine(string(out)))})
		if err != nil {
			return fmt.Errorf("solution step %d (%s): %w: %s", i+1, st.Description, err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// auditEvent is the part of a Kubernetes audit event gameday reads.
type auditEvent struct {
	Stage      string `json:"stage"`
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	UserAgent string `json:"userAgent"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	StageTimestamp time.Time `json:"stageTimestamp"`
}

// tailAudit follows the audit log and records the operator's requests.
func (r *run) tailAudit(ctx context.Context) {
	path := r.env.AuditLog()
	var f *os.File
	for f == nil {
		var err error
		if f, err = os.Open(path); err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	defer f.Close()
	// Only what the operator does after handover counts.
	_, _ = f.Seek(0, io.SeekEnd)
	rd := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := rd.ReadBytes('\n')
		if err == nil {
			line = append(partial, line...)
			partial = nil
			r.recordAudit(line)
			continue
		}
		partial = append(partial, line...)
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (r *run) recordAudit(line []byte) {
	var ev auditEvent
	if json.Unmarshal(line, &ev) != nil || ev.Stage != "ResponseComplete" || ev.ObjectRef == nil {
		return
	}
	o := ev.ObjectRef
	what := o.Resource
	if o.Subresource != "" {
		what += "/" + o.Subresource
	}
	if o.Name != "" {
		what += " " + o.Name
	}
	if o.Namespace != "" {
		what += " -n " + o.Namespace
	}
	msg := ev.Verb + " " + what
	if ev.ResponseStatus != nil && ev.ResponseStatus.Code >= 300 {
		msg += fmt.Sprintf(" (HTTP %d)", ev.ResponseStatus.Code)
	}
	if client, _, ok := strings.Cut(ev.UserAgent, "/"); ok && client != "" {
		msg = client + ": " + msg
	}
	r.rec.Add(verify.Event{Time: ev.StageTimestamp, Type: verify.EventKubectl, Actor: ev.User.Username, Message: msg})
	if slices.Contains(operator.WriteVerbs, ev.Verb) && (ev.ResponseStatus == nil || ev.ResponseStatus.Code < 300) {
		r.verification.wrote(time.Now())
	}
}
