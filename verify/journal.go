// Package verify keeps a run's journal, judges its claims, and scores a
// run as a pure function of its journal. It imports no Kubernetes code:
// reading and scoring a journal needs no cluster (the live evaluation of
// a scenario's conditions is verify/live).
//
// The journal is the single source of truth of a run: an append-only list
// of timestamped events (phases, steps, objective and penalty changes,
// hints, findings, the operator's kubectl and aws calls) plus a snapshot
// of what scoring needs from the scenario, so that `gameday report
// journal.json` can re-score a run offline.
package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"
)

// JournalFormat is the journal format this build writes and reads.
const JournalFormat = "gameday.dev/journal/v1"

// Event types.
const (
	EventPhase       = "phase"       // a runner phase started (Phase)
	EventStep        = "step"        // a setup or fault step ran (Step, Message)
	EventSymptom     = "symptom"     // a symptom check held at the gate (Check)
	EventHandover    = "handover"    // the operator took over
	EventObjective   = "objective"   // an objective was achieved (Objective)
	EventPenalty     = "penalty"     // a penalty was observed (Penalty)
	EventRecovery    = "recovery"    // the service recovered (Message says how)
	EventHint        = "hint"        // a hint was revealed (Hint, Cost)
	EventFinding     = "finding"     // a root-cause claim or detector finding (Finding)
	EventKubectl     = "kubectl"     // the operator's Kubernetes API request (Message)
	EventAWS         = "aws"         // the operator's AWS API call (Message)
	EventGiveUp      = "give-up"     // the operator gave up (or the facilitator ended the run)
	EventObservation = "observation" // a facilitator's note on the timeline (Message)
	EventEnd         = "end"         // the run ended (Message: outcome)
)

// Outcomes of a run.
const (
	OutcomeCompleted     = "completed"      // every objective achieved
	OutcomeDetected      = "detected"       // headless: the detection objective was achieved
	OutcomeTimeLimit     = "time-limit"     // the time limit passed
	OutcomeGaveUp        = "gave-up"        // the operator gave up
	OutcomeAborted       = "aborted"        // interrupted
	OutcomeNotReproduced = "not-reproduced" // the symptoms never appeared
	OutcomeInfraError    = "infra-error"    // the environment failed
)

// Journal is a run's record.
type Journal struct {
	// Format is JournalFormat.
	Format string `json:"format"`
	// RunID identifies the run.
	RunID string `json:"runId"`
	// Spec is what scoring needs from the scenario.
	Spec Spec `json:"spec"`
	// Started, Handover and Ended are wall-clock times; Handover is zero
	// if the run never reached it.
	Started  time.Time `json:"started"`
	Handover time.Time `json:"handover,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`
	// Outcome is how the run ended.
	Outcome string `json:"outcome,omitempty"`
	// Events are in order of time.
	Events []Event `json:"events"`
}

// Event is one entry in the journal.
type Event struct {
	// Time is when it happened.
	Time time.Time `json:"time"`
	// Type is one of the Event* constants.
	Type string `json:"type"`
	// Phase, Step, Check, Objective, Penalty name what the event is about.
	Phase     string `json:"phase,omitempty"`
	Step      string `json:"step,omitempty"`
	Check     string `json:"check,omitempty"`
	Objective string `json:"objective,omitempty"`
	Penalty   string `json:"penalty,omitempty"`
	// Hint is the 1-based hint number; Cost its cost.
	Hint int `json:"hint,omitempty"`
	Cost int `json:"cost,omitempty"`
	// Finding is a root-cause claim (EventFinding), or the claim that
	// achieved a diagnosis objective (EventObjective).
	Finding *Finding `json:"finding,omitempty"`
	// Actor is who acted: operator, detector, gameday.
	Actor string `json:"actor,omitempty"`
	// Message is a human-readable description.
	Message string `json:"message,omitempty"`
	// Durations are timings the event reports, such as when each part of
	// the environment was ready (the "provisioned" step).
	Durations map[string]Seconds `json:"durations,omitempty"`
}

// Finding is a root-cause claim by the operator or a detector.
type Finding struct {
	// Cause is a cause id from the scenario's catalogue.
	Cause string `json:"cause"`
	// Resource is what the claim is about (an ARN, namespace/name...).
	Resource string `json:"resource,omitempty"`
	// Source is operator or detector.
	Source string `json:"source"`
	// Tool names the detector.
	Tool string `json:"tool,omitempty"`
	// Severity is free text (critical, warning...).
	Severity string `json:"severity,omitempty"`
	// Note is free text.
	Note string `json:"note,omitempty"`
}

