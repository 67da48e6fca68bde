package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/testkit/golden"
	"github.com/gameday-sre/gameday/scenarios"
)

// run runs the CLI in-process and returns its exit code and streams.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, Streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	return code, out.String(), errOut.String()
}

func TestGoldenOutput(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"list", []string{"list"}, "list.golden"},
		{"list json", []string{"list", "--output", "json"}, "list.json.golden"},
		{"describe", []string{"describe", "ecr-imagepullbackoff"}, "describe.golden"},
		{"describe with spoilers", []string{"describe", "ecr-imagepullbackoff", "--spoilers"}, "describe-spoilers.golden"},
		{"describe a file", []string{"describe", "../../../scenarios/testdata/valid/minimal"}, "describe-minimal.golden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			golden.Check(t, tt.golden, []byte(out))
		})
	}
}

func TestDescribeHasNoSpoilers(t *testing.T) {
	_, out, _ := run(t, "describe", "ecr-imagepullbackoff")
	for _, spoiler := range []string{"AmazonEC2ContainerRegistryReadOnly", "attach-role-policy", "node-role-missing-ecr-read", "no basic auth"} {
		if strings.Contains(out, spoiler) {
			t.Errorf("describe without --spoilers shows %q", spoiler)
		}
	}
}

func TestExitCodesAndStreams(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantOut    string // substring of stdout
		wantErrOut string // substring of stderr
	}{
		{"validate built-ins", []string{"validate"}, ExitOK, "", "ok: ecr-imagepullbackoff"},
		{"validate valid dir", []string{"validate", "../../../scenarios/testdata/valid"}, ExitOK, "", "ok: ../../../scenarios/testdata/valid/minimal/scenario.yaml (minimal)"},
		{"validate invalid file", []string{"validate", "../../../scenarios/testdata/invalid/unknown-field.yaml"}, ExitInvalid,
			`unknown-field.yaml:43:7: spec.objectives[0].pointz: unknown field "pointz" (did you mean "points"?)`, "1 problem(s) in 1 of 1 file(s)"},
		{"validate every broken file", []string{"validate", "../../../scenarios/testdata/invalid"}, ExitInvalid, "bad-crossref.yaml:45:45:", "in 20 of 20 file(s)"},
		{"validate missing path", []string{"validate", "nope.yaml"}, ExitInvalid, "", "find scenarios: stat nope.yaml: no such file or directory"},
		{"describe unknown", []string{"describe", "ecr-imagepullbackof"}, ExitInvalid, "", `unknown scenario "ecr-imagepullbackof" (did you mean "ecr-imagepullbackoff"?)`},
		{"describe needs an argument", []string{"describe"}, ExitInvalid, "", "accepts 1 arg(s), received 0"},
		{"bad flag", []string{"list", "--bogus"}, ExitInvalid, "", "unknown flag: --bogus"},
		{"bad output", []string{"list", "-o", "yaml"}, ExitInvalid, "", `unknown --output "yaml"`},
		{"unknown command", []string{"fly"}, ExitInvalid, "", `unknown command "fly"`},
		{"a responder named like gameday", []string{"run", "ecr-imagepullbackoff", "--seed", "0", "--responders", "alice,operator"}, ExitInvalid, "",
			`--responders: responder "operator": the name is gameday's own; pick another`},
		{"a responder named twice", []string{"run", "ecr-imagepullbackoff", "--seed", "0", "--responders", "bob,bob"}, ExitInvalid, "", `responder "bob" is named twice`},
		{"version", []string{"version"}, ExitOK, "gameday dev", ""},
		{"no --version flag of Kubernetes'", []string{"--version"}, ExitInvalid, "", "unknown flag: --version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantOut, out)
			}
			if !strings.Contains(errOut, tt.wantErrOut) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantErrOut, errOut)
			}
		})
	}
}

