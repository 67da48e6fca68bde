package kind

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMissingCaps(t *testing.T) {
	tests := []struct {
		name, bnd string
		last      int
		want      []string
	}{
		{"a full set lacks nothing", "000001ffffffffff", 40, nil},
		{"a sandbox without CAP_SYS_RESOURCE", "000001fffeffffff", 40, []string{"SYS_RESOURCE"}},
		{"caps past the kernel's last are not asked for", "00000000ffffffff", 31, nil},
		{"two missing", "000001fffefffffe", 40, []string{"CHOWN", "SYS_RESOURCE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := missingCaps(tt.bnd, tt.last)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := missingCaps("zz", 40); err == nil {
		t.Error("a bounding set that is not hex was accepted")
	}
}

// TestDockerShim runs the shim in front of a fake docker that prints
// its arguments, one per line.
func TestDockerShim(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real docker")
	if err := os.WriteFile(real, []byte("#!/bin/sh\nfor a do echo \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	shim := filepath.Join(dir, "docker")
	if err := os.WriteFile(shim, []byte(DockerShim(real, []string{"SYS_RESOURCE"}, []string{"/dev/kmsg"})), 0o755); err != nil {
		t.Fatal(err)
	}
	granted := []string{"--cap-add=ALL", "--cap-drop=SYS_RESOURCE", "--device-cgroup-rule=a *:* rwm", "--security-opt=systempaths=unconfined", "--device=/dev/kmsg"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"run: --privileged becomes every capability the engine has",
			[]string{"run", "--hostname", "n1", "--privileged", "--security-opt", "seccomp=unconfined", "kindest/node"},
			slices.Concat([]string{"run", "--hostname", "n1"}, granted, []string{"--security-opt", "seccomp=unconfined", "kindest/node"})},
		{"exec: --privileged is dropped",
			[]string{"exec", "--privileged", "-i", "n1", "sh", "-c", "echo 'a b'"},
			[]string{"exec", "-i", "n1", "sh", "-c", "echo 'a b'"}},
		{"other commands pass through, --privileged and all",
			[]string{"inspect", "--privileged", "x y"},
			[]string{"inspect", "--privileged", "x y"}},
		{"run without --privileged is unchanged",
			[]string{"run", "--rm", "img", "--privileged-not"},
			[]string{"run", "--rm", "img", "--privileged-not"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(shim, tt.args...).Output()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
			if !slices.Equal(got, tt.want) {
				t.Errorf("real docker got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}
