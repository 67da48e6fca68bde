package session

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/verify"
)

// boardFake is a BoardGame over a real journal.
type boardFake struct {
	*fakeGame
	rec  *verify.Recorder
	mu   sync.Mutex
	subs map[chan struct{}]bool
}

func newBoardFake(t *testing.T) *boardFake {
	t.Helper()
	g := &boardFake{fakeGame: newFakeGame(t), subs: map[chan struct{}]bool{}}
	g.rec = verify.NewRecorder("run-1", g.s.JournalSpec(), nil)
	g.rec.OnEvent(func(verify.Event) {
		g.mu.Lock()
		defer g.mu.Unlock()
		for ch := range g.subs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	})
	g.rec.Add(verify.Event{Type: verify.EventHandover})
	return g
}

func (g *boardFake) Journal() verify.Journal { return g.rec.Snapshot() }

func (g *boardFake) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	g.mu.Lock()
	g.subs[ch] = true
	g.mu.Unlock()
	return ch, func() { g.mu.Lock(); delete(g.subs, ch); g.mu.Unlock() }
}

func (g *boardFake) Observe(text string) {
	g.rec.Add(verify.Event{Type: verify.EventObservation, Actor: RoleFacilitator, Message: text})
}

func (g *boardFake) GiveHint(free bool) (HintInfo, error) {
	h, err := g.Hint(true, RoleFacilitator)
	if err == nil {
		if free {
			h.Cost = 0
		}
		g.rec.Add(verify.Event{Type: verify.EventHint, Hint: h.N, Cost: h.Cost, Actor: RoleFacilitator})
	}
	return h, err
}

