package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		content *string // nil: no file
		want    File
		wantErr string
	}{
		{name: "no file", content: nil},
		{name: "empty file", content: ptr("")},
		{name: "both set", content: ptr("infra: kind\naws: moto-container\n"), want: File{Infra: "kind", AWS: "moto-container"}},
		{name: "unknown key", content: ptr("infra: kind\nbackend: x\n"), wantErr: "field backend not found"},
		{name: "bad infra", content: ptr("infra: docker\n"), wantErr: `infra: must be one of embedded, kind, got "docker"`},
		{name: "bad aws", content: ptr("aws: localstck\n"), wantErr: `aws: must be one of auto, moto, moto-container, localstack, got "localstck"`},
		{name: "not YAML", content: ptr("infra: [kind\n"), wantErr: "config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := Load(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want %q naming the file", err, tt.wantErr)
				}
				if errkind.Of(err) != errkind.Invalid {
					t.Errorf("kind %v, want Invalid", errkind.Of(err))
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestPath(t *testing.T) {
	t.Setenv("GAMEDAY_CONFIG", "/etc/gameday.yaml")
	if p, _ := Path(); p != "/etc/gameday.yaml" {
		t.Errorf("GAMEDAY_CONFIG ignored: %s", p)
	}
	t.Setenv("GAMEDAY_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", "/x")
	if p, _ := Path(); p != "/x/gameday/config.yaml" {
		t.Errorf("XDG path = %s", p)
	}
}

func TestChooseInfra(t *testing.T) {
	kindScenario := &scenarios.Scenario{}
	kindScenario.Metadata.Name = "needs-exec"
	kindScenario.Spec.Environment.Infra = "kind"
	tests := []struct {
		name    string
		flag    string
		s       *scenarios.Scenario
		file    File
		want    Choice
		wantErr string
	}{
		{name: "default", s: &scenarios.Scenario{}, want: Choice{"embedded", "the default"}},
		{name: "config file", s: &scenarios.Scenario{}, file: File{Infra: "kind"}, want: Choice{"kind", "cfg.yaml"}},
		{name: "scenario beats config file", s: kindScenario, file: File{Infra: "embedded"}, want: Choice{"kind", "scenario needs-exec"}},
		{name: "flag beats scenario", flag: "embedded", s: kindScenario, want: Choice{"embedded", "--infra"}},
		{name: "unknown flag", flag: "minikube", s: kindScenario, wantErr: `unknown --infra "minikube" (want embedded or kind)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseInfra(tt.flag, tt.s, tt.file, "cfg.yaml")
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || errkind.Of(err) != errkind.Invalid {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
