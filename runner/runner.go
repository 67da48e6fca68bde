// Package runner is gameday's one phase machine: provision → setup →
// fault → symptom gate → handover → observe → teardown. It writes the
// journal as it goes. It never imports a concrete backend: the caller
// passes a Provision function that returns an Environment.
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/session"
	"github.com/gameday-sre/gameday/verify"
	"github.com/gameday-sre/gameday/verify/live"
)

// Environment is a provisioned cluster and AWS account, as the runner
// uses it.
type Environment interface {
	// Admin is gameday's own Kubernetes identity.
	Admin() *rest.Config
	// OperatorEnv is KUBECONFIG and AWS_* for the operator.
	OperatorEnv() []string
	// ResponderEnv gives a named responder an identity of their own with
	// the operator's rights, and returns its KUBECONFIG and AWS_*.
	ResponderEnv(ctx context.Context, name string) ([]string, error)
	// AuditLog is the API server's audit log of the operator's requests.
	AuditLog() string
	scenarios.NodeGroupOps
	scenarios.NodeOps
	scenarios.IAMOps
	scenarios.ImageOps
	live.Cloud
}

// AWSCall is an AWS API call seen by the environment's AWS endpoint.
type AWSCall struct {
	Time    time.Time
	User    string
	Service string
	Action  string
	Params  map[string]string
	Status  int
}

// Provision builds the environment for a scenario in a run directory.
// Calls made to its AWS endpoint are passed to onAWSCall. The returned
// stop function is never nil.
type Provision func(ctx context.Context, s *scenarios.Scenario, dir rundir.Dir, onAWSCall func(AWSCall)) (Environment, func(context.Context) error, error)

// Mode is how the incident is played.
type Mode int

const (
	// Interactive waits for a person.
	Interactive Mode = iota
	// Autopilot runs the scenario's reference solution.
	Autopilot
)

// Config configures a run.
type Config struct {
	// Provision builds the environment. Required.
	Provision Provision
	// Root is the state root for run directories. Required.
	Root string
	// RunID is the run id; default a new one.
	RunID string
	// Mode is Interactive or Autopilot.
	Mode Mode
	// TimeLimit overrides the scenario's time limit when positive.
	TimeLimit time.Duration
	// Keep leaves the environment up after the run.
	Keep bool
	// Responders are the names of a team's responders: each gets a
	// Kubernetes user, an IAM user and a control API token of their own
	// (env-NAME.sh in the run directory), so the timeline says who did
	// what. Without any, everyone plays as the one operator.
	Responders []string
	// Gameday is the gameday executable, exported to solutions as
	// $GAMEDAY. Default: this process's executable.
	Gameday string
	// Log receives narration (progress, phases). Default discards.
	Log *slog.Logger
	// Out receives the handover text; nil discards.
	Out io.Writer
	// Progress receives a line per phase; nil discards.
	Progress func(phase, detail string)
	// OnEnd, if set, receives the result as soon as the run ends, before
	// teardown (and, with Keep, before waiting for ctx to end).
	OnEnd func(Result)

	// Headless ends the run as soon as the incident is detected (the
	// first detect objective, else the first rootCause one), for testing
	// detection tooling; with Solve it then plays the reference solution
	// and ends when every objective is achieved.
	Headless bool
	// Solve: see Headless.
	Solve bool
	// Detector is a shell command run for the length of the observe
	// phase, with the connection environment (KUBECONFIG, AWS_*,
	// GAMEDAY_FINDINGS_URL, GAMEDAY_ALERTMANAGER_URL, GAMEDAY_TOKEN).
	Detector string
	// DetectionBudget fails a headless run whose time to detect exceeds
	// it (errkind.OverBudget).
	DetectionBudget time.Duration
	// MaxFalsePositives, if set, fails a headless run (errkind.Failed)
	// whose distinct wrong claims outnumber it.
	MaxFalsePositives *int
	// AutopilotGrace, if positive, ends an autopilot run this long after
	// the reference solution finished, instead of at the time limit.
	AutopilotGrace time.Duration
}

// Result is what a run produced.
type Result struct {
	// Dir is the run directory (journal.json, report.md, logs).
	Dir rundir.Dir
	// Journal is the run's journal.
	Journal verify.Journal
	// Score is the scored journal.
	Score verify.Result
}

