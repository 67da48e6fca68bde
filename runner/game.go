package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/session"
	"github.com/gameday-sre/gameday/verify"
)

// The run is the game the session API serves, with its live board.
var _ session.BoardGame = (*run)(nil)

// Scenario is the scenario being played.
func (r *run) Scenario() *scenarios.Scenario { return r.s }

// Status is what the operator may see: elapsed time, the objectives
// (hidden ones only once achieved) and hints used.
func (r *run) Status() session.Status {
	j := r.rec.Snapshot()
	st := session.Status{Scenario: r.s.Metadata.Name, TimeLimit: verify.Seconds(r.s.Metadata.TimeLimit.Seconds())}
	if !j.Handover.IsZero() {
		st.Elapsed = verify.Seconds(time.Since(j.Handover).Seconds())
	}
	for _, o := range r.s.Spec.Objectives {
		os := session.ObjectiveStatus{ID: o.ID, Title: o.Title}
		if at, ok := r.tracker.Achieved(o.ID); ok {
			s := verify.Seconds(at.Sub(j.Handover).Seconds())
			os.Achieved, os.At = true, &s
		} else if o.Hidden {
			continue
		}
		st.Objectives = append(st.Objectives, os)
	}
	r.hintsMu.Lock()
	st.HintsUsed, st.HintsLeft = r.hintsUsed, len(r.s.Spec.Hints)-r.hintsUsed
	r.hintsMu.Unlock()
	return st
}

// Hint returns the next hint's cost, or reveals it to by and charges it.
func (r *run) Hint(reveal bool, by string) (session.HintInfo, error) {
	if !reveal {
		return r.hint("", false)
	}
	return r.hint(by, false)
}

// GiveHint is the facilitator revealing the next hint to the team, at
// its cost or free.
func (r *run) GiveHint(free bool) (session.HintInfo, error) {
	return r.hint(session.RoleFacilitator, free)
}

// hint returns the next hint; with an actor it is revealed, and charged
// unless free.
func (r *run) hint(actor string, free bool) (session.HintInfo, error) {
	r.hintsMu.Lock()
	defer r.hintsMu.Unlock()
	n := r.hintsUsed
	if n >= len(r.s.Spec.Hints) {
		return session.HintInfo{}, fmt.Errorf("%w (all %d used)", session.ErrNoHints, len(r.s.Spec.Hints))
	}
	h := r.s.Spec.Hints[n]
	info := session.HintInfo{N: n + 1, Of: len(r.s.Spec.Hints), Cost: h.Cost}
	if actor != "" {
		if free {
			info.Cost = 0
		}
		r.hintsUsed++
		info.Text = strings.TrimSpace(h.Text)
		r.rec.Add(verify.Event{Type: verify.EventHint, Hint: n + 1, Cost: info.Cost, Actor: actor})
	}
	return info, nil
}

// Journal is a snapshot of the run's journal.
func (r *run) Journal() verify.Journal { return r.rec.Snapshot() }

// Watch returns a channel that receives after each journal change.
func (r *run) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	r.watchMu.Lock()
	r.watchers[ch] = true
	r.watchMu.Unlock()
	return ch, func() {
		r.watchMu.Lock()
		delete(r.watchers, ch)
		r.watchMu.Unlock()
	}
}

// changed wakes every watcher; a watcher that has not yet read its last
// wake-up keeps that one.
func (r *run) changed(verify.Event) {
	r.watchMu.Lock()
	defer r.watchMu.Unlock()
	for ch := range r.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Observe records a facilitator's note on the timeline.
func (r *run) Observe(text string) {
	r.rec.Add(verify.Event{Type: verify.EventObservation, Actor: session.RoleFacilitator, Message: text})
}

// Claim records a claim and lets finding conditions see it.
func (r *run) Claim(f verify.Finding, by, msg string) {
	actor := by
	if f.Source == scenarios.SourceDetector || actor == "" {
		actor = f.Source
	}
	r.rec.Add(verify.Event{Type: verify.EventFinding, Finding: &f, Actor: actor, Message: msg})
	if r.ev != nil {
		r.ev.AddFinding(f)
	}
}

// GiveUp ends the run; by says who ended it (the operator, a responder,
// the facilitator).
func (r *run) GiveUp(by string) {
	r.giveOnce.Do(func() {
		r.rec.Add(verify.Event{Type: verify.EventGiveUp, Actor: by})
		close(r.giveUp)
	})
}
