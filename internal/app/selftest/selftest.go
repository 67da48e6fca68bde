// Package selftest is gameday test: it proves scenarios (their reference
// solution, an idle game and each declared wrong fix, played as games),
// or measures a detector over them (the detection suite), one game per
// process when played in parallel. The command line around it turns
// flags into Options and says, through a Host, how to play here.
package selftest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/procgroup"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
)

// Checks of `gameday test`: a game each.
const (
	checkSolution   = "solution"    // the reference solution scores full marks
	checkIdle       = "idle"        // doing nothing does not recover (a control: scores full marks)
	checkFalseAlarm = "false-alarm" // a control: claiming a failure cause costs points
	checkDetect     = "detect"      // suite mode: headless against the detector
	// checkMemorised plays a variant with another variant's reference
	// solution, word for word: it must not score full marks.
	checkMemorised = "memorised"
	// checkWrongFix is a scenario's declared wrong fix, as
	// "wrong-fix:ID": what it expects must follow.
	checkWrongFix = "wrong-fix"
)

// Options are how gameday test plays.
type Options struct {
	// Idle is how long the game where nobody acts lasts.
	Idle time.Duration
	// Grace is how long an autopilot game waits for the objectives after
	// the solution's last command.
	Grace time.Duration
	// Parallel is how many games play at once, each in a child process.
	Parallel int
	// Only plays one check of one scenario, in this process: how a
	// child plays its game.
	Only string
	// Detector, when set, makes the run a detection suite: every
	// scenario headless against this command.
	Detector string
	// Timeout is each scenario's time limit in a detection suite.
	Timeout time.Duration
	// Budget fails a scenario detected later than this (OverBudget).
	Budget time.Duration
	// MaxFalsePositives fails a scenario with more wrong claims; nil is
	// no limit.
	MaxFalsePositives *int
	// JUnit is where the suite's JUnit file goes; empty writes none.
	JUnit string
	// Output is the suite's format: table or json.
	Output string
	// Variants plays the variants of seeds 1 to Variants of every
	// scenario with parameters, each as its own games; 0 plays the
	// variant of Seed, else the canonical one (seed 0).
	Variants int
	// Seed, when set and Variants is 0, is the seed of the variant played
	// of every scenario with parameters (how a child plays its variant).
	Seed *uint64
}

// Host is what gameday test needs from the command around it.
type Host struct {
	// Out receives the result lines or the suite's table; ErrOut the
	// games' narration.
	Out, ErrOut io.Writer
	// Config is the runner configuration to play s with here (Provision,
	// Root, Log, Progress), or why s cannot be played here (its backend).
	Config func(ctx context.Context, s *scenarios.Scenario) (runner.Config, error)
	// Child is the command that plays one game in a child process, for
	// Parallel > 1: gameday test with Only set to the check, and Seed to
	// the variant's seed when seed is not nil.
	Child func(ref, check string, seed *uint64) *exec.Cmd
}

// Game is one check of one scenario (of one variant, for a scenario with
// parameters). Ref is how the scenario was named (a built-in's name or a
// path), so that a child process can load it.
type Game struct {
	Ref   string
	S     *scenarios.Scenario
	Check string
}

// seed is the seed of the game's variant; nil for a scenario without
// parameters.
func (x Game) seed() *uint64 { return seedOf(x.S) }

// seedOf is the seed of s's variant; nil when s has no parameters.
func seedOf(s *scenarios.Scenario) *uint64 {
	if len(s.Spec.Parameters) == 0 {
		return nil
	}
	seed := s.Variant.Seed
	return &seed
}

// label names a scenario's variant in results: its name, and its seed
// when it has parameters ("ecr-imagepullbackoff seed=3").
func label(s *scenarios.Scenario) string {
	if seed := seedOf(s); seed != nil {
		return fmt.Sprintf("%s seed=%d", s.Metadata.Name, *seed)
	}
	return s.Metadata.Name
}

