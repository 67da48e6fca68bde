package kind

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/infra/images"
	"github.com/gameday-sre/gameday/internal/testkit/apptest"
	"github.com/gameday-sre/gameday/internal/testkit/dockertest"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// TestScenarioImageRunsInDocker builds a scenario image as a kind run
// does (the offline app base, gameday's app binary and the image's
// behaviour), loads it into the Docker engine and runs it for real, with
// no network: the app logs, warms up behind its readiness endpoint
// (`docker exec … wget`, as kubectl exec would), exits with the
// behaviour's code on SIGTERM and on a bad setting, and a memory leak
// over the container's limit is a real OOM kill, exit 137.
func TestScenarioImageRunsInDocker(t *testing.T) {
	dockertest.RequireImages(t, dockerhost.BuildCommand, images.AppBaseImage)
	if err := dockerhost.CheckCLI(); err != nil {
		t.Skipf("skipped: %v", err)
	}
	ctx := context.Background()
	eng, err := dockerhost.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	base, err := appBase(ctx, eng, images.AppBaseImage, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bin, err := apptest.Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(behaviour.App{
		Name:    "checkout",
		Startup: behaviour.Startup{WarmUp: 3 * time.Second, Port: 8080, Readiness: "/ready"},
		Config: []behaviour.Input{{Env: "PAYMENT_TIMEOUT_MS", Integer: true, OnInvalid: behaviour.Failure{
			Log: []string{"FATAL invalid PAYMENT_TIMEOUT_MS={value}: want milliseconds"}, ExitCode: 3}}},
		Resources: behaviour.Resources{Memory: 8 << 20},
		When: []behaviour.Variant{{Env: "LEAK", Is: []string{"on"},
			Resources: behaviour.Resources{MemoryPerMinute: 1200 << 20}}},
		Shutdown: behaviour.Shutdown{Drain: time.Second, ExitCode: 143},
	})
	img, err := ecr.BuildImage("shop/checkout", "1.9.0", 2, ecr.WithBase(base), ecr.WithApp(binary), ecr.WithSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	runID := fmt.Sprintf("test-%d", time.Now().UnixNano())
	ref := "gameday.local/test/checkout:" + runID
	if err := images.Load(ctx, eng, ref, img); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = docker("rmi", "-f", ref) }()

	run := func(t *testing.T, args ...string) string {
		t.Helper()
		id, err := docker(append([]string{"run", "-d", "--network", "none", "--label", "gameday.dev/run-id=" + runID}, append(args, ref)...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = docker("rm", "-f", id) })
		return id
	}
	state := func(t *testing.T, id string) (exitCode int, oom bool) {
		t.Helper()
		out, err := docker("wait", id)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := strconv.Atoi(out)
		o, err := docker("inspect", "-f", "{{.State.OOMKilled}}", id)
		if err != nil {
			t.Fatal(err)
		}
		return code, o == "true"
	}

	t.Run("serves once warm, stops with its exit code", func(t *testing.T) {
		id := run(t, "-e", "PAYMENT_TIMEOUT_MS=3000")
		ready := func() (string, error) { return docker("exec", id, "wget", "-qO-", "http://127.0.0.1:8080/ready") }
		if out, err := ready(); err == nil {
			t.Errorf("ready before its 3 s warm-up: %q", out)
		} else if !strings.Contains(err.Error(), "503") {
			t.Errorf("before warm-up: %v, want a 503", err)
		}
		var last error
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if _, last = ready(); last == nil {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if last != nil {
			t.Fatalf("never ready: %v", last)
		}
		if out, err := docker("exec", id, "sh", "-c", "echo $PAYMENT_TIMEOUT_MS; cat /etc/gameday/app.json"); err != nil || !strings.HasPrefix(out, "3000\n{") {
			t.Errorf("exec: %q, %v", out, err)
		}
		if _, err := docker("stop", "-t", "10", id); err != nil {
			t.Fatal(err)
		}
		if code, _ := state(t, id); code != 143 {
			t.Errorf("exit code %d after SIGTERM, want the behaviour's 143", code)
		}
		if logs := dockerLogs(t, id); !strings.Contains(logs, "checkout starting") {
			t.Errorf("logs: %q", logs)
		}
	})
	t.Run("a bad setting: its log line and exit code", func(t *testing.T) {
		id := run(t, "-e", "PAYMENT_TIMEOUT_MS=3s")
		if code, oom := state(t, id); code != 3 || oom {
			t.Errorf("exit %d (OOM %v), want 3", code, oom)
		}
		if logs := dockerLogs(t, id); !strings.Contains(logs, "FATAL invalid PAYMENT_TIMEOUT_MS=3s: want milliseconds") {
			t.Errorf("logs: %q", logs)
		}
	})
	t.Run("a leak over the memory limit: OOMKilled, 137", func(t *testing.T) {
		id := run(t, "-e", "PAYMENT_TIMEOUT_MS=3000", "-e", "LEAK=on", "--memory", "48m", "--memory-swap", "48m")
		if code, oom := state(t, id); code != 137 || !oom {
			t.Errorf("exit %d (OOM %v), want 137 and OOMKilled", code, oom)
		}
	})
}

// docker runs the docker CLI and returns its trimmed stdout; the error
// carries its stderr.
func docker(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return strings.TrimSpace(string(out)), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// dockerLogs is a container's stdout and stderr, as docker logs replays
// them on its own two streams.
func dockerLogs(t *testing.T, id string) string {
	t.Helper()
	out, err := exec.Command("docker", "logs", id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker logs %s: %v: %s", id, err, out)
	}
	return string(out)
}
