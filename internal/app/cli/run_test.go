package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/internal/testkit/leakcheck"
	"github.com/gameday-sre/gameday/verify"
)

// gamedayProc runs this test binary as the gameday command.
type gamedayProc struct {
	home           string
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newGameday(t *testing.T, home string, args ...string) *gamedayProc {
	t.Helper()
	p := &gamedayProc{home: home}
	if err := os.MkdirAll(runTmp(home), 0o755); err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(os.Environ(), "GAMEDAY_CLI_MAIN=1", "GAMEDAY_HOME="+home, "TMPDIR="+runTmp(home))
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	return p
}

// exitCode runs the process to completion and returns its exit code.
func (p *gamedayProc) exitCode(t *testing.T) int {
	t.Helper()
	err := p.cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// requireIntegration skips end-to-end tests with -short, checks the
// tools they drive, and lets them run in parallel: each plays its game in
// its own process with its own GAMEDAY_HOME, and the leak checks look
// only at what that run made. go test's -parallel flag bounds how many
// games run at once.
func requireIntegration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: plays a scenario (skipped with -short)")
	}
	for _, tool := range []string{"kubectl", "aws", "moto_server"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH; see the README's requirements", tool)
		}
	}
	t.Parallel()
}

// onlyRun returns the single run directory under home.
func onlyRun(t *testing.T, home string) rundir.Dir {
	t.Helper()
	runs, err := rundir.List(home)
	if err != nil || len(runs) != 1 {
		t.Fatalf("want one run under %s, got %v (%v)", home, runs, err)
	}
	return runs[0]
}

// checkNothingLeft verifies that a finished run left no process, temp
// dir or pid file behind.
func checkNothingLeft(t *testing.T, d rundir.Dir) {
	t.Helper()
	if d.Pid() != 0 {
		t.Error("run still marked live")
	}
	if left := runTempDirs(homeOf(d), d.ID); len(left) > 0 {
		t.Errorf("temp dirs left: %v", left)
	}
	if left := kubemarkDirs(homeOf(d)); len(left) > 0 {
		t.Errorf("kubemark temp dirs left: %v", left)
	}
	if left := runProcesses(homeOf(d)); len(left) > 0 {
		t.Errorf("processes of run %s outlived it: %v", d.ID, left)
	}
}

// runTmp is the TMPDIR of the gameday processes a test starts with home:
// the test's own, so that its leak checks see what its runs made and not
// what the packages tested beside it are making at the moment. (It is
// too long for the kubelets' sockets, so gameday puts its own temporary
// directory in /tmp and says so.)
func runTmp(home string) string { return filepath.Join(home, "tmp") }

// kubemarkDirs are the temporary directories kubemark's hollow kubelet
// config left in the TMPDIR of home's runs.
func kubemarkDirs(home string) []string {
	m, _ := filepath.Glob(filepath.Join(runTmp(home), "hollow-kubelet.*"))
	return m
}

// runTempDirs are run id's temporary directories: in its TMPDIR, or in
// /tmp when that is too long for the kubelets' sockets.
func runTempDirs(home, id string) []string {
	m, _ := filepath.Glob(filepath.Join(runTmp(home), "gameday-"+id+"-*"))
	return append(m, leakcheck.TempDirs("gameday-"+id+"-*")...)
}

// homeOf is the GAMEDAY_HOME a run directory is in.
func homeOf(d rundir.Dir) string { return filepath.Dir(filepath.Dir(d.Path)) }

// runProcesses lists the live processes that runs under home started (or
// that are those runs): those whose environment names home as
// GAMEDAY_HOME, which every child of a run inherits and which each test
// gives its runs alone. A zombie is gone enough.
func runProcesses(home string) []string {
	home = "GAMEDAY_HOME=" + home
	procs, _ := filepath.Glob("/proc/[0-9]*")
	var out []string
	for _, p := range procs {
		env, err := os.ReadFile(filepath.Join(p, "environ"))
		if err != nil || !slices.Contains(strings.Split(string(env), "\x00"), home) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join(p, "stat"))
		if _, rest, ok := strings.Cut(string(stat), ") "); ok && strings.HasPrefix(rest, "Z") {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		out = append(out, filepath.Base(p)+" "+strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " ")))
	}
	return out
}