// Run plays the games of the scenarios refs names (built-in names or
// paths; the library when none): their proofs, or with o.Detector the
// detection suite. It prints a line per proof, or the suite's table, on
// h.Out, and returns an error whose kind says how it ended: Failed when
// a check failed, OverBudget, Aborted, or Invalid for bad input.
func Run(ctx context.Context, h Host, refs []string, o Options) error {
	switch {
	case o.Parallel < 1:
		return errkind.Errorf(errkind.Invalid, "--parallel %d: want at least 1", o.Parallel)
	case o.Variants < 0:
		return errkind.Errorf(errkind.Invalid, "--variants %d: want at least 1", o.Variants)
	case o.Variants > 0 && o.Seed != nil:
		return errkind.Errorf(errkind.Invalid, "--variants plays seeds 1 to N; --seed plays one: give one of them")
	}
	games, err := selectGames(refs, o)
	if err != nil {
		return err
	}
	if o.Detector != "" {
		return detectionSuite(ctx, h, games, o)
	}
	failed := proveAll(ctx, h, games, o)
	if ctx.Err() != nil {
		return errkind.E(errkind.Aborted, ctx.Err())
	}
	if failed > 0 {
		return errkind.Errorf(errkind.Failed, "%d check(s) failed", failed)
	}
	if o.Only == "" {
		fmt.Fprintf(h.Out, "all %d scenario(s) pass (%d games%s)\n", scenarioCount(games), len(games), variantsNote(games, o))
	}
	return nil
}

// parallel runs n jobs, at most width at once, and returns when all are
// done. Each job gets its index.
func parallel(n, width int, job func(i int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			job(i)
		}()
	}
	wg.Wait()
}

// scenarioCount counts the distinct scenarios among games (variants of
// one count once).
func scenarioCount(games []Game) int {
	seen := map[string]bool{}
	for _, x := range games {
		seen[x.S.Metadata.Name] = true
	}
	return len(seen)
}

// variantsNote says which variants the games played, for the summary
// line: "" when no scenario has parameters.
func variantsNote(games []Game, o Options) string {
	if !slices.ContainsFunc(games, func(x Game) bool { return x.seed() != nil }) {
		return ""
	}
	switch {
	case o.Variants > 0:
		return fmt.Sprintf("; seeds 1 to %d of each scenario with parameters", o.Variants)
	case o.Seed != nil:
		return fmt.Sprintf("; seed %d of each scenario with parameters", *o.Seed)
	}
	return "; the canonical variant (seed 0) of each scenario with parameters"
}

// subGame plays one game in a child gameday process (Host.Child) and
// returns what it printed. The child's stderr is prefixed with the
// game's name; Ctrl-C reaches it as SIGTERM, and it dies with this one.
func subGame(ctx context.Context, h Host, x Game) (string, error) {
	cmd := h.Child(x.Ref, x.Check, x.seed())
	var out bytes.Buffer
	cmd.Stdout = &out
	errOut := &prefixed{w: h.ErrOut, prefix: "[" + label(x.S) + " " + x.Check + "] "}
	cmd.Stderr = errOut
	proc, err := procgroup.Start(cmd)
	if err != nil {
		return "", err
	}
	select {
	case <-proc.Done():
	case <-ctx.Done():
		proc.Stop(2 * time.Minute) // the child tears down on SIGTERM
	}
	errOut.flush()
	return out.String(), proc.Err()
}

// prefixed writes each line to w with a prefix, for many children's
// narration on one stderr.
type prefixed struct {
	mu      sync.Mutex
	w       io.Writer
	prefix  string
	partial []byte
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial[:i]); err != nil {
			return len(b), err
		}
		p.partial = p.partial[i+1:]
	}
}

// flush writes what is left of an unfinished last line.
func (p *prefixed) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) > 0 {
		fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.partial)
		p.partial = nil
	}
}
