package session

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gameday-sre/gameday/internal/domain/report"
	"github.com/gameday-sre/gameday/verify"
)

// BoardGame is what the live board needs of a game besides Game: its
// journal, a wake-up on every change, and the facilitator's actions.
type BoardGame interface {
	Game
	// Journal is a snapshot of the run's journal.
	Journal() verify.Journal
	// Watch returns a channel that receives after every journal change,
	// and a function that stops it.
	Watch() (<-chan struct{}, func())
	// Observe adds a facilitator's note to the timeline.
	Observe(text string)
	// GiveHint reveals the next hint to the team: at its cost, or free.
	GiveHint(free bool) (HintInfo, error)
}

// Roles on the board.
const (
	// RoleViewer is a responder or a spectator: the board, read-only,
	// without spoilers.
	RoleViewer = "viewer"
	// RoleFacilitator adds the spoilers and the facilitator's actions.
	RoleFacilitator = "facilitator"
)

//go:embed assets/board.html
var boardPage []byte

// board serves the live board of one game.
type board struct {
	game BoardGame
	// tokens are the board's tokens and the role each grants.
	tokens map[string]string
	// closing is closed when the server stops, so that event streams
	// send their last state and return.
	closing   chan struct{}
	closeOnce sync.Once
}

func (b *board) close() { b.closeOnce.Do(func() { close(b.closing) }) }

// routes mounts the board's handlers on mux.
func (b *board) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /board", b.auth(RoleViewer, b.handlePage))
	mux.HandleFunc("GET /board/state", b.auth(RoleViewer, b.handleState))
	mux.HandleFunc("GET /board/events", b.auth(RoleViewer, b.handleEvents))
	mux.HandleFunc("POST /board/observations", b.auth(RoleFacilitator, b.handleObserve))
	mux.HandleFunc("POST /board/hint", b.auth(RoleFacilitator, b.handleHint))
	mux.HandleFunc("POST /board/end", b.auth(RoleFacilitator, b.handleEnd))
}

// role returns the role a request's token grants: from the token query
// parameter (links and EventSource cannot send headers) or a bearer
// token; "" for none.
func (b *board) role(req *http.Request) string {
	tok := req.URL.Query().Get("token")
	if h, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); ok {
		tok = h
	}
	return ownerOf(b.tokens, tok)
}

// auth lets a request through when its token grants at least need.
func (b *board) auth(need string, next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		role := b.role(req)
		switch {
		case role == "":
			writeJSONError(w, http.StatusUnauthorized, "missing or wrong board token")
		case need == RoleFacilitator && role != RoleFacilitator:
			writeJSONError(w, http.StatusForbidden, "only the facilitator may do this")
		default:
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			next(w, req, role)
		}
	}
}

func (b *board) handlePage(w http.ResponseWriter, _ *http.Request, _ string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:")
	_, _ = w.Write(boardPage)
}

func (b *board) handleState(w http.ResponseWriter, _ *http.Request, role string) {
	writeJSON(w, http.StatusOK, b.state(role, true))
}

// handleEvents streams the board's state as server-sent events: one
// "state" event at once, then one after each change (changes within
// coalesce are sent together), and a last one when the run stops.
func (b *board) handleEvents(w http.ResponseWriter, req *http.Request, role string) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeJSONError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	changed, stop := b.game.Watch()
	defer stop()
	send := func(live bool) bool {
		data, err := json.Marshal(b.state(role, live))
		if err == nil {
			_, err = fmt.Fprintf(w, "event: state\ndata: %s\n\n", data)
		}
		fl.Flush()
		return err == nil
	}
	if !send(true) {
		return
	}
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-req.Context().Done():
			return
		case <-b.closing:
			send(false)
			return
		case <-changed:
			time.Sleep(coalesce)
			if !send(true) {
				return
			}
		case <-keepAlive.C:
			_, _ = fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

// coalesce is how long the board waits after a change before it sends,
// so that a burst of events (a kubectl apply of many objects) is one
// update. It is well within the board's 1 s promise.
const coalesce = 100 * time.Millisecond

