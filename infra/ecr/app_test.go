package ecr

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/gameday-sre/gameday/internal/ground/loopback"
	"github.com/gameday-sre/gameday/internal/testkit/apptest"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// TestBuildImageWithApp checks the layout of an image that runs gameday's
// app binary: the binary and the image's behaviour where the entrypoint
// finds them, and the default behaviour when the image declares none.
func TestBuildImageWithApp(t *testing.T) {
	spec := []byte(`{"name":"checkout"}`)
	tests := []struct {
		name     string
		opts     []BuildOption
		wantSpec string
	}{
		{"with its behaviour", []BuildOption{WithBase(fakeBase(t)), WithApp([]byte("ELF app")), WithSpec(spec)}, string(spec)},
		{"without one: the default behaviour", []BuildOption{WithBase(fakeBase(t)), WithApp([]byte("ELF app"))}, "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := BuildImage("shop/checkout", "1.9.0", 2, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := img.ConfigFile()
			if !slices.Equal(cfg.Config.Entrypoint, []string{AppBinaryPath}) {
				t.Errorf("entrypoint %v, want %s", cfg.Config.Entrypoint, AppBinaryPath)
			}
			if got := fileIn(t, img, strings.TrimPrefix(AppBinaryPath, "/")); got != "ELF app" {
				t.Errorf("binary %q", got)
			}
			if got := fileIn(t, img, strings.TrimPrefix(AppSpecPath, "/")); got != tt.wantSpec {
				t.Errorf("spec %q, want %q", got, tt.wantSpec)
			}
			tr := tar.NewReader(mutate.Extract(img))
			for h, err := tr.Next(); err == nil; h, err = tr.Next() {
				if h.Name == "app/checkout" {
					t.Error("the stand-in script is in an image that runs the app binary")
				}
			}
		})
	}
}

// TestImageRunsTheAppBinary builds cmd/gameday-app statically, puts it
// in an image with a behaviour, takes the binary and the spec back out
// of the image and runs them as its entrypoint would: the app logs its
// start line and answers its readiness endpoint once warm.
func TestImageRunsTheAppBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the app binary (skipped with -short)")
	}
	dir := t.TempDir()
	bin, err := apptest.Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(behaviour.App{Name: "checkout", Startup: behaviour.Startup{WarmUp: time.Second, Port: port, Readiness: "/ready"}})
	img, err := BuildImage("shop/checkout", "1.9.0", 2, WithBase(fakeBase(t)), WithApp(binary), WithSpec(spec))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	for _, p := range []string{AppBinaryPath, AppSpecPath} {
		f := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(fileIn(t, img, strings.TrimPrefix(p, "/"))), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(root, AppBinaryPath))
	cmd.Env = []string{"GAMEDAY_APP_SPEC=" + filepath.Join(root, AppSpecPath), "GAMEDAY_APP_HOST=127.0.0.1", "TMPDIR=" + dir}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	first, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(first, "checkout starting") {
		t.Fatalf("first line %q, %v", first, err)
	}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/ready"
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			last = fmt.Sprint(resp.StatusCode)
			if resp.StatusCode == http.StatusOK {
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("%s never answered 200: %s", url, last)
}
