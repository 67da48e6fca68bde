package cli

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/gameday-sre/gameday/infra/aws"
	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/kind"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/testkit/apptest"
	"github.com/gameday-sre/gameday/internal/testkit/dockertest"
	"github.com/gameday-sre/gameday/verify"
)

// requireKind skips, saying why, unless this machine can run kind
// clusters: a Docker engine holding images (nothing is pulled), the
// docker command, and kubectl and aws for the autopilot.
func requireKind(t testing.TB, images ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped with -short: it plays on a kind cluster")
	}
	dockertest.RequireImages(t, "", images...)
	if err := dockerhost.CheckCLI(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	for _, tool := range []string{"kubectl", "aws"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH; see the README's requirements", tool)
		}
	}
}

// useAppBinary builds gameday's app binary, which the scenario's images
// on kind run, and points the gameday under test at it.
func useAppBinary(t testing.TB) {
	t.Helper()
	bin, err := apptest.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(kind.AppBinaryEnv, bin)
}

// checkNoDockerLeft verifies that a run's kind cluster and containers
// are gone.
func checkNoDockerLeft(t *testing.T, runID string) {
	t.Helper()
	names, err := kind.NewProvider(nil).List()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == kind.ClusterName(runID) {
			t.Errorf("kind cluster %s left", n)
		}
	}
	eng, err := dockerhost.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctrs, err := eng.Labelled(context.Background(), eks.RunIDLabel+"="+runID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ctrs {
		t.Errorf("container %s (%s) left", c.Name, c.Image)
	}
}

// TestIntegrationKindAutopilot plays the first incident on kind with moto
// in Docker: real containerd pulls refused by the node role, the
// reference solution with the real kubectl and aws, full marks, and
// nothing left in Docker afterwards.
func TestIntegrationKindAutopilot(t *testing.T) {
	requireKind(t, slices.Concat(kind.LocalImages(), aws.ContainerImages(aws.KindMotoContainer))...)
	useAppBinary(t)
	home := t.TempDir()
	p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0", "--infra", "kind", "--aws", "moto-container", "--autopilot")
	code := p.exitCode(t)
	d := onlyRun(t, home)
	defer checkNoDockerLeft(t, d.ID)
	j := checkFullMarks(t, p, d, code)
	var pullDenied, kubectlCalls, logsRead bool
	var logLine string
	for _, e := range j.Events {
		// The check matches containerd's "pull access denied.*no basic
		// auth credentials" in the kubelet's Failed event.
		if e.Type == verify.EventSymptom && e.Check == "the kubelet reports pull access denied" {
			pullDenied = true
		}
		kubectlCalls = kubectlCalls || e.Type == verify.EventKubectl
		// kubectl logs reaches the node's kubelet, which reads the
		// container's log from containerd.
		logsRead = logsRead || e.Type == verify.EventKubectl && strings.Contains(e.Message, "get pods/log sessions-")
		if e.Type == verify.EventStep && strings.Contains(e.Step, "healthy neighbour's log") {
			logLine = e.Message
		}
	}
	if !pullDenied || !kubectlCalls || !logsRead {
		t.Errorf("journal: containerd's pull access denied seen %v, kubectl calls from the audit log %v, kubectl logs %v", pullDenied, kubectlCalls, logsRead)
	}
	// sessions runs gameday's stand-in for redis here (or redis itself
	// where the engine has it); either logs.
	if logLine == "" {
		t.Error("kubectl logs of the sessions pod printed nothing")
	}
	for _, f := range []string{"admin.kubeconfig", "operator.kubeconfig", "audit.log"} {
		if st, err := os.Stat(d.File(f)); err != nil || st.Size() == 0 {
			t.Errorf("%s in the run directory: %v", f, err)
		}
	}
}