func readJournal(t *testing.T, d rundir.Dir) (verify.Journal, verify.Result) {
	t.Helper()
	j, err := verify.ReadJournal(d.File("journal.json"))
	if err != nil {
		t.Fatal(err)
	}
	return j, verify.Score(j)
}

// checkFullMarks checks that an autopilot run exited 0 with full marks,
// in its summary and in its re-scored journal, which it returns.
func checkFullMarks(t *testing.T, p *gamedayProc, d rundir.Dir, code int) verify.Journal {
	t.Helper()
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, p.stdout.String(), p.stderr.String())
	}
	if !strings.Contains(p.stdout.String(), "Score 100/100 · Grade A") {
		t.Errorf("summary:\n%s", p.stdout.String())
	}
	j, r := readJournal(t, d)
	if r.Total != 100 || j.Outcome != verify.OutcomeCompleted {
		t.Errorf("re-scored journal: %d, outcome %s; %v", r.Total, j.Outcome, r.Explanation)
	}
	return j
}

// startUntilHandover starts a gameday run and waits for its handover.
// The process is killed when the test ends, if it still runs.
func startUntilHandover(t *testing.T, p *gamedayProc) {
	t.Helper()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(p.stderr.String(), "The clock starts now") {
		// A run that ended before handover says so and stops: no use
		// waiting out the deadline.
		if time.Now().After(deadline) || strings.Contains(p.stderr.String(), "the run ended before handover") {
			t.Fatalf("no handover:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scenarioCopy copies the built-in scenario to a temp dir and applies
// text replacements to its scenario.yaml.
func scenarioCopy(t *testing.T, replace ...string) string {
	t.Helper()
	return libraryCopy(t, "ecr-imagepullbackoff", replace...)
}

// libraryCopy copies a built-in scenario with text replaced (pairs of
// old, new) and returns its directory.
func libraryCopy(t *testing.T, name string, replace ...string) string {
	t.Helper()
	src := "../../../scenarios/library/" + name
	dst := filepath.Join(t.TempDir(), "scenario")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dst, "scenario.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("scenario has no %q", replace[i])
		}
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestIntegrationRunAutopilotScores100(t *testing.T) {
	requireIntegration(t)
	home := t.TempDir()
	p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0", "--autopilot")
	code := p.exitCode(t)
	d := onlyRun(t, home)
	defer checkNothingLeft(t, d)
	j := checkFullMarks(t, p, d, code)
	var symptoms, kubectlCalls, awsCalls int
	for _, e := range j.Events {
		switch e.Type {
		case verify.EventSymptom:
			symptoms++
		case verify.EventKubectl:
			kubectlCalls++
		case verify.EventAWS:
			awsCalls++
		}
	}
	if symptoms != 4 || kubectlCalls == 0 || awsCalls == 0 {
		t.Errorf("journal has %d symptom, %d kubectl, %d aws events", symptoms, kubectlCalls, awsCalls)
	}
	md, err := os.ReadFile(d.File("report.md"))
	if err != nil || !bytes.Contains(md, []byte("aws iam AttachRolePolicy")) || !bytes.Contains(md, []byte("## Debrief")) {
		t.Errorf("report.md (%v):\n%s", err, md)
	}
	page, err := os.ReadFile(d.File("report.html"))
	if err != nil || !bytes.Contains(page, []byte(`<g class="mark kind-objective">`)) || !bytes.Contains(page, []byte("Score")) {
		t.Errorf("report.html (%v):\n%.2000s", err, page)
	}
	if code, out, _ := run(t, "report", d.File("journal.json"), "-o", "html"); code != ExitOK || !strings.HasPrefix(out, "<!DOCTYPE html>") {
		t.Errorf("gameday report -o html: exit %d, %.200s", code, out)
	}
	// `gameday report` re-scores the saved journal offline.
	code, out, _ := run(t, "report", d.File("journal.json"), "-o", "json")
	var rescored verify.Result
	if code != ExitOK || json.Unmarshal([]byte(out), &rescored) != nil || rescored.Total != 100 {
		t.Errorf("gameday report: exit %d, %s", code, out)
	}
}

func TestIntegrationRunNobodyActs(t *testing.T) {
	requireIntegration(t)
	home := t.TempDir()
	p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0", "--time-limit", "15s")
	code := p.exitCode(t)
	d := onlyRun(t, home)
	defer checkNothingLeft(t, d)
	if code != ExitFailed {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, ExitFailed, p.stderr.String())
	}
	j, r := readJournal(t, d)
	if j.Outcome != verify.OutcomeTimeLimit || r.Total != 0 || r.Grade != "F" {
		t.Errorf("outcome %s, score %d %s", j.Outcome, r.Total, r.Grade)
	}
	for _, o := range r.Objectives {
		if o.Category == "recover" && o.Achieved {
			t.Error("recovered although nobody acted")
		}
	}
}

// TestIntegrationRollingUpdateVerifiesAgain plays a fix that is right on
// paper but leaves no spare pod: storefront scaled to one replica with
// maxUnavailable 25%, which the Deployment controller rounds up to that
// one pod. gameday's verification deploy of 3.2.2 takes it away and
// fails requests, so the verification fails. Scaling back to four is a
// new change: gameday verifies again, this time with its restartRollout
// (3.2.2 is already out), which passes, and the run recovers.
func TestIntegrationRollingUpdateVerifiesAgain(t *testing.T) {
	requireIntegration(t)
	dir := libraryCopy(t, "rolling-update-downtime",
		"        kubectl patch deployment ${param.app.name} -n prod --type json -p",
		"        kubectl scale deployment ${param.app.name} -n prod --replicas=1 &&\n        kubectl patch deployment ${param.app.name} -n prod --type json -p",
		`{"maxSurge": "100%", "maxUnavailable": 0}`, `{"maxSurge": 0, "maxUnavailable": "25%"}`,
		"      run: sleep 3 && kubectl rollout status deployment ${param.app.name} -n prod --timeout=3m",
		"      run: >-\n"+
			"        until kubectl get deployment ${param.app.name} -n prod -o jsonpath='{.spec.template.spec.containers[0].image}' | grep -q ':${param.app.next}$'; do sleep 1; done;\n"+
			"        sleep 15; kubectl scale deployment ${param.app.name} -n prod --replicas=4 &&\n"+
			"        sleep 3 && kubectl rollout status deployment ${param.app.name} -n prod --timeout=4m")
	home := t.TempDir()
	p := newGameday(t, home, "run", dir, "--seed", "0", "--autopilot", "--time-limit", "8m")
	code := p.exitCode(t)
	d := onlyRun(t, home)
	defer checkNothingLeft(t, d)
	j := checkFullMarks(t, p, d, code)
	var seen []string
	for _, e := range j.Events {
		if strings.HasPrefix(e.Step, "verification") {
			seen = append(seen, e.Step+": "+e.Message)
		}
	}
	want := []string{
		"verification: failed: ",
		"(attempt 1 of 3: gameday verifies again after your next change)",
		"verification: started again (attempt 2)",
		"verification: restart storefront's rollout: restartRollout done",
		"verification: passed: settled",
	}
	all := strings.Join(seen, "\n")
	t.Logf("verification events:\n%s", all)
	at := 0
	for _, w := range want {
		i := strings.Index(all[at:], w)
		if i < 0 {
			t.Fatalf("verification events lack %q after offset %d:\n%s", w, at, all)
		}
		at += i + len(w)
	}
	// The restart rolls out four pods that warm up for 10 s, one at a
	// time: its samples (four a second) span well over 10 s. A settle
	// read from before the restart would pass at once, on one sample.
	if m := regexp.MustCompile(`passed: settled; every one of (\d+) samples held`).FindStringSubmatch(all); m == nil {
		t.Errorf("no sample count in:\n%s", all)
	} else if n, _ := strconv.Atoi(m[1]); n < 40 {
		t.Errorf("the retry passed on %d samples: it did not watch the restart's rollout\n%s", n, all)
	}
	if strings.Count(all, "setImage done") != 1 {
		t.Errorf("3.2.2 shipped more than once:\n%s", all)
	}
}

func TestIntegrationRunNotReproduced(t *testing.T) {
	requireIntegration(t)
	// The new node group's role can pull, so the fault cannot happen.
	dir := scenarioCopy(t,
		"          managedPolicies: ${param.lack.newManaged}\n",
		"          managedPolicies: [AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy, AmazonEC2ContainerRegistryReadOnly]\n",
		"    timeout: 3m\n", "    timeout: 20s\n")
	home := t.TempDir()
	p := newGameday(t, home, "run", dir, "--seed", "0", "--autopilot")
	code := p.exitCode(t)
	d := onlyRun(t, home)
	defer checkNothingLeft(t, d)
	if code != ExitNotReproduced {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, ExitNotReproduced, p.stderr.String())
	}
	for _, want := range []string{"scenario did not reproduce", "checkout pods are failing to pull their image: observed"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, p.stderr.String())
		}
	}
	if j, _ := readJournal(t, d); j.Outcome != verify.OutcomeNotReproduced {
		t.Errorf("outcome %s", j.Outcome)
	}
}

