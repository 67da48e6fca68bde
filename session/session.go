// Package session is a live run's session API: the control server that
// the operator's commands (status, hint, causes, diagnose, give-up) and
// detection tools (the findings inbox and the Alertmanager webhook) talk
// to, over loopback with a bearer token, and its client. The game it
// serves is the runner's; this package only speaks HTTP.
package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// ControlFile holds the control API's address and token in a run
// directory (mode 0600).
const ControlFile = "control.json"

// Info is the content of ControlFile: where the control API listens and
// its bearer token.
type Info struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	// Board is the live board's read-only link, for responders and
	// spectators; Facilitator unlocks spoilers and the facilitator's
	// actions. Both are empty when the game has no board.
	Board       string `json:"board,omitempty"`
	Facilitator string `json:"facilitator,omitempty"`
	// Responders are the named responders' own tokens, by name: what
	// they do through the API is theirs on the timeline.
	Responders map[string]string `json:"responders,omitempty"`
}

// Operator is who acts with the control API's main token.
const Operator = "operator"

// actorKey is the request context key of who is calling.
type actorKey struct{}

// actorOf says who made a request: the operator, or a named responder.
func actorOf(req *http.Request) string {
	if a, ok := req.Context().Value(actorKey{}).(string); ok {
		return a
	}
	return Operator
}

// Game is the live run the session API serves.
type Game interface {
	// Scenario is the scenario being played.
	Scenario() *scenarios.Scenario
	// Status is what the operator may see of the run.
	Status() Status
	// Hint returns the next hint's cost, or reveals it to by (and
	// charges it) when reveal is true; ErrNoHints when none is left.
	Hint(reveal bool, by string) (HintInfo, error)
	// Claim records a claim (a diagnosis, a detector's finding, an alert)
	// made by by, with a message for the timeline.
	Claim(f verify.Finding, by, msg string)
	// GiveUp ends the run; by says who ended it.
	GiveUp(by string)
}

// ErrNoHints is Game.Hint's error when every hint was used.
var ErrNoHints = errors.New("no hints left")

// Status is what `gameday status` shows.
type Status struct {
	Scenario   string            `json:"scenario"`
	Elapsed    verify.Seconds    `json:"elapsed"`
	TimeLimit  verify.Seconds    `json:"timeLimit"`
	Objectives []ObjectiveStatus `json:"objectives"`
	HintsUsed  int               `json:"hintsUsed"`
	HintsLeft  int               `json:"hintsLeft"`
}

// ObjectiveStatus is one objective as the operator may see it. Hidden
// objectives appear only once achieved.
type ObjectiveStatus struct {
	ID       string          `json:"id"`
	Title    string          `json:"title"`
	Achieved bool            `json:"achieved"`
	At       *verify.Seconds `json:"at,omitempty"`
}

// HintInfo is a hint, or the next hint's cost before it is revealed.
type HintInfo struct {
	N    int    `json:"n"`
	Of   int    `json:"of"`
	Cost int    `json:"cost"`
	Text string `json:"text,omitempty"`
}

// maxRequest bounds control API request bodies.
const maxRequest = 64 << 10

// server serves one game.
type server struct {
	game Game
}

// Serve starts the control API for game on a free loopback port, with a
// new token, and writes ControlFile into dir. The returned stop function
// is never nil; it shuts the server down and removes the file.
//
// When game is a BoardGame, the same server also serves its live board
// under /board, with tokens of its own (Info.Board, Info.Facilitator):
// the control API's token opens no board, and no board token opens the
// control API.
//
// Each named responder gets a token of their own (Info.Responders).
func Serve(game Game, dir rundir.Dir, responders ...string) (*Info, func(), error) {
	info := &Info{Token: newToken()}
	tokens := map[string]string{info.Token: Operator}
	for _, name := range responders {
		if info.Responders == nil {
			info.Responders = map[string]string{}
		}
		info.Responders[name] = newToken()
		tokens[info.Responders[name]] = name
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, func() {}, fmt.Errorf("control API: %w", err)
	}
	info.URL = "http://" + ln.Addr().String()
	sv := &server{game: game}
	api := http.NewServeMux()
	api.HandleFunc("GET /v1/status", sv.handleStatus)
	api.HandleFunc("GET /v1/hint", sv.handleHint(false))
	api.HandleFunc("POST /v1/hint", sv.handleHint(true))
	api.HandleFunc("GET /v1/causes", sv.handleCauses)
	api.HandleFunc("POST /v1/findings", sv.handleFinding)
	api.HandleFunc("POST /v1/alertmanager", sv.handleAlertmanager)
	api.HandleFunc("POST /v1/give-up", sv.handleGiveUp)
	mux := http.NewServeMux()
	mux.Handle("/v1/", authorize(tokens, api))
	bd := &board{closing: make(chan struct{})}
	if bg, ok := game.(BoardGame); ok {
		viewer, facilitator := newToken(), newToken()
		bd.game, bd.tokens = bg, map[string]string{viewer: RoleViewer, facilitator: RoleFacilitator}
		bd.routes(mux)
		info.Board = info.URL + "/board?token=" + viewer
		info.Facilitator = info.URL + "/board?token=" + facilitator
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		bd.close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = os.Remove(dir.File(ControlFile))
	}
	b, _ := json.Marshal(info)
	if err := os.WriteFile(dir.File(ControlFile), b, 0o600); err != nil {
		stop()
		return nil, func() {}, fmt.Errorf("control API: %w", err)
	}
	return info, stop, nil
}