// TestHelpListsOnlyGamedaysFlags checks every command's help: the flags
// the linked Kubernetes components register globally (component-base's
// --version) are not gameday's.
func TestHelpListsOnlyGamedaysFlags(t *testing.T) {
	for _, c := range newRoot(&globals{}).Commands() {
		t.Run(c.Name(), func(t *testing.T) {
			code, out, errOut := run(t, c.Name(), "--help")
			if code != ExitOK || !strings.Contains(out, "--verbose") {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if strings.Contains(out, "--version") {
				t.Errorf("help lists --version:\n%s", out)
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain", errors.New("boom"), ExitInternal},
		{"invalid", errkind.Errorf(errkind.Invalid, "bad"), ExitInvalid},
		{"wrapped infra", fmt.Errorf("start moto: %w", errkind.Errorf(errkind.Infra, "no moto_server")), ExitInfra},
		{"infra step interrupted by a signal", errkind.E(errkind.Infra, fmt.Errorf("start embedded environment: %w", context.Canceled)), ExitAborted},
		{"not reproduced", errkind.Errorf(errkind.NotReproduced, "symptoms"), ExitNotReproduced},
		{"failed", errkind.Errorf(errkind.Failed, "objectives missed"), ExitFailed},
		{"aborted", errkind.Errorf(errkind.Aborted, "interrupted"), ExitAborted},
		{"context canceled", fmt.Errorf("wait: %w", context.Canceled), ExitAborted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

func TestCleanup(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir()
	t.Setenv("GAMEDAY_HOME", home)
	t.Setenv("TMPDIR", tmp)
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(tmp, "no-docker.sock"))
	crashed := filepath.Join(home, "runs", "20260102-000000-bbbbbb")
	finished := filepath.Join(home, "runs", "20260101-000000-aaaaaa")
	leftover := filepath.Join(tmp, "gameday-20260102-000000-bbbbbb-42")
	for _, d := range []string{crashed, finished, leftover} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(crashed, "pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "cleanup", "--dry-run")
	if code != ExitOK || !strings.Contains(out, "would remove "+crashed) || !strings.Contains(out, "would remove "+leftover) || strings.Contains(out, finished) {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	if !strings.Contains(errOut, "kind clusters and containers not checked: no Docker engine answers") {
		t.Errorf("no word on Docker leftovers without an engine: %q", errOut)
	}
	if _, err := os.Stat(crashed); err != nil {
		t.Fatal("dry run removed something")
	}
	code, out, _ = run(t, "cleanup")
	if code != ExitOK || !strings.Contains(out, "removed "+crashed) {
		t.Fatalf("cleanup: exit %d\n%s", code, out)
	}
	for _, gone := range []string{crashed, leftover} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Errorf("%s still there", gone)
		}
	}
	if _, err := os.Stat(finished); err != nil {
		t.Errorf("finished run removed: %v", err)
	}
	if code, _, errOut := run(t, "cleanup"); code != ExitOK || !strings.Contains(errOut, "nothing to clean up") {
		t.Errorf("second cleanup: exit %d %q", code, errOut)
	}
}

func TestInfraSelection(t *testing.T) {
	home := t.TempDir()
	t.Setenv("GAMEDAY_HOME", home)
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	kindScenario := scenarioCopy(t, "\n  environment:\n", "\n  environment:\n    infra: kind\n")
	cfgDir := t.TempDir()
	kindConfig := filepath.Join(cfgDir, "kind.yaml")
	badConfig := filepath.Join(cfgDir, "bad.yaml")
	os.WriteFile(kindConfig, []byte("infra: kind\n"), 0o600)
	os.WriteFile(badConfig, []byte("infra: kind\nbackend: docker\n"), 0o600)
	tests := []struct {
		name   string
		args   []string
		config string
		code   int
		want   string
	}{
		{"kind flag without Docker", []string{"run", "ecr-imagepullbackoff", "--seed", "0", "--infra", "kind"}, "", ExitInfra,
			"--infra kind needs Docker: no Docker engine answers at unix://"},
		{"unknown backend", []string{"run", "ecr-imagepullbackoff", "--seed", "0", "--infra", "minikube"}, "", ExitInvalid,
			`unknown --infra "minikube" (want embedded or kind)`},
		{"scenario asks for kind", []string{"run", kindScenario, "--seed", "0"}, "", ExitInfra,
			"kind (chosen by scenario ecr-imagepullbackoff) needs Docker: no Docker engine answers"},
		{"config file asks for kind", []string{"run", "ecr-imagepullbackoff", "--seed", "0"}, kindConfig, ExitInfra,
			"kind (chosen by " + kindConfig + ") needs Docker: no Docker engine answers"},
		{"bad config file", []string{"run", "ecr-imagepullbackoff", "--seed", "0"}, badConfig, ExitInvalid,
			"config file " + badConfig + ": line 2: field backend not found"},
		{"env up on kind without Docker", []string{"env", "up", "--scenario", "ecr-imagepullbackoff", "--seed", "0", "--infra", "kind"}, "", ExitInfra,
			"--infra kind needs Docker: no Docker engine answers"},
		{"env up sandbox on kind without Docker", []string{"env", "up", "--infra", "kind"}, "", ExitInfra,
			"--infra kind needs Docker: no Docker engine answers"},
		{"self-test on kind without Docker", []string{"test", "ecr-imagepullbackoff", "--infra", "kind"}, "", ExitFailed,
			"FAIL ecr-imagepullbackoff seed=0 backend: --infra kind needs Docker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GAMEDAY_CONFIG", tt.config)
			if tt.config == "" {
				t.Setenv("GAMEDAY_CONFIG", filepath.Join(cfgDir, "none.yaml"))
			}
			code, out, errOut := run(t, tt.args...)
			if tt.args[0] == "test" { // the self-test reports on stdout
				errOut = strings.TrimSpace(out) + "\n"
			}
			if code != tt.code || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "panic") {
				t.Errorf("exit %d, stderr %q", code, errOut)
			}
			if strings.Count(errOut, "\n") != 1 {
				t.Errorf("want a one-line reason, got:\n%s", errOut)
			}
			if runs, _ := os.ReadDir(filepath.Join(home, "runs")); len(runs) != 0 {
				t.Errorf("a run directory was created before the check")
			}
		})
	}
}

func TestSchemaPrintsTheEmbeddedSchema(t *testing.T) {
	code, out, errOut := run(t, "schema")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	var doc struct {
		ID   string         `json:"$id"`
		Defs map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.ID != scenarios.SchemaID || doc.Defs["PodsCondition"] == nil {
		t.Errorf("not the scenario schema (%v): id %q, %d definitions", err, doc.ID, len(doc.Defs))
	}
}

// TestReportRescoresAnOldJournal re-scores a journal written before
// claims were judged: gameday report takes the built-in scenario's answer
// key and says which rule scored it.
func TestReportRescoresAnOldJournal(t *testing.T) {
	code, out, errOut := run(t, "report", "../../../verify/testdata/human.journal.json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"journal predates judged claims: using the answer key of the built-in ecr-imagepullbackoff", "scored under rule v2"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, "Scored under rule v2") || !strings.Contains(out, "| wrong | -3 |") {
		t.Errorf("report:\n%s", out)
	}
}

// TestEveryInfraIsRegistered checks that each backend a scenario or the
// config file may name is linked into the binary.
func TestEveryInfraIsRegistered(t *testing.T) {
	have := environment.Backends()
	for _, name := range scenarios.Infras {
		if !slices.Contains(have, name) {
			t.Errorf("backend %q is not registered (have %v)", name, have)
		}
	}
}

// TestImagesWithoutDocker: gameday images needs an engine, and says
// which address did not answer, with the infrastructure exit code.
func TestImagesWithoutDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	code, out, errOut := run(t, "images")
	if code != ExitInfra || out != "" || !strings.Contains(errOut, "/nonexistent/docker.sock") {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitInfra, out, errOut)
	}
}

// TestDescribeSeed: describe --seed shows one variant, the same for the
// same seed, and its choices only with spoilers.
func TestDescribeSeed(t *testing.T) {
	const variants = "../../../scenarios/testdata/valid/variants"
	describeSeed := func(seed int, spoilers bool) string {
		t.Helper()
		args := []string{"describe", variants, "--seed", strconv.Itoa(seed)}
		if spoilers {
			args = append(args, "--spoilers")
		}
		code, out, errOut := run(t, args...)
		if code != ExitOK {
			t.Fatalf("describe --seed %d: exit %d: %s", seed, code, errOut)
		}
		return out
	}
	first := describeSeed(3, true)
	if again := describeSeed(3, true); again != first {
		t.Errorf("seed 3 twice differs:\n%s\n---\n%s", first, again)
	}
	if !strings.Contains(first, "The variant of seed 3") || !strings.Contains(first, "This variant:\n    app.image=") {
		t.Errorf("describe --seed 3 --spoilers does not name the variant:\n%s", first)
	}
	if plain := describeSeed(3, false); strings.Contains(plain, "This variant:") || strings.Contains(plain, "1. prod") {
		t.Errorf("describe --seed 3 without spoilers shows the choices:\n%s", plain)
	}
	briefings := map[string]bool{}
	for seed := range 10 {
		out := describeSeed(seed, false)
		briefings[out[strings.Index(out, "BRIEFING"):strings.Index(out, "ENVIRONMENT")]] = true
	}
	if len(briefings) < 2 {
		t.Errorf("ten seeds gave %d briefing(s)", len(briefings))
	}
	const minimal = "../../../scenarios/testdata/valid/minimal"
	_, plain, _ := run(t, "describe", minimal)
	if _, seeded, _ := run(t, "describe", minimal, "--seed", "7"); seeded != plain {
		t.Errorf("a seed changed a scenario without parameters")
	}
}