// TestIntegrationKindCleanup leaves a kind cluster and a labelled
// container as a crashed run would, and checks that gameday cleanup
// lists them with --dry-run and then removes them with the run's
// directory.
func TestIntegrationKindCleanup(t *testing.T) {
	requireKind(t, slices.Concat([]string{kind.NodeImageRef()}, aws.ContainerImages(aws.KindMotoContainer))...)
	ctx := context.Background()
	home := t.TempDir()
	t.Setenv("GAMEDAY_HOME", home)
	runID := "20260101-000000-crash" + time.Now().Format("150405")
	// The crashed run's directory, its process gone.
	runDir := filepath.Join(home, "runs", runID)
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runDir, "pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	provider := kind.NewProvider(nil)
	name := kind.ClusterName(runID)
	image := kind.NodeImageRef()
	cfg := &v1alpha4.Cluster{TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Nodes: []v1alpha4.Node{{Role: v1alpha4.ControlPlaneRole}}, KubeadmConfigPatches: []string{kind.KubeletPatch}}
	cfg.Networking.DisableDefaultCNI = true
	if kind.OfflineImage(image) {
		cfg.Networking.KubeProxyMode = "none"
		cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches, kind.NoDNSPatch)
	}
	if err := kind.EnsurePrivileged(ctx, image, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	defer provider.Delete(name, "")
	if err := provider.Create(name, cluster.CreateWithV1Alpha4Config(cfg), cluster.CreateWithNodeImage(image),
		cluster.CreateWithKubeconfigPath(t.TempDir()+"/kubeconfig")); err != nil {
		t.Fatal(err)
	}
	aws.ConfigureTestcontainers(slog.New(slog.DiscardHandler))
	ctr, err := testcontainers.Run(ctx, aws.ContainerImages(aws.KindMotoContainer)[0], testcontainers.WithLabels(map[string]string{eks.RunIDLabel: runID}))
	defer testcontainers.TerminateContainer(ctr)
	if err != nil {
		t.Fatal(err)
	}
	info, err := ctr.Inspect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctrName := strings.TrimPrefix(info.Name, "/")

	code, out, errOut := run(t, "cleanup", "--dry-run")
	if code != ExitOK || !strings.Contains(out, "would remove kind cluster "+name) || !strings.Contains(out, "would remove container "+ctrName) {
		t.Fatalf("dry run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if names, _ := provider.List(); !contains(names, name) {
		t.Fatal("the dry run removed the cluster")
	}
	code, out, errOut = run(t, "cleanup")
	if code != ExitOK || !strings.Contains(out, "removed kind cluster "+name) || !strings.Contains(out, "removed container "+ctrName) {
		t.Fatalf("cleanup: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkNoDockerLeft(t, runID)
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Errorf("crashed run directory left: %v", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestIntegrationKindInterrupt presses Ctrl-C (SIGINT) in each phase of
// a kind run, and checks that the run ends as aborted and leaves no
// cluster or container of its own, and no Docker network but kind's
// shared one, behind. The fault and the symptom gate last a few seconds
// here: the signal lands as they start.
func TestIntegrationKindInterrupt(t *testing.T) {
	requireKind(t, slices.Concat(kind.LocalImages(), aws.ContainerImages(aws.KindMotoContainer))...)
	useAppBinary(t)
	before := dockerNetworks(t)
	for _, tc := range []struct {
		phase, marker string
	}{
		{"provision, kind creating the nodes", "kind: • Preparing nodes"},
		{"provision, the AWS plane and the registry", "nodes pull from gameday's registry"},
		{"setup", "] setup"},
		{"fault", "] fault"},
		{"observe", "] observe"},
	} {
		t.Run(tc.phase, func(t *testing.T) {
			home := t.TempDir()
			p := newGameday(t, home, "run", "ecr-imagepullbackoff", "--seed", "0", "--infra", "kind", "--aws", "moto-container")
			if err := p.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var err error
			exited := make(chan struct{})
			go func() { err = p.cmd.Wait(); close(exited) }()
			if !waitFor(func() bool { return strings.Contains(p.stderr.String(), tc.marker) }, exited, 5*time.Minute) {
				_ = p.cmd.Process.Kill()
				<-exited
				t.Fatalf("never saw %q before the run ended (%v):\n%s", tc.marker, err, p.stderr.String())
			}
			_ = p.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
			case <-time.After(3 * time.Minute):
				_ = p.cmd.Process.Kill()
				<-exited
				t.Fatalf("no exit 3 minutes after SIGINT:\n%s", p.stderr.String())
			}
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != ExitAborted {
				t.Errorf("exit %d after SIGINT in %s, want %d\n%s", code, tc.phase, ExitAborted, p.stderr.String())
			}
			d := onlyRun(t, home)
			checkNoDockerLeft(t, d.ID)
			for _, n := range dockerNetworks(t) {
				// kind shares its network between clusters and never
				// deletes it.
				if !slices.Contains(before, n) && n != kind.Network {
					t.Errorf("docker network %s left", n)
				}
			}
		})
	}
}

// waitFor polls cond every 100 ms until it holds (true), or the
// process exits or d passes (false).
func waitFor(cond func() bool, exited <-chan struct{}, d time.Duration) bool {
	deadline := time.After(d)
	for !cond() {
		select {
		case <-exited:
			return false
		case <-deadline:
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return true
}

// dockerNetworks lists the engine's networks by name.
func dockerNetworks(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("docker", "network", "ls", "--format", "{{.Name}}").Output()
	if err != nil {
		t.Fatalf("docker network ls: %v", err)
	}
	return strings.Fields(string(out))
}