// Spec is the scenario's scoring rules, copied into the journal.
type Spec struct {
	Name       string          `json:"name"`
	Title      string          `json:"title"`
	TimeLimit  Seconds         `json:"timeLimit"`
	Objectives []SpecObjective `json:"objectives"`
	Penalties  []SpecPenalty   `json:"penalties"`
	Hints      []SpecHint      `json:"hints"`
	Causes     []SpecCause     `json:"causes"`
	// Claims is the answer key (ClaimsOf); journals written before
	// claims were judged have none and are scored under RuleLegacy.
	Claims  []SpecClaim `json:"claims,omitempty"`
	Debrief string      `json:"debrief"`
	// Control is set for a control scenario (scenarios.Spec.Control): a
	// run that reaches its time limit earns the no-incident answers, and
	// wrong claims cost points from the whole score.
	Control bool `json:"control,omitempty"`
	// Timings are the cluster's control-plane and kubelet periods the
	// game ran with ("hpaSyncPeriod 5s"), for the report; journals
	// written before they were recorded have none.
	Timings []string `json:"timings,omitempty"`
	// Seed is the seed of the scenario's variant, for a scenario with
	// parameters (nil otherwise): replaying it stages the same incident.
	// It is for the facilitator and the report, never the responders.
	Seed *uint64 `json:"seed,omitempty"`
	// Variant is what the seed chose ("namespace=payments").
	Variant string `json:"variant,omitempty"`
}

// SpecObjective is an objective's scoring rule.
type SpecObjective struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Category string   `json:"category"`
	Points   int      `json:"points"`
	Target   Seconds  `json:"target"`
	After    []string `json:"after,omitempty"`
	Hidden   bool     `json:"hidden,omitempty"`
}

// SpecPenalty is a penalty's rule.
type SpecPenalty struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Points  int    `json:"points"`
	Explain string `json:"explain,omitempty"`
}

// SpecHint is a hint's text and cost.
type SpecHint struct {
	Text      string `json:"text"`
	Cost      int    `json:"cost"`
	Objective string `json:"objective,omitempty"`
}

// SpecCause is a catalogue entry.
type SpecCause struct {
	ID      string `json:"id"`
	Summary string `json:"summary"`
}

// Finding sources: who may make a claim.
const (
	SourceAny      = "any"
	SourceOperator = "operator"
	SourceDetector = "detector"
)

// Objective categories.
const (
	CategoryDetect    = "detect"
	CategoryRootCause = "rootCause"
	CategoryFix       = "fix"
	CategoryRestart   = "restart"
	CategoryRecover   = "recover"
	CategoryOther     = "other"
)

// CauseNoIncident is the cause a responder names to say there is no
// incident: the answer a control scenario expects.
const CauseNoIncident = "no-incident"

// Seconds is a duration written as seconds in JSON.
type Seconds float64

// Duration converts to time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

// Recorder appends events to a journal safely from many goroutines.
type Recorder struct {
	mu  sync.Mutex
	j   Journal
	now func() time.Time
	// notify, if set, is called after each append (outside the lock).
	notify func(Event)
}

// NewRecorder starts a journal for a run.
func NewRecorder(runID string, spec Spec, now func() time.Time) *Recorder {
	if now == nil {
		now = time.Now
	}
	return &Recorder{j: Journal{Format: JournalFormat, RunID: runID, Spec: spec, Started: now()}, now: now}
}

// OnEvent sets a function called after every append.
func (r *Recorder) OnEvent(f func(Event)) {
	r.mu.Lock()
	r.notify = f
	r.mu.Unlock()
}

// Now returns the recorder's clock.
func (r *Recorder) Now() time.Time { return r.now() }

// Add appends an event, stamping its time if unset.
func (r *Recorder) Add(e Event) Event {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	r.mu.Lock()
	r.j.Events = append(r.j.Events, e)
	if e.Type == EventHandover && r.j.Handover.IsZero() {
		r.j.Handover = e.Time
	}
	notify := r.notify
	r.mu.Unlock()
	if notify != nil {
		notify(e)
	}
	return e
}

// End records the outcome.
func (r *Recorder) End(outcome string) {
	e := r.Add(Event{Type: EventEnd, Message: outcome})
	r.mu.Lock()
	r.j.Ended, r.j.Outcome = e.Time, outcome
	r.mu.Unlock()
}

// Snapshot returns a copy of the journal with events sorted by time.
func (r *Recorder) Snapshot() Journal {
	r.mu.Lock()
	defer r.mu.Unlock()
	j := r.j
	j.Events = append([]Event(nil), r.j.Events...)
	sort.SliceStable(j.Events, func(a, b int) bool { return j.Events[a].Time.Before(j.Events[b].Time) })
	return j
}

// Write writes the journal as indented JSON.
func (j Journal) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(j)
}

// ReadJournal reads a journal file, checking its format.
func ReadJournal(path string) (Journal, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Journal{}, fmt.Errorf("read journal: %w", err)
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil {
		return Journal{}, fmt.Errorf("read journal %s: %w", path, err)
	}
	if j.Format != JournalFormat {
		return Journal{}, fmt.Errorf("read journal %s: format %q, this build reads %q", path, j.Format, JournalFormat)
	}
	return j, nil
}