// Phases, in order.
const (
	PhaseProvision = "provision"
	PhaseSetup     = "setup"
	PhaseFault     = "fault"
	PhaseGate      = "symptom-gate"
	PhaseHandover  = "handover"
	PhaseObserve   = "observe"
	PhaseTeardown  = "teardown"
	// PhaseTick is not a phase: Progress receives it every second while
	// observing, with the elapsed time and objectives achieved.
	PhaseTick = "tick"
)

// run is one run's state.
type run struct {
	cfg     Config
	s       *scenarios.Scenario
	dir     rundir.Dir
	rec     *verify.Recorder
	env     Environment
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	mapper  meta.RESTMapper
	ev      *live.Evaluator
	tracker *live.Tracker
	log     *slog.Logger

	connEnv   []string
	awsCalls  chan struct{}
	giveUp    chan struct{}
	giveOnce  sync.Once
	hintsMu   sync.Mutex
	hintsUsed int
	// watchers are the live board's streams, woken on journal changes.
	watchMu  sync.Mutex
	watchers map[chan struct{}]bool
	// board is the session's board links, printed at handover.
	board *session.Info
	// verification is the verification's state, across attempts.
	verification verifyState

	// outcome is how the run ended, so far: set by the phase that ends it.
	outcome string
	// cleanups undo what the phases set up, newest first (play).
	cleanups []func(error) error
	// finish ends the journal and writes it, once.
	finish func()
}

// verifyState is the verification's state: the attempts made, whether
// one is running, and when the operator last wrote to the cluster (a
// failed verification is tried again after a later write).
type verifyState struct {
	mu        sync.Mutex
	attempts  int
	running   bool
	passed    bool
	failedAt  time.Time
	lastWrite time.Time
	stepsRan  bool
}

