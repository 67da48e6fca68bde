package cli

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/scenarios"
)

func TestParseNodeGroups(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []scenarios.SandboxGroup
		wantErr    string
	}{
		{name: "one", spec: "ng-a=2", want: []scenarios.SandboxGroup{{Name: "ng-a", Size: 2}}},
		{name: "two with type", spec: "ng-a=1, ng-b=3:m6i.large", want: []scenarios.SandboxGroup{
			{Name: "ng-a", Size: 1}, {Name: "ng-b", Size: 3, InstanceType: "m6i.large"},
		}},
		{name: "no size", spec: "ng-a", wantErr: `"ng-a" is not name=size`},
		{name: "bad size", spec: "ng-a=lots", wantErr: "size must be a whole number from 1 to 20"},
		{name: "too big", spec: "ng-a=21", wantErr: "size must be between 1 and 20, got 21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNodeGroups(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEnvWithoutLiveRun(t *testing.T) {
	t.Setenv("GAMEDAY_HOME", t.TempDir())
	code, _, errOut := run(t, "env")
	if code != ExitInvalid || !strings.Contains(errOut, "no live environment") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = run(t, "env", "down")
	if code != ExitInvalid || !strings.Contains(errOut, "no live environment") {
		t.Errorf("env down: exit %d, stderr %q", code, errOut)
	}
}

// TestEnvUpRefusesBadInput checks the flag errors env up reports before
// it builds anything.
func TestEnvUpRefusesBadInput(t *testing.T) {
	t.Setenv("GAMEDAY_HOME", t.TempDir())
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a seed without a scenario", []string{"env", "up", "--seed", "3"}, "--seed needs --scenario"},
		{"an unknown scenario", []string{"env", "up", "--scenario", "no-such-scenario", "--seed", "3"}, "no-such-scenario"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := run(t, tt.args...)
			if code != ExitInvalid || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, ExitInvalid, tt.want)
			}
		})
	}
}

// TestTwoLiveRuns checks that with two live runs under one GAMEDAY_HOME
// the commands that address a live run name both and ask which, and
// that --run (or GAMEDAY_RUN) picks one.
func TestTwoLiveRuns(t *testing.T) {
	home := t.TempDir()
	t.Setenv("GAMEDAY_HOME", home)
	t.Setenv("GAMEDAY_RUN", "")
	root, err := rundir.Root()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, id := range []string{"20261205-100000-aaaaaa", "20261205-110000-bbbbbb"} {
		d, err := rundir.Create(root, id)
		if err != nil {
			t.Fatal(err)
		}
		unmark, err := d.MarkLive() // this process: alive
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unmark() })
		if err := d.WriteEnv([]string{"KUBECONFIG=/k/" + id}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, args := range [][]string{{"env"}, {"status"}, {"hint"}, {"give-up"}, {"causes"}, {"env", "down"}} {
		code, _, errOut := run(t, args...)
		if code != ExitInvalid || !strings.Contains(errOut, "2 live runs under") || !strings.Contains(errOut, ids[0]+", "+ids[1]) ||
			!strings.Contains(errOut, "--run ID or GAMEDAY_RUN") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	code, out, errOut := run(t, "env", "--run", ids[0])
	if code != ExitOK || !strings.Contains(out, "/k/"+ids[0]) {
		t.Errorf("env --run %s: exit %d, stdout %q, stderr %q", ids[0], code, out, errOut)
	}
	t.Setenv("GAMEDAY_RUN", ids[1])
	if code, out, _ := run(t, "env"); code != ExitOK || !strings.Contains(out, "/k/"+ids[1]) {
		t.Errorf("env with GAMEDAY_RUN=%s: exit %d, stdout %q", ids[1], code, out)
	}
	if code, _, errOut := run(t, "env", "--run", "nope"); code != ExitInvalid || !strings.Contains(errOut, `no live run "nope"`) {
		t.Errorf("env --run nope: exit %d, stderr %q", code, errOut)
	}
}

// TestIntegrationEnvUpDown runs `gameday env up` as a process, uses the
// printed KUBECONFIG with kubectl, and stops it with `gameday env down`.
func TestIntegrationEnvUpDown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a control plane (skipped with -short)")
	}
	t.Parallel()
	home := t.TempDir()
	if err := os.MkdirAll(runTmp(home), 0o755); err != nil {
		t.Fatal(err)
	}
	gameday := func(args ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "GAMEDAY_CLI_MAIN=1", "GAMEDAY_HOME="+home, "TMPDIR="+runTmp(home))
		return cmd
	}
	up := gameday("env", "up", "--node-groups", "ng-a=1,ng-b=1")
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	up.Stderr = &stderr
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = up.Process.Kill() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var export string
	select {
	case export = <-lines:
	case <-time.After(90 * time.Second):
		t.Fatalf("env up printed nothing in 90s; stderr:\n%s", stderr.String())
	}
	kubeconfig, ok := strings.CutPrefix(export, "export KUBECONFIG=")
	if !ok {
		t.Fatalf("first stdout line %q is not an export line", export)
	}
	out, err := exec.Command("kubectl", "--kubeconfig", kubeconfig, "get", "nodes", "-L", "eks.amazonaws.com/nodegroup", "--no-headers").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get nodes: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "Ready"); n != 2 {
		t.Errorf("kubectl sees %d Ready nodes, want 2:\n%s", n, out)
	}
	printed, err := gameday("env").Output()
	if err != nil || !strings.HasPrefix(string(printed), export+"\n") {
		t.Errorf("`gameday env` printed %q (%v), want it to start with %q", printed, err, export)
	}
	// The sandbox is composed as a game's environment is: its AWS
	// account knows the node groups, as EKS would.
	awsEnv := os.Environ()
	for _, l := range strings.Split(strings.TrimSpace(string(printed)), "\n") {
		if kv, ok := strings.CutPrefix(l, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			awsEnv = append(awsEnv, k+"="+strings.Trim(v, "'\""))
		}
	}
	describe := exec.Command("aws", "eks", "describe-nodegroup", "--cluster-name", "sandbox", "--nodegroup-name", "ng-b",
		"--query", "nodegroup.[nodeRole,scalingConfig.desiredSize]", "--output", "text")
	describe.Env = awsEnv
	if out, err := describe.CombinedOutput(); err != nil || !strings.Contains(string(out), "role/eks-node-ng-b") {
		t.Errorf("aws eks describe-nodegroup ng-b: %v\n%s", err, out)
	}

	down := gameday("env", "down")
	if out, err := down.CombinedOutput(); err != nil {
		t.Fatalf("env down: %v\n%s", err, out)
	}
	if err := up.Wait(); err != nil {
		t.Errorf("env up exited with %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("env up did not report stopping:\n%s", stderr.String())
	}
	if err := syscall.Kill(up.Process.Pid, 0); err == nil {
		t.Error("env up process still alive")
	}
	runs, err := rundir.List(home)
	if err != nil || len(runs) != 1 {
		t.Fatalf("want one run dir under %s, got %v (%v)", home, runs, err)
	}
	if runs[0].Pid() != 0 {
		t.Error("run still marked live after env down")
	}
	if left := runTempDirs(home, runs[0].ID); len(left) > 0 {
		t.Errorf("temp dirs left behind: %v", left)
	}
	if left := kubemarkDirs(home); len(left) > 0 {
		t.Errorf("kubemark temp dirs left behind: %v", left)
	}
}
