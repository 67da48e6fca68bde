package session

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
)

// TestClientRoundTrip serves a game and drives it through the client the
// operator's commands use.
func TestClientRoundTrip(t *testing.T) {
	g := newFakeGame(t)
	dir, err := rundir.Create(t.TempDir(), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	info, stop, err := Serve(g, dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir.File(ControlFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("control file: %v, mode %v", err, st)
	}
	c, err := Dial(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if s, err := c.Status(ctx); err != nil || s.Scenario != "ecr-imagepullbackoff" || s.HintsLeft != 1 {
		t.Errorf("status %+v, %v", s, err)
	}
	if h, err := c.NextHint(ctx); err != nil || h.Cost != 5 || h.Text != "" {
		t.Errorf("next hint %+v, %v (must not reveal)", h, err)
	}
	if h, err := c.RevealHint(ctx); err != nil || h.Text == "" {
		t.Errorf("reveal %+v, %v", h, err)
	}
	if _, err := c.RevealHint(ctx); err == nil || errkind.Of(err) != errkind.Invalid {
		t.Errorf("a hint past the last: %v (want an Invalid error)", err)
	}
	if cs, err := c.Causes(ctx); err != nil || len(cs) != len(g.s.Spec.Causes) {
		t.Errorf("causes %v, %v", cs, err)
	}
	if err := c.Diagnose(ctx, FindingRequest{Cause: "image-tag-missing", Resource: "shop/checkout:1.9.0"}); err != nil {
		t.Errorf("diagnose: %v", err)
	}
	if err := c.Diagnose(ctx, FindingRequest{Cause: "gremlins"}); err == nil || errkind.Of(err) != errkind.Invalid {
		t.Errorf("unknown cause: %v", err)
	}
	if err := c.GiveUp(ctx); err != nil || !g.gaveUp {
		t.Errorf("give up: %v, game told %v", err, g.gaveUp)
	}
	if got := findings(g); len(got) != 1 || got[0].Source != "operator" || got[0].Cause != "image-tag-missing" {
		t.Errorf("claims %+v", got)
	}
	stop()
	if _, err := os.Stat(dir.File(ControlFile)); !os.IsNotExist(err) {
		t.Errorf("control file left after stop: %v", err)
	}
	if _, err := c.Status(ctx); err == nil {
		t.Errorf("the API at %s still answers after stop", info.URL)
	}
}

// TestRespondersActAsThemselves serves a game with named responders:
// each one's token makes what they do theirs, and a responder's shell
// (GAMEDAY_TOKEN and GAMEDAY_RUN from gameday env --as) dials as them.
func TestRespondersActAsThemselves(t *testing.T) {
	g := newFakeGame(t)
	dir, err := rundir.Create(t.TempDir(), "run-1")
	if err != nil {
		t.Fatal(err)
	}
	info, stop, err := Serve(g, dir, "alice", "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if len(info.Responders) != 2 || info.Responders["alice"] == info.Responders["bob"] || info.Responders["alice"] == info.Token {
		t.Fatalf("responder tokens %v", info.Responders)
	}
	ctx := context.Background()
	dialAs := func(token, run string) *Client {
		t.Helper()
		t.Setenv("GAMEDAY_TOKEN", token)
		t.Setenv("GAMEDAY_RUN", run)
		c, err := Dial(dir)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := dialAs(info.Responders["alice"], "run-1").Diagnose(ctx, FindingRequest{Cause: "image-tag-missing"}); err != nil {
		t.Fatal(err)
	}
	if _, err := dialAs(info.Responders["bob"], "run-1").RevealHint(ctx); err != nil {
		t.Fatal(err)
	}
	// A token from another run's shell is not used: the operator's is.
	if err := dialAs(info.Responders["bob"], "run-0").GiveUp(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"claim:alice", "hint:bob", "give-up:operator"}
	if got := actors(g); !slices.Equal(got, want) {
		t.Errorf("who acted: %v, want %v", got, want)
	}
	if err := dialAs("not-a-token", "run-1").GiveUp(ctx); errkind.Of(err) != errkind.Invalid {
		t.Errorf("a wrong token: %v, want refused", err)
	}
}