// Run plays a scenario from provisioning to teardown. It always returns
// a Result with the run directory and the journal so far, and an error
// whose kind says how the run ended (nil when every objective was
// achieved).
func Run(ctx context.Context, s *scenarios.Scenario, cfg Config) (res Result, err error) {
	if cfg.Provision == nil || cfg.Root == "" {
		return res, errkind.Errorf(errkind.Internal, "runner: Provision and Root are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Progress == nil {
		cfg.Progress = func(string, string) {}
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.RunID == "" {
		cfg.RunID = rundir.NewID()
	}
	if cfg.Gameday == "" {
		cfg.Gameday, _ = os.Executable()
	}
	if cfg.TimeLimit > 0 {
		c := *s // Metadata is a value: the caller's scenario stays as it was
		c.Metadata.TimeLimit.Duration = cfg.TimeLimit
		s = &c
	}
	dir, err := rundir.Create(cfg.Root, cfg.RunID)
	if err != nil {
		return res, errkind.E(errkind.Infra, err)
	}
	r := &run{cfg: cfg, s: s, dir: dir, log: cfg.Log, awsCalls: make(chan struct{}, 1), giveUp: make(chan struct{})}
	r.rec = verify.NewRecorder(cfg.RunID, s.JournalSpec(), time.Now)
	r.watchers = map[chan struct{}]bool{}
	r.rec.OnEvent(r.changed)
	res.Dir = dir
	unmark, err := dir.MarkLive()
	defer unmark()
	if err != nil {
		return res, errkind.E(errkind.Infra, err)
	}

	r.outcome = verify.OutcomeInfraError
	var journalErr error
	r.finish = sync.OnceFunc(func() {
		r.rec.End(r.outcome)
		res.Journal = r.rec.Snapshot()
		res.Score = verify.Score(res.Journal)
		if werr := r.writeJournal(res.Journal); werr != nil {
			journalErr = errkind.E(errkind.Infra, werr)
		}
		if cfg.OnEnd != nil {
			cfg.OnEnd(res)
		}
	})
	err = r.play(ctx, phases)
	r.finish() // teardown has written the journal; this is for a run that never provisioned
	if err == nil {
		err = journalErr
	}
	return res, err
}

// classify turns an error into the run's outcome.
func (r *run) classify(ctx context.Context, err error, outcome *string) error {
	if ctx.Err() != nil {
		*outcome = verify.OutcomeAborted
		return errkind.E(errkind.Aborted, fmt.Errorf("interrupted: %w", ctx.Err()))
	}
	if errkind.Of(err) == errkind.Internal {
		err = errkind.E(errkind.Infra, err)
	}
	return err
}

func (r *run) phase(name, detail string) {
	r.rec.Add(verify.Event{Type: verify.EventPhase, Phase: name, Message: detail})
	r.cfg.Progress(name, detail)
	r.log.Debug("phase", "phase", name, "detail", detail)
}

func (r *run) onAWSCall(c AWSCall) {
	if c.User == session.Operator || slices.Contains(r.cfg.Responders, c.User) {
		msg := fmt.Sprintf("aws %s %s", c.Service, c.Action)
		for _, k := range sortedKeys(c.Params) {
			msg += fmt.Sprintf(" %s=%s", k, c.Params[k])
		}
		if c.Status >= 300 {
			msg += fmt.Sprintf(" (HTTP %d)", c.Status)
		}
		r.rec.Add(verify.Event{Time: c.Time, Type: verify.EventAWS, Actor: c.User, Message: msg})
	}
	select {
	case r.awsCalls <- struct{}{}:
	default:
	}
}

func (r *run) clients() error {
	cfg := r.env.Admin()
	var err error
	if r.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if r.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	r.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return nil
}

func (r *run) writeJournal(j verify.Journal) error {
	f, err := os.Create(r.dir.File("journal.json"))
	if err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	werr := j.Write(f)
	return errors.Join(werr, f.Close())
}

// handover records the handover and tells the operator how to connect.
func (r *run) handover() {
	e := r.rec.Add(verify.Event{Type: verify.EventHandover})
	r.ev.SetHandover(e.Time)
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== %s ===\n\n%s\n", r.s.Metadata.Title, strings.TrimSpace(r.s.Spec.Briefing))
	if len(r.cfg.Responders) > 0 {
		fmt.Fprintf(&b, "\nEach responder connects from their own terminal:\n\n")
		for _, name := range r.cfg.Responders {
			fmt.Fprintf(&b, "    eval \"$(gameday env --as %s)\"     # or: source %s\n", name, r.dir.File(rundir.ResponderEnvFile(name)))
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "\nConnect from another terminal:\n\n    eval \"$(gameday env)\"     # or: source %s\n\n", r.dir.File(rundir.EnvFile))
	}
	fmt.Fprintf(&b, "Then use kubectl and aws as usual. While the run is live:\n")
	fmt.Fprintf(&b, "    gameday status | gameday hint | gameday causes | gameday diagnose --cause ID --resource ARN | gameday give-up\n")
	if r.board != nil && r.board.Board != "" {
		fmt.Fprintf(&b, "\nLive board, for everyone (read-only):\n    %s\n", r.board.Board)
		fmt.Fprintf(&b, "Facilitator view, with spoilers, hints and end (keep it to yourself):\n    %s\n", r.board.Facilitator)
	}
	fmt.Fprintf(&b, "\nYou have %s. The clock starts now.\n\n", r.s.Metadata.TimeLimit)
	_, _ = io.WriteString(r.cfg.Out, b.String())
}

// detectionObjective is the objective that marks detection: the first
// detect objective, else the first rootCause one.
// detectedAt reports when the incident was detected.
func (r *run) detectedAt() (time.Time, bool) {
	id := r.s.DetectionObjective()
	if id == "" {
		return time.Time{}, false
	}
	return r.tracker.Achieved(id)
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// startTimer is an environment that says when each of its parts was
// ready, since provisioning began.
type startTimer interface {
	StartTimes() map[string]time.Duration
}

// recordStartTimes journals where provisioning time went, when the
// environment says.
func (r *run) recordStartTimes(env Environment) {
	st, ok := env.(startTimer)
	if !ok {
		return
	}
	times := st.StartTimes()
	names := slices.SortedFunc(maps.Keys(times), func(a, b string) int { return cmp.Compare(times[a], times[b]) })
	d := map[string]verify.Seconds{}
	var parts []string
	for _, n := range names {
		d[n] = verify.Seconds(times[n].Seconds())
		parts = append(parts, fmt.Sprintf("%s %.1fs", n, times[n].Seconds()))
	}
	r.rec.Add(verify.Event{Type: verify.EventStep, Step: "provisioned", Actor: "gameday", Message: "ready at: " + strings.Join(parts, ", "), Durations: d})
}
