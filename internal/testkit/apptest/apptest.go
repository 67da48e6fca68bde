// Package apptest builds gameday's app binary (cmd/gameday-app) for the
// tests that run it: as a process, in an image, in a container.
package apptest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Package is the app binary's Go package.
const Package = "github.com/gameday-sre/gameday/cmd/gameday-app"

// Build builds the app binary statically, as the images carry it, into
// dir and returns its path. The error carries go build's output.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "gameday-app")
	cmd := exec.Command("go", "build", "-o", bin, Package)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build gameday-app: %w\n%s", err, out)
	}
	return bin, nil
}