func (b *board) handleObserve(w http.ResponseWriter, req *http.Request, _ string) {
	var in struct {
		Text string `json:"text"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, req.Body, maxRequest))
	if err := dec.Decode(&in); err != nil {
		writeJSONError(w, http.StatusBadRequest, "want {\"text\": \"...\"}: "+err.Error())
		return
	}
	text := strings.TrimSpace(in.Text)
	if text == "" {
		writeJSONError(w, http.StatusBadRequest, "an observation needs text")
		return
	}
	b.game.Observe(text)
	writeJSON(w, http.StatusAccepted, map[string]string{"result": "recorded"})
}

func (b *board) handleHint(w http.ResponseWriter, req *http.Request, _ string) {
	info, err := b.game.GiveHint(req.URL.Query().Get("free") == "true")
	writeHint(w, info, err)
}

func (b *board) handleEnd(w http.ResponseWriter, _ *http.Request, _ string) {
	b.game.GiveUp(RoleFacilitator)
	writeJSON(w, http.StatusAccepted, map[string]string{"result": "ending the run"})
}

// BoardState is what the board shows; Spoilers and NextHint only to the
// facilitator.
type BoardState struct {
	Role     string    `json:"role"`
	Scenario string    `json:"scenario"`
	Title    string    `json:"title"`
	Briefing string    `json:"briefing"`
	Now      time.Time `json:"now"`
	// Handover is when the clock started; TimeLimit is how long it runs.
	Handover  time.Time      `json:"handover,omitzero"`
	TimeLimit verify.Seconds `json:"timeLimit"`
	// Live is false once the run has stopped serving.
	Live       bool                   `json:"live"`
	Objectives []BoardObjective       `json:"objectives"`
	Hints      []BoardHint            `json:"hints"`
	Timeline   []report.TimelineEntry `json:"timeline"`
	// Score is the score so far. Wrong claims are judged at the end, so
	// what they cost is not in it (the board must not tell right from
	// wrong before the debrief).
	Score    int       `json:"score"`
	Max      int       `json:"max"`
	NextHint *HintInfo `json:"nextHint,omitempty"`
	Spoilers *Spoilers `json:"spoilers,omitempty"`
}

// BoardObjective is an objective as the board shows it: safe titles;
// hidden objectives only once achieved.
type BoardObjective struct {
	ID       string          `json:"id"`
	Title    string          `json:"title"`
	Achieved bool            `json:"achieved"`
	At       *verify.Seconds `json:"at,omitempty"`
	Points   int             `json:"points"`
	Max      int             `json:"max"`
}

// BoardHint is a hint revealed to the team.
type BoardHint struct {
	N    int            `json:"n"`
	At   verify.Seconds `json:"at"`
	Cost int            `json:"cost"`
	Text string         `json:"text"`
	By   string         `json:"by,omitempty"`
}

// Spoilers are for the facilitator's eyes only.
type Spoilers struct {
	// Answers are the right claims: a cause, on the resource pattern the
	// answer needs, and the objective it achieves.
	Answers  []string           `json:"answers"`
	Causes   []verify.SpecCause `json:"causes"`
	Solution []SolutionStep     `json:"solution"`
	Debrief  string             `json:"debrief"`
	// Variant is the variant played, for a scenario with parameters:
	// "seed 42: namespace=payments, ...". Never on the responders' board.
	Variant string `json:"variant,omitempty"`
}

// SolutionStep is a step of the reference solution.
type SolutionStep struct {
	Description string `json:"description"`
	Run         string `json:"run"`
}

// state builds the board for a role from the journal.
func (b *board) state(role string, live bool) BoardState {
	s := b.game.Scenario()
	j := b.game.Journal()
	r := verify.Score(j)
	st := BoardState{Role: role, Scenario: s.Metadata.Name, Title: s.Metadata.Title, Briefing: strings.TrimSpace(s.Spec.Briefing),
		Now: time.Now(), Handover: j.Handover, TimeLimit: j.Spec.TimeLimit, Live: live, Max: r.Max,
		Timeline: report.Timeline(j), Objectives: []BoardObjective{}, Hints: []BoardHint{}}
	if st.Timeline == nil {
		st.Timeline = []report.TimelineEntry{}
	}
	st.Score = r.Total
	for _, c := range r.Claims {
		st.Score += c.Cost
	}
	hidden := map[string]bool{}
	for _, o := range s.Spec.Objectives {
		hidden[o.ID] = o.Hidden
	}
	for _, o := range r.Objectives {
		if hidden[o.ID] && !o.Achieved {
			continue
		}
		st.Objectives = append(st.Objectives, BoardObjective{ID: o.ID, Title: o.Title, Achieved: o.Achieved, At: o.At, Points: o.Points, Max: o.Max})
	}
	n := 0
	for _, e := range j.Events {
		if e.Type != verify.EventHint || j.Handover.IsZero() {
			continue
		}
		n++
		text := ""
		if e.Hint >= 1 && e.Hint <= len(s.Spec.Hints) {
			text = strings.TrimSpace(s.Spec.Hints[e.Hint-1].Text)
		}
		st.Hints = append(st.Hints, BoardHint{N: e.Hint, At: verify.Seconds(e.Time.Sub(j.Handover).Seconds()), Cost: e.Cost, Text: text, By: e.Actor})
	}
	if role != RoleFacilitator {
		return st
	}
	if next, err := b.game.Hint(false, ""); err == nil {
		st.NextHint = &next
	}
	sp := &Spoilers{Causes: j.Spec.Causes, Debrief: strings.TrimSpace(s.Spec.Debrief)}
	if j.Spec.Seed != nil {
		sp.Variant = fmt.Sprintf("seed %d: %s", *j.Spec.Seed, j.Spec.Variant)
	}
	for _, st := range s.Spec.Solution {
		sp.Solution = append(sp.Solution, SolutionStep{Description: st.Description, Run: st.Run})
	}
	for _, a := range j.Spec.Claims {
		line := a.Cause
		if a.Resource != "" {
			line += " on " + a.Resource
		}
		sp.Answers = append(sp.Answers, line+" ("+a.Objective+")")
	}
	st.Spoilers = sp
	return st
}