// TestIntegrationRunInterruptedAtEveryPhase sends SIGINT when a phase
// starts and checks that the run exits 130 and leaves nothing behind.
func TestIntegrationRunInterruptedAtEveryPhase(t *testing.T) {
	requireIntegration(t)
	for _, phase := range []string{"provision", "setup", "fault", "symptom-gate", "observe"} {
		t.Run(phase, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0")
			if err := p.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Minute)
			for !strings.Contains(p.stderr.String(), "] "+phase) {
				if time.Now().After(deadline) {
					_ = p.cmd.Process.Kill()
					t.Fatalf("phase %s never started:\n%s", phase, p.stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			_ = p.cmd.Process.Signal(syscall.SIGINT)
			err := p.cmd.Wait()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != ExitAborted {
				t.Errorf("exit %d after Ctrl-C in %s, want %d\n%s", code, phase, ExitAborted, p.stderr.String())
			}
			checkNothingLeft(t, onlyRun(t, home))
		})
	}
}

// TestIntegrationOperatorSession plays a run by hand from "another
// terminal": status, a hint, a diagnosis, then give-up.
func TestIntegrationOperatorSession(t *testing.T) {
	requireIntegration(t)
	home := t.TempDir()
	p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0", "--time-limit", "5m")
	startUntilHandover(t, p)
	other := func(args ...string) (int, string, string) {
		t.Helper()
		q := newGameday(t, home, args...)
		q.cmd.Stdin = strings.NewReader("")
		code := q.exitCode(t)
		return code, q.stdout.String(), q.stderr.String()
	}
	if code, out, errOut := other("status", "-o", "json"); code != 0 || !strings.Contains(out, `"id":"detect"`) {
		t.Errorf("status: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, errOut := other("hint"); code != 0 || !strings.Contains(errOut, "Hint 1 of 4 costs 5 points.") || !strings.Contains(errOut, "not revealed") || out != "" {
		t.Errorf("hint without --yes: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
	if code, out, _ := other("hint", "--yes"); code != 0 || !strings.HasPrefix(out, "Hint 1: Start where the pods are.") {
		t.Errorf("hint --yes: exit %d, %q", code, out)
	}
	if code, out, _ := other("causes"); code != 0 || !strings.Contains(out, "node-role-missing-ecr-read") || !strings.Contains(out, "image-tag-missing") {
		t.Errorf("causes: exit %d\n%s", code, out)
	}
	if code, _, errOut := other("diagnose", "--cause", "gremlins"); code != ExitInvalid || !strings.Contains(errOut, `unknown cause "gremlins"`) {
		t.Errorf("diagnose unknown cause: exit %d, %s", code, errOut)
	}
	if code, out, _ := other("diagnose", "--cause", "image-tag-missing", "--resource", "shop/checkout:1.9.0"); code != 0 || strings.TrimSpace(out) != "recorded" {
		t.Errorf("diagnose: exit %d, %q", code, out)
	}
	if code, _, errOut := other("give-up"); code != 0 {
		t.Errorf("give-up: exit %d, %s", code, errOut)
	}
	err := p.cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	if ee == nil || ee.ExitCode() != ExitFailed {
		t.Fatalf("run exited with %v, want %d\n%s", err, ExitFailed, p.stderr.String())
	}
	d := onlyRun(t, home)
	checkNothingLeft(t, d)
	j, r := readJournal(t, d)
	if j.Outcome != verify.OutcomeGaveUp || len(r.Hints) != 1 || r.Hints[0].Cost != 5 {
		t.Errorf("outcome %s, hints %+v", j.Outcome, r.Hints)
	}
	if r.Objectives[0].Achieved {
		t.Error("a wrong diagnosis achieved detection")
	}
	md, _ := os.ReadFile(d.File("report.md"))
	if !bytes.Contains(md, []byte("operator claimed image-tag-missing on shop/checkout:1.9.0 | wrong | 0 |")) {
		t.Errorf("report does not list the wrong diagnosis:\n%s", md)
	}
}

// alertDetector watches for ImagePullBackOff in prod, then posts an
// Alertmanager webhook with the alert kube-prometheus raises for it and a
// wrong alert, and keeps running like a real detector.
const alertDetector = `
while ! kubectl get pods -n prod --no-headers 2>/dev/null | grep -q ImagePullBackOff; do sleep 1; done
pod=$(kubectl get pods -n prod --no-headers | grep ImagePullBackOff | head -1 | cut -d' ' -f1)
cat > alerts.json <<JSON
{"version":"4","groupKey":"{}:{}","truncatedAlerts":0,"status":"firing","receiver":"gameday",
 "groupLabels":{},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager:9093",
 "alerts":[
  {"status":"firing","labels":{"alertname":"KubeContainerWaiting","namespace":"prod","pod":"$pod","container":"checkout","reason":"ImagePullBackOff","severity":"warning"},
   "annotations":{"summary":"Pod container waiting longer than 1 hour"},"startsAt":"2026-11-02T14:01:10Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"a"},
  {"status":"firing","labels":{"alertname":"KubeNodeNotReady","node":"ip-10-0-2-10.ec2.internal","severity":"warning"},
   "annotations":{"summary":"Node is not ready."},"startsAt":"2026-11-02T14:01:20Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"b"}]}
JSON
curl -sf -X POST -H "Authorization: Bearer $GAMEDAY_TOKEN" -H 'Content-Type: application/json' --data @alerts.json "$GAMEDAY_ALERTMANAGER_URL"
sleep 600
`

// findingDetector watches for ImagePullBackOff in prod and posts a
// finding to the inbox.
const findingDetector = `
while ! kubectl get pods -n prod --no-headers 2>/dev/null | grep -q ImagePullBackOff; do sleep 1; done
curl -sf -X POST -H "Authorization: Bearer $GAMEDAY_TOKEN" -H 'Content-Type: application/json' \
  -d '{"cause":"image-pull-failure","resource":"prod/checkout","severity":"critical","tool":"pod-watcher","source":"detector"}' \
  "$GAMEDAY_FINDINGS_URL"
sleep 600
`

func TestIntegrationHeadlessDetection(t *testing.T) {
	requireIntegration(t)
	tests := []struct {
		name     string
		detector string
		budget   string
		timeout  string
		wantCode int
	}{
		{"detector posting a finding is credited", findingDetector, "", "60s", ExitOK},
		{"alerting detector is credited", alertDetector, "", "60s", ExitOK},
		{"silent detector is not detected", "sleep 600", "", "15s", ExitFailed},
		{"slow detection is over budget", alertDetector, "1ms", "60s", ExitOverBudget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			junit := filepath.Join(t.TempDir(), "junit.xml")
			args := []string{"run", "ecr-imagepullbackoff", "--seed", "0", "--headless", "--timeout", tt.timeout, "--detector", tt.detector, "--junit", junit}
			if tt.budget != "" {
				args = append(args, "--detection-budget", tt.budget)
			}
			p := newGameday(t, home, args...)
			p.cmd.Dir = t.TempDir()
			code := p.exitCode(t)
			d := onlyRun(t, home)
			checkNothingLeft(t, d)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\n%s", code, tt.wantCode, p.stderr.String())
			}
			xmlOut, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			j, r := readJournal(t, d)
			switch tt.wantCode {
			case ExitFailed:
				if r.Metrics.TTD != nil || !bytes.Contains(xmlOut, []byte(`<failure message="not achieved`)) {
					t.Errorf("silent detector credited: TTD %v\n%s", r.Metrics.TTD, xmlOut)
				}
			default:
				if j.Outcome != verify.OutcomeDetected || r.Metrics.TTD == nil {
					t.Fatalf("outcome %s, TTD %v", j.Outcome, r.Metrics.TTD)
				}
				if !bytes.Contains(xmlOut, []byte(`name="ttd-seconds"`)) {
					t.Errorf("JUnit lacks TTD:\n%s", xmlOut)
				}
				if tt.detector == findingDetector {
					if !bytes.Contains(xmlOut, []byte("detector (pod-watcher): image-pull-failure on prod/checkout")) {
						t.Errorf("JUnit lacks the finding:\n%s", xmlOut)
					}
					return
				}
				if !bytes.Contains(xmlOut, []byte("KubeNodeNotReady matches no cause")) || !bytes.Contains(xmlOut, []byte(`<property name="false-positives" value="1">`)) {
					t.Errorf("JUnit lacks the false positive:\n%s", xmlOut)
				}
				if !strings.Contains(p.stdout.String(), "1 wrong (-3)") {
					t.Errorf("summary does not count the false positive:\n%s", p.stdout.String())
				}
				if tt.wantCode == ExitOverBudget && !bytes.Contains(xmlOut, []byte(`type="over-budget"`)) {
					t.Errorf("JUnit does not fail the detection case:\n%s", xmlOut)
				}
				md, _ := os.ReadFile(d.File("report.md"))
				if !bytes.Contains(md, []byte("KubeNodeNotReady matches no cause")) {
					t.Errorf("report does not list the false positive")
				}
			}
		})
	}
}

// TestIntegrationSelfTestCatchesBrokenSolution breaks the reference
// solution (it attaches the CNI policy instead of ECR read) and one
// wrong fix's expectation (a score it does not get), and expects `gameday
// test` to fail both and say why, while the idle game and the other
// wrong fix pass.
func TestIntegrationSelfTestCatchesBrokenSolution(t *testing.T) {
	requireIntegration(t)
	dir := scenarioCopy(t, "--policy-arn arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly\n", "--policy-arn arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy\n",
		"--timeout=3m", "--timeout=15s", "outcome: completed, score: 70}", "outcome: completed, score: 65}")
	home := t.TempDir()
	p := newGameday(t, home, "test", dir, "--grace", "20s", "--idle", "20s", "--parallel", "2")
	code := p.exitCode(t)
	if code != ExitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitFailed, p.stdout.String(), p.stderr.String())
	}
	out := p.stdout.String()
	for _, want := range []string{
		"FAIL ecr-imagepullbackoff seed=0 solution: the reference solution does not achieve fix, restart, recover",
		"ok   ecr-imagepullbackoff seed=0 idle",
		"FAIL ecr-imagepullbackoff seed=0 wrong-fix:administrator-access: Give the node role AdministratorAccess instead of the ECR read-only policy: it scores 70, not 65",
		"ok   ecr-imagepullbackoff seed=0 wrong-fix:uncordon-old-nodes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

// TestIntegrationCleanupAfterKill kills a run outright (SIGKILL: no
// teardown) and checks that gameday cleanup finds what the embedded
// backend left, lists it with --dry-run, then removes it, and that no
// process survives the run.
func TestIntegrationCleanupAfterKill(t *testing.T) {
	requireIntegration(t)
	home, tmp := t.TempDir(), t.TempDir()
	p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0")
	p.cmd.Env = append(p.cmd.Env, "TMPDIR="+tmp)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for !strings.Contains(p.stderr.String(), "] observe") {
		if time.Now().After(deadline) {
			_ = p.cmd.Process.Kill()
			t.Fatalf("no handover:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := onlyRun(t, home)
	if d.Pid() != p.cmd.Process.Pid {
		t.Fatalf("run %s not marked live by pid %d", d.ID, p.cmd.Process.Pid)
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()

	// This TMPDIR is too long for the kubelets' unix sockets, so the run
	// put its temporary files in /tmp instead (and said so).
	if !strings.Contains(p.stderr.String(), "TMPDIR is too long") {
		t.Errorf("no word of the TMPDIR fallback:\n%s", p.stderr.String())
	}
	ours := func() []string {
		a, _ := filepath.Glob(filepath.Join(tmp, "*"))
		b, _ := filepath.Glob(filepath.Join("/tmp", "gameday-"+d.ID+"-*"))
		return append(a, b...)
	}
	temps := ours()
	if len(temps) == 0 {
		t.Fatal("the killed run left no temporary files: nothing to check cleanup against")
	}
	// cleanup runs as its own process: the test runs in parallel, so it
	// cannot change this process's environment.
	cleanup := func(args ...string) (int, string, string) {
		t.Helper()
		q := newGameday(t, home, append([]string{"cleanup"}, args...)...)
		q.cmd.Env = append(q.cmd.Env, "TMPDIR="+tmp, "DOCKER_HOST=unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
		return q.exitCode(t), q.stdout.String(), q.stderr.String()
	}
	code, out, errOut := cleanup("--dry-run")
	if code != ExitOK || !strings.Contains(out, "would remove "+d.Path+"  (run "+d.ID+" crashed") {
		t.Fatalf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, tp := range temps {
		if !strings.Contains(out, "would remove "+tp) {
			t.Errorf("dry run does not list %s:\n%s", tp, out)
		}
	}
	if code, out, errOut = cleanup(); code != ExitOK {
		t.Fatalf("cleanup: exit %d\n%s\n%s", code, out, errOut)
	}
	if left := ours(); len(left) > 0 {
		t.Errorf("temporary files left after cleanup: %v", left)
	}
	if _, err := os.Stat(d.Path); !os.IsNotExist(err) {
		t.Errorf("crashed run directory still there: %v", err)
	}
	// moto dies with gameday (its process group's guard), even on SIGKILL.
	checkChildrenDie(t, home, 2*time.Second)
}

// checkChildrenDie waits up to grace for the processes of runs under home
// to be gone, and fails naming those that are not.
func checkChildrenDie(t *testing.T, home string, grace time.Duration) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for left := runProcesses(home); len(left) > 0; left = runProcesses(home) {
		if time.Now().After(deadline) {
			t.Errorf("processes outlived the killed run by %s: %v", grace, left)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shortTempDir is a temporary directory with a path short enough for the
// kubelets' unix sockets (t.TempDir's is not), removed after the test.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "gd-t-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startRunFor starts the first incident with its temporary files in tmp
// and returns once it has been running for d: the moment to interrupt.
func startRunFor(t *testing.T, home, tmp string, d time.Duration) *gamedayProc {
	t.Helper()
	p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0")
	p.cmd.Env = append(p.cmd.Env, "TMPDIR="+tmp)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	return p
}

// TestIntegrationInterruptDuringStartup sends SIGINT at many moments of
// start-up, every 400 ms over the first 12 s (provisioning, setup, fault,
// the symptom gate), and checks that each run exits 130 and leaves no
// process and no temporary file. Nothing inside gameday may exit the
// process on the way (a component's fatal log on cancellation did).
func TestIntegrationInterruptDuringStartup(t *testing.T) {
	requireIntegration(t)
	for at := 400 * time.Millisecond; at <= 12*time.Second; at += 400 * time.Millisecond {
		t.Run(at.String(), func(t *testing.T) {
			t.Parallel()
			home, tmp := t.TempDir(), shortTempDir(t)
			p := startRunFor(t, home, tmp, at)
			_ = p.cmd.Process.Signal(syscall.SIGINT)
			exited := make(chan error, 1)
			go func() { exited <- p.cmd.Wait() }()
			var err error
			select {
			case err = <-exited:
			case <-time.After(2 * time.Minute):
				_ = p.cmd.Process.Kill()
				t.Fatalf("no exit 2 minutes after SIGINT at %s:\n%s", at, p.stderr.String())
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
				// On a loaded machine the first moments can pass before
				// the process has run any of its own code: SIGINT's
				// default action ends it then, having started nothing
				// (the checks below still apply). A fatal log exits.
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT && p.stderr.String() == "" {
					t.Logf("SIGINT at %s came before the process caught signals: it ended by the signal, having printed nothing", at)
					code = ExitAborted
				}
			}
			if code != ExitAborted {
				t.Errorf("exit %d after SIGINT at %s, want %d\n%s", code, at, ExitAborted, p.stderr.String())
			}
			checkChildrenDie(t, home, 2*time.Second)
			if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
			if runs, _ := rundir.List(home); len(runs) == 1 && runs[0].Pid() != 0 {
				t.Error("run still marked live")
			}
		})
	}
}

// TestIntegrationKillDuringStartup SIGKILLs gameday at moments of
// start-up (no teardown runs) and checks that no child of it, moto
// included, outlives it by more than 2 s; then gameday cleanup removes
// what it left.
func TestIntegrationKillDuringStartup(t *testing.T) {
	requireIntegration(t)
	for _, at := range []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second, 10 * time.Second} {
		t.Run(at.String(), func(t *testing.T) {
			t.Parallel()
			home, tmp := t.TempDir(), shortTempDir(t)
			p := startRunFor(t, home, tmp, at)
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
			checkChildrenDie(t, home, 2*time.Second)
			q := newGameday(t, home, "cleanup")
			q.cmd.Env = append(q.cmd.Env, "TMPDIR="+tmp, "DOCKER_HOST=unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
			if code := q.exitCode(t); code != ExitOK {
				t.Fatalf("cleanup: exit %d\n%s", code, q.stderr.String())
			}
			if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) > 0 {
				t.Errorf("temporary files left after cleanup: %v", left)
			}
		})
	}
}

// TestIntegrationDetectionSuite runs `gameday test --detector` over the
// first incident with a crude shell detector that alerts on every pod
// that is not Ready: detected, root cause not named, no false positive;
// then the same detector raising one alert that matches no cause, with
// --max-false-positives 0: the suite fails with exit 5 and the JUnit file
// counts the false positive.
func TestIntegrationDetectionSuite(t *testing.T) {
	requireIntegration(t)
	detector, err := filepath.Abs("testdata/not-ready-detector.sh")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, extraAlert string
		args             []string
		wantCode         int
		wantRow          string // the table row's fields, joined by one space
		wantJUnit        []string
	}{
		{"not-ready detector detects", "", nil, ExitOK,
			"ecr-imagepullbackoff 0 yes * no * 0 ok",
			[]string{`<property name="false-positives" value="0">`, `<property name="root-cause-named" value="false">`}},
		{"a false positive over the budget, in a child process", "KubeNodeNotReady", []string{"--max-false-positives", "0", "--parallel", "2"}, ExitFailed,
			"ecr-imagepullbackoff 0 yes * no * 1 1 false positives, over --max-false-positives 0",
			[]string{`<property name="false-positives" value="1">`, `message="1 false positives, over the budget of 0"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			junit := filepath.Join(t.TempDir(), "suite.xml")
			args := append([]string{"test", "ecr-imagepullbackoff", "--detector", detector, "--timeout", "90s", "--junit", junit}, tt.args...)
			p := newGameday(t, home, args...)
			p.cmd.Env = append(p.cmd.Env, "EXTRA_ALERT="+tt.extraAlert)
			code := p.exitCode(t)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, p.stdout.String(), p.stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "SCENARIO ") {
				t.Fatalf("want a header and one row:\n%s", p.stdout.String())
			}
			got := strings.Fields(lines[1])
			want := strings.Fields(tt.wantRow)
			if len(got) != len(want) {
				t.Fatalf("row %q, want %q", lines[1], tt.wantRow)
			}
			for i := range want {
				if want[i] != "*" && got[i] != want[i] {
					t.Errorf("row %q, want %q (field %d)", lines[1], tt.wantRow, i)
				}
			}
			// One true positive per checkout pod not Ready (a distinct
			// resource each); fields: scenario, seed, detected, TTD, root
			// cause, true positives.
			if tp, err := strconv.Atoi(got[5]); err != nil || tp < 1 {
				t.Errorf("true positives %q, want at least 1", got[5])
			}
			xmlOut, err := os.ReadFile(junit)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.wantJUnit {
				if !bytes.Contains(xmlOut, []byte(w)) {
					t.Errorf("JUnit lacks %s:\n%s", w, xmlOut)
				}
			}
			checkNothingLeft(t, onlyRun(t, home))
		})
	}
}