// newToken returns a random bearer token.
func newToken() string {
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	return hex.EncodeToString(tok)
}

// ownerOf returns whom a token belongs to in tokens (token → owner),
// comparing in constant time; "" for an empty or unknown token.
func ownerOf(tokens map[string]string, got string) string {
	owner := ""
	for tok, who := range tokens {
		if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1 {
			owner = who
		}
	}
	return owner
}

// authorize lets a request through when its bearer token is one of
// tokens, and puts who it belongs to in the request's context.
func authorize(tokens map[string]string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		actor := ownerOf(tokens, got)
		if actor == "" {
			writeJSONError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), actorKey{}, actor)))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (sv *server) handleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, sv.game.Status())
}

// handleHint shows the next hint's cost (GET) or reveals it (POST).
func (sv *server) handleHint(reveal bool) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		info, err := sv.game.Hint(reveal, actorOf(req))
		writeHint(w, info, err)
	}
}

// writeHint answers a hint request: the hint, 404 when none is left.
func writeHint(w http.ResponseWriter, info HintInfo, err error) {
	switch {
	case errors.Is(err, ErrNoHints):
		writeJSONError(w, http.StatusNotFound, err.Error())
	case err != nil:
		writeJSONError(w, http.StatusInternalServerError, err.Error())
	default:
		writeJSON(w, http.StatusOK, info)
	}
}

func (sv *server) handleCauses(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, sv.game.Scenario().JournalSpec().Causes)
}

// FindingRequest is the body of POST /v1/findings.
type FindingRequest struct {
	Cause    string `json:"cause"`
	Resource string `json:"resource,omitempty"`
	Note     string `json:"note,omitempty"`
	Severity string `json:"severity,omitempty"`
	Tool     string `json:"tool,omitempty"`
	// Source is operator (default) or detector.
	Source string `json:"source,omitempty"`
}

func (sv *server) handleFinding(w http.ResponseWriter, req *http.Request) {
	fr, err := DecodeFinding(http.MaxBytesReader(w, req.Body, maxRequest))
	if err != nil {
		writeDecodeError(w, err)
		return
	}
	known := false
	for _, c := range sv.game.Scenario().Spec.Causes {
		known = known || c.ID == fr.Cause
	}
	if !known {
		writeJSONError(w, http.StatusBadRequest, fmt.Sprintf("unknown cause %q; see `gameday causes`", fr.Cause))
		return
	}
	f := verify.Finding{Cause: fr.Cause, Resource: fr.Resource, Source: fr.Source, Tool: fr.Tool, Severity: fr.Severity, Note: fr.Note}
	sv.game.Claim(f, actorOf(req), fmt.Sprintf("claims %s on %s", f.Cause, f.Resource))
	// Right or wrong is only told in the debrief.
	writeJSON(w, http.StatusAccepted, map[string]string{"result": "recorded"})
}

func (sv *server) handleGiveUp(w http.ResponseWriter, req *http.Request) {
	sv.game.GiveUp(actorOf(req))
	writeJSON(w, http.StatusAccepted, map[string]string{"result": "giving up; the debrief follows in the run's terminal"})
}

// Client talks to a live run's control API.
type Client struct {
	info Info
	http *http.Client
}

// Dial reads a run directory's control file.
func Dial(d rundir.Dir) (*Client, error) {
	b, err := os.ReadFile(d.File(ControlFile))
	if err != nil {
		return nil, errkind.Errorf(errkind.Invalid, "run %s has no live control API (is it past handover?): %v", d.ID, err)
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, errkind.Errorf(errkind.Infra, "read %s: %v", ControlFile, err)
	}
	// A responder's shell (gameday env --as NAME) carries their token for
	// this run: their diagnoses and hints are theirs.
	if tok := os.Getenv("GAMEDAY_TOKEN"); tok != "" && os.Getenv("GAMEDAY_RUN") == d.ID {
		info.Token = tok
	}
	return &Client{info: info, http: &http.Client{Timeout: 10 * time.Second}}, nil
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.info.URL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.info.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return errkind.Errorf(errkind.Infra, "control API: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		kind := errkind.Infra
		if resp.StatusCode < 500 {
			kind = errkind.Invalid
		}
		return errkind.E(kind, errors.New(e.Error))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Info is the run's session: the control API and the board links.
func (c *Client) Info() Info { return c.info }

// Status returns the run's status.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	return s, c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
}

// NextHint returns the next hint's number and cost without revealing it.
func (c *Client) NextHint(ctx context.Context) (HintInfo, error) {
	var h HintInfo
	return h, c.do(ctx, http.MethodGet, "/v1/hint", nil, &h)
}

// RevealHint reveals the next hint, which costs its points.
func (c *Client) RevealHint(ctx context.Context) (HintInfo, error) {
	var h HintInfo
	return h, c.do(ctx, http.MethodPost, "/v1/hint", nil, &h)
}

// Causes returns the root-cause catalogue.
func (c *Client) Causes(ctx context.Context) ([]verify.SpecCause, error) {
	var cs []verify.SpecCause
	return cs, c.do(ctx, http.MethodGet, "/v1/causes", nil, &cs)
}

// Diagnose records a root-cause claim.
func (c *Client) Diagnose(ctx context.Context, f FindingRequest) error {
	var out map[string]string
	return c.do(ctx, http.MethodPost, "/v1/findings", f, &out)
}

// GiveUp ends the run.
func (c *Client) GiveUp(ctx context.Context) error {
	var out map[string]string
	return c.do(ctx, http.MethodPost, "/v1/give-up", nil, &out)
}
