package kind

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gameday-sre/gameday/infra/images"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

func TestAppBase(t *testing.T) {
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.ConfigFile()

	// A registry that has the image, and one that does not answer.
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	pushed, err := name.NewTag(host + "/library/busybox:1.36.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(pushed, img); err != nil {
		t.Fatal(err)
	}
	unreachable := "127.0.0.1:1/library/busybox:1.36.1"

	tests := []struct {
		name    string
		engine  fakeEngine
		ref     string
		wantErr string
	}{
		{"from the Docker engine, offline", fakeEngine{ref: unreachable, saved: dockerSave(t, unreachable, img)}, unreachable, ""},
		{"from the registry when the engine lacks it", fakeEngine{}, pushed.String(), ""},
		{"neither", fakeEngine{}, unreachable, "run `docker pull " + unreachable + "`"},
		{"gameday's own base, not built", fakeEngine{}, images.AppBaseImage, "gameday builds it offline: run `make kind-images`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appBase(context.Background(), tt.engine, tt.ref, t.TempDir())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errkind.Of(err) != errkind.Infra {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := got.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.RootFS.DiffIDs) != 2 || cfg.RootFS.DiffIDs[1] != want.RootFS.DiffIDs[1] {
				t.Errorf("diff ids %v, want %v", cfg.RootFS.DiffIDs, want.RootFS.DiffIDs)
			}
		})
	}
	if _, err := appBase(context.Background(), fakeEngine{}, "Not A Ref!", t.TempDir()); errkind.Of(err) != errkind.Invalid {
		t.Errorf("bad reference: %v", err)
	}
}

func TestAppBinary(t *testing.T) {
	dir := t.TempDir()
	there := filepath.Join(dir, "gameday-app")
	if err := os.WriteFile(there, []byte("ELF"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		want    string
		wantErr string
	}{
		{"the binary named by the variable", there, "ELF", ""},
		{"a missing binary says how to build it", filepath.Join(dir, "nope"), "", "make build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(AppBinaryEnv, tt.path)
			got, err := appBinary()
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errkind.Of(err) != errkind.Invalid {
					t.Errorf("err %v, want an invalid-input error mentioning %q", err, tt.wantErr)
				}
			case err != nil || string(got) != tt.want:
				t.Errorf("appBinary() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
