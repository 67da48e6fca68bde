// Package dockerhost finds the Docker engine gameday talks to, tells
// whether it answers, and lists and removes the containers gameday left
// behind. Backends call Check before anything that needs an engine, so a
// machine without one gets a clear error instead of a library's panic.
package dockerhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// BuiltHere is the name prefix of the images gameday builds offline and
// loads into the engine itself (no registry has them); BuildCommand
// builds them.
const BuiltHere = "gameday.local/"

// BuildCommand builds the images named BuiltHere.
const BuildCommand = "make kind-images"

// Host returns the Docker engine address gameday would use: $DOCKER_HOST,
// else the first socket that exists among the usual rootful and rootless
// locations, else the rootful default.
func Host() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	candidates := []string{"/var/run/docker.sock"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "docker.sock"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".docker", "run", "docker.sock"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return "unix://" + c
		}
	}
	return "unix:///var/run/docker.sock"
}

// Check reports whether a Docker engine answers a ping, in two seconds at
// most. The error (kind Infra) names the address; callers add what to
// use instead.
func Check(ctx context.Context) error {
	host := Host()
	u, err := url.Parse(host)
	if err != nil {
		return errkind.Errorf(errkind.Infra, "DOCKER_HOST %q: %v", host, err)
	}
	tr := &http.Transport{}
	base := ""
	switch u.Scheme {
	case "unix":
		path := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}
		base = "http://docker"
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return errkind.Errorf(errkind.Infra, "DOCKER_HOST %q: unsupported scheme (want unix:// or tcp://)", host)
	}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_ping", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return errkind.Errorf(errkind.Infra, "no Docker engine answers at %s (%s)", host, shortErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errkind.Errorf(errkind.Infra, "the Docker engine at %s answered %s to a ping", host, resp.Status)
	}
	return nil
}

// CheckCLI reports whether the docker command is on PATH: kind's Docker
// provider drives the engine through it.
func CheckCLI() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return errkind.Errorf(errkind.Infra, "the docker command is not on PATH (kind runs it); install the Docker CLI")
	}
	return nil
}

func shortErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return fmt.Sprint(err)
}