// serveBoard serves a board fake and returns its session info.
func serveBoard(t *testing.T) (*boardFake, *Info) {
	t.Helper()
	g := newBoardFake(t)
	dir, err := rundir.Create(t.TempDir(), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	info, stop, err := Serve(g, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	if info.Board == "" || info.Facilitator == "" || info.Board == info.Facilitator {
		t.Fatalf("board links %q, %q", info.Board, info.Facilitator)
	}
	return g, info
}

// tokenOf returns a board link's token.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// call makes a request with a bearer token and returns its status and body.
func call(t *testing.T, method, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(`{"text": "team split: alice on IAM, bob on pods"}`))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestBoardTokens proves who may do what: the responders' token reads
// the board without spoilers and can take no facilitator action; the
// facilitator's token can; the control API's token opens no board and
// no board token opens the control API.
func TestBoardTokens(t *testing.T) {
	g, info := serveBoard(t)
	viewer, facilitator := tokenOf(t, info.Board), tokenOf(t, info.Facilitator)
	debrief := strings.TrimSpace(g.s.Spec.Debrief)[:60]
	solution := g.s.Spec.Solution[len(g.s.Spec.Solution)-1].Run
	tests := []struct {
		name, method, path, token string
		want                      int
		// forbidden must not appear in the answer (spoilers).
		forbidden []string
		// wantBody must.
		wantBody string
	}{
		{"viewer reads the page", "GET", "/board", viewer, 200, nil, "<title>gameday board</title>"},
		{"viewer reads the state without spoilers", "GET", "/board/state", viewer, 200,
			[]string{`"spoilers"`, debrief, solution, "node-role-missing-ecr-read", `"nextHint"`}, `"role":"viewer"`},
		{"viewer cannot end the run", "POST", "/board/end", viewer, 403, nil, "only the facilitator"},
		{"viewer cannot give a hint", "POST", "/board/hint", viewer, 403, nil, "only the facilitator"},
		{"viewer cannot add observations", "POST", "/board/observations", viewer, 403, nil, "only the facilitator"},
		{"viewer cannot use the control API", "GET", "/v1/status", viewer, 401, nil, ""},
		{"control token opens no board", "GET", "/board/state", info.Token, 401, nil, ""},
		{"no token", "GET", "/board", "", 401, nil, ""},
		{"a wrong token", "GET", "/board/state", viewer + "x", 401, nil, ""},
		{"facilitator cannot use the control API", "POST", "/v1/give-up", facilitator, 401, nil, ""},
		{"facilitator reads the answer", "GET", "/board/state", facilitator, 200, nil, "node-role-missing-ecr-read"},
		{"facilitator reads the solution", "GET", "/board/state", facilitator, 200, nil, `"run":"kubectl rollout status`},
		{"facilitator adds an observation", "POST", "/board/observations", facilitator, 202, nil, "recorded"},
		{"facilitator gives a free hint", "POST", "/board/hint?free=true", facilitator, 200, nil, `"cost":0`},
		{"facilitator ends the run", "POST", "/board/end", facilitator, 202, nil, "ending"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := call(t, tt.method, info.URL+tt.path, tt.token)
			if code != tt.want || !strings.Contains(body, tt.wantBody) {
				t.Errorf("HTTP %d, want %d; body %.300q lacks %q", code, tt.want, body, tt.wantBody)
			}
			for _, f := range tt.forbidden {
				if strings.Contains(body, f) {
					t.Errorf("the answer gives away %q", f)
				}
			}
		})
	}
	if by := actors(g.fakeGame); !slices.Contains(by, "give-up:"+RoleFacilitator) {
		t.Errorf("the game was told %v, want the facilitator's give-up", by)
	}
	j := g.rec.Snapshot()
	var notes, hints int
	for _, e := range j.Events {
		switch {
		case e.Type == verify.EventObservation && e.Actor == RoleFacilitator:
			notes++
		case e.Type == verify.EventHint && e.Cost == 0 && e.Actor == RoleFacilitator:
			hints++
		}
	}
	if notes != 1 || hints != 1 {
		t.Errorf("journal has %d facilitator observations and %d free hints, want 1 and 1", notes, hints)
	}
}

// TestBoardStreamsChanges reads the event stream as the page does and
// checks that an objective achieved in the journal reaches it within a
// second, and that a wrong claim's cost is not shown before the end.
func TestBoardStreamsChanges(t *testing.T) {
	g, info := serveBoard(t)
	req, _ := http.NewRequest("GET", info.URL+"/board/events?token="+tokenOf(t, info.Board), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	states := make(chan BoardState, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var st BoardState
				if json.Unmarshal([]byte(data), &st) == nil {
					states <- st
				}
			}
		}
		close(states)
	}()
	next := func(what string) BoardState {
		t.Helper()
		select {
		case st, ok := <-states:
			if !ok {
				t.Fatalf("stream ended waiting for %s", what)
			}
			return st
		case <-time.After(time.Second):
			t.Fatalf("no state within 1s: %s", what)
		}
		return BoardState{}
	}
	first := next("the first state")
	if first.Role != RoleViewer || first.Score != 0 || len(first.Objectives) == 0 || first.Objectives[0].Achieved {
		t.Fatalf("first state %+v", first)
	}
	// A right claim (detect, 15 points), then a wrong one, which would
	// cost 3 of them: the board shows 15 until the debrief judges it.
	claim := func(cause string) {
		g.rec.Add(verify.Event{Type: verify.EventFinding, Finding: &verify.Finding{Cause: cause, Source: "operator"}, Actor: "operator"})
	}
	claim("image-pull-failure")
	claim("image-tag-missing")
	g.rec.Add(verify.Event{Type: verify.EventObjective, Objective: "fix"})
	if r := verify.Score(g.rec.Snapshot()); r.Total != 15+25-3 {
		t.Fatalf("the journal scores %d, want 37: %v", r.Total, r.Explanation)
	}
	st := next("the fix")
	for st.Score < 40 {
		st = next("the fix's points")
	}
	achieved := map[string]bool{}
	for _, o := range st.Objectives {
		achieved[o.ID] = o.Achieved
	}
	if !achieved["fix"] || !achieved["detect"] || st.Score != 40 {
		t.Errorf("objectives %+v, score %d: want detect and fix achieved, 40 (the wrong claim not judged yet)", st.Objectives, st.Score)
	}
	if len(st.Timeline) == 0 || !strings.Contains(st.Timeline[len(st.Timeline)-1].Text, "objective fix") {
		t.Errorf("timeline %+v", st.Timeline)
	}
}
