package cli

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/internal/testkit/browsertest"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/session"
	"github.com/gameday-sre/gameday/verify"
)

// boardLag is how late the board may show an achieved objective.
const boardLag = 2 * time.Second

// TestIntegrationBoardInBrowser loads the live board of a real embedded
// run with two named responders in headless Chromium, plays the
// reference solution as the two of them, step about (stock kubectl and
// aws, each with their own gameday env --as), and checks that every
// objective turns green on the page within 2 s of being achieved, that
// the timeline on the page and in the journal names both, and that the
// report has a section per responder. The screenshot is saved as a test
// artifact.
func TestIntegrationBoardInBrowser(t *testing.T) {
	requireIntegration(t)
	ctx := browsertest.New(t, 5*time.Minute)
	s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0", "--time-limit", "4m", "--responders", "alice,bob")
	startUntilHandover(t, p)
	d := onlyRun(t, home)
	c, err := session.Dial(d)
	if err != nil {
		t.Fatal(err)
	}
	info := c.Info()
	if !strings.Contains(p.stderr.String(), info.Board) || !strings.Contains(p.stderr.String(), info.Facilitator) {
		t.Errorf("the handover does not print both board links:\n%s", p.stderr.String())
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(info.Board), chromedp.WaitVisible(chromedp.CSS("#objectives li"))); err != nil {
		t.Fatalf("load the board: %v", err)
	}

	// Watch the page as the audience does: when did each objective turn
	// green?
	var mu sync.Mutex
	seen := map[string]time.Time{}
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#objectives li.achieved")].map(li => li.dataset.id)`))
			now := time.Now()
			if err == nil {
				mu.Lock()
				for _, id := range ids {
					if _, ok := seen[id]; !ok {
						seen[id] = now
					}
				}
				mu.Unlock()
			}
			select {
			case <-stopWatch:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()

	team := []string{"alice", "bob"}
	for _, name := range team {
		if !strings.Contains(p.stderr.String(), `eval "$(gameday env --as `+name+`)"`) {
			t.Errorf("the handover does not tell %s how to connect:\n%s", name, p.stderr.String())
		}
	}
	if code, _, errOut := runIn(t, home, "env", "--as", "carol"); code != ExitInvalid || !strings.Contains(errOut, `no responder "carol"; it has alice, bob`) {
		t.Errorf("env --as carol: exit %d, %s", code, errOut)
	}
	playSolution(t, s, d, home, func(i int) string {
		code, out, errOut := runIn(t, home, "env", "--as", team[i%2])
		if code != ExitOK {
			t.Fatalf("env --as %s: exit %d: %s", team[i%2], code, errOut)
		}
		return out
	})
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("the run did not end after the solution:\n%s", p.stderr.String())
	}
	time.Sleep(300 * time.Millisecond) // the page's last poll
	close(stopWatch)
	<-watched
	shot := browsertest.Screenshot(t, ctx, "board")

	j, r := readJournal(t, d)
	if r.Total != 100 {
		t.Errorf("score %d: %v", r.Total, r.Explanation)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range j.Events {
		if e.Type != verify.EventObjective {
			continue
		}
		at, ok := seen[e.Objective]
		switch {
		case !ok:
			t.Errorf("objective %s was achieved at %s but never turned green on the board (screenshot %s)", e.Objective, e.Time.Format(time.TimeOnly), shot)
		case at.Sub(e.Time) > boardLag:
			t.Errorf("objective %s turned green %s after it was achieved, over %s", e.Objective, at.Sub(e.Time), boardLag)
		default:
			t.Logf("objective %s green on the board %s after it was achieved", e.Objective, at.Sub(e.Time).Round(time.Millisecond))
		}
	}
	who, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...new Set([...document.querySelectorAll("#timeline .who")].map(e => e.textContent))].sort()`))
	if err != nil || !slices.Equal(who, team) {
		t.Errorf("the board's timeline names %v (%v), want %v", who, err, team)
	}
	acted := map[string]map[string]bool{} // event type → actors
	for _, e := range j.Events {
		if e.Type == verify.EventKubectl || e.Type == verify.EventAWS || e.Type == verify.EventFinding {
			if acted[e.Type] == nil {
				acted[e.Type] = map[string]bool{}
			}
			acted[e.Type][e.Actor] = true
		}
	}
	for typ, actors := range acted {
		for a := range actors {
			if !slices.Contains(team, a) {
				t.Errorf("a %s event by %q: every action was a named responder's", typ, a)
			}
		}
	}
	if len(acted[verify.EventKubectl]) != 2 || len(acted[verify.EventAWS]) != 2 {
		t.Errorf("kubectl by %v, aws by %v: want both responders in each", acted[verify.EventKubectl], acted[verify.EventAWS])
	}
	md, _ := os.ReadFile(d.File("report.md"))
	if !strings.Contains(string(md), "## Responders") || !strings.Contains(string(md), "| alice |") || !strings.Contains(string(md), "| bob |") {
		t.Errorf("report.md has no section per responder:\n%s", md)
	}
}

// runIn runs a gameday command against the runs under home.
func runIn(t *testing.T, home string, args ...string) (int, string, string) {
	t.Helper()
	q := newGameday(t, home, args...)
	q.cmd.Stdin = strings.NewReader("")
	code := q.exitCode(t)
	return code, q.stdout.String(), q.stderr.String()
}

// TestIntegrationFacilitatorView opens the facilitator's link of a live
// run: the spoilers are there, collapsed, and an observation added on
// the page reaches the timeline; the responders' link shows neither.
func TestIntegrationFacilitatorView(t *testing.T) {
	requireIntegration(t)
	ctx := browsertest.New(t, 4*time.Minute)
	home := t.TempDir()
	p := newGameday(t, home, "run", "healthy-control", "--seed", "0", "--time-limit", "2m")
	startUntilHandover(t, p)
	d := onlyRun(t, home)
	c, err := session.Dial(d)
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Hidden   bool   `json:"hidden"`
		Open     bool   `json:"open"`
		Debrief  string `json:"debrief"`
		Timeline string `json:"timeline"`
		Solution string `json:"solution"`
	}
	look := `({hidden: document.getElementById("facilitator").hidden, open: document.getElementById("spoilers").open,
		debrief: document.getElementById("debrief").textContent, timeline: document.getElementById("timeline").textContent,
		solution: document.getElementById("solution").textContent})`
	if err := chromedp.Do(ctx, chromedp.Navigate(c.Info().Board), chromedp.WaitVisible(chromedp.CSS("#objectives li"))); err != nil {
		t.Fatal(err)
	}
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[view](look)); err != nil || !v.Hidden || v.Debrief != "" {
		t.Errorf("the responders' board shows the facilitator panel or spoilers: %+v, %v", v, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(c.Info().Facilitator), chromedp.WaitVisible(chromedp.CSS("#facilitator")),
		chromedp.SendKeys(chromedp.CSS("#note"), "team splits: one on pods, one on the report"), chromedp.Click(chromedp.CSS("#observe button"))); err != nil {
		t.Fatal(err)
	}
	var v view
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if v, err = chromedp.Run(ctx, chromedp.Evaluate[view](look)); err == nil && strings.Contains(v.Timeline, "team splits") {
			break
		}
	}
	if v.Hidden || v.Open || !strings.Contains(v.Debrief, "## What happened") || !strings.Contains(v.Timeline, "observation: team splits") ||
		!strings.Contains(v.Solution, "Check the nodes: kubectl get nodes") {
		t.Errorf("facilitator view: %+v (%v); want the panel shown, spoilers collapsed, the debrief, the observation", v, err)
	}
	browsertest.Screenshot(t, ctx, "facilitator")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#spoilers summary"))); err != nil {
		t.Errorf("open the spoilers: %v", err)
	}
	browsertest.Screenshot(t, ctx, "facilitator-spoilers")
	if err := c.GiveUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	checkNothingLeft(t, d)
	j, _ := readJournal(t, d)
	var noted bool
	for _, e := range j.Events {
		noted = noted || (e.Type == verify.EventObservation && e.Actor == session.RoleFacilitator && strings.HasPrefix(e.Message, "team splits"))
	}
	if !noted {
		t.Error("the observation is not in the journal")
	}
}

// playSolution runs a scenario's reference solution as responders
// would: in bash, each step after the export lines exportsFor(step)
// gives (what gameday env prints).
func playSolution(t *testing.T, s *scenarios.Scenario, d rundir.Dir, home string, exportsFor func(step int) string) {
	t.Helper()
	env := append(os.Environ(), "GAMEDAY_CLI_MAIN=1", "GAMEDAY_HOME="+home, "GAMEDAY="+os.Args[0], "TMPDIR="+runTmp(home))
	for k, v := range s.Variables() {
		env = append(env, k+"="+v)
	}
	for i, st := range s.Spec.Solution {
		cmd := exec.Command("bash", "-c", exportsFor(i)+"\n"+st.Run)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			// The run ends the moment every objective is achieved, and
			// tears the cluster down: a step still waiting then (a
			// rollout's status, through IAM's slower kubectl) fails
			// with a refused connection. That is the game's end, not
			// the step's failure: the run's control API goes with it.
			if runEnded(d, 10*time.Second) {
				t.Logf("solution step %d (%s) ran into the run's end: %v\n%s", i+1, st.Description, err, out)
				return
			}
			t.Fatalf("solution step %d (%s): %v\n%s", i+1, st.Description, err, out)
		}
	}
}

// runEnded says the run's control API has gone within wait.
func runEnded(d rundir.Dir, wait time.Duration) bool {
	for deadline := time.Now().Add(wait); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(d.File(session.ControlFile)); errors.Is(err, fs.ErrNotExist) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}
