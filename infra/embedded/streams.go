package embedded

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming"
	remotecommandserver "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// startStreams serves the node runtime's streaming API (exec, attach,
// port-forward), which the kubelet proxies to, on a loopback listener
// gameday owns. Commands and connections are answered by the containers'
// behaviour models.
func (x *executor) startStreams() (streaming.Server, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("runtime streaming: %w", err)
	}
	cfg := streaming.DefaultConfig
	cfg.Addr = ln.Addr().String()
	cfg.BaseURL = &url.URL{Scheme: "http", Host: cfg.Addr}
	srv, err := streaming.NewServer(cfg, streamRuntime{x})
	if err != nil {
		ln.Close()
		return nil, nil, fmt.Errorf("runtime streaming: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 30 * time.Second, ErrorLog: serverLog("runtime streams")}
	go func() { _ = hs.Serve(ln) }()
	return srv, hs, nil
}

// streamRuntime answers streams from the behaviour models.
type streamRuntime struct{ x *executor }

// minimalPath is the PATH of the containers' environment.
const minimalPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Exec runs a command in a container, as far as a minimal image has
// commands: env, cat, ls, and wget or curl of the app's own endpoints.
// Anything else is not found, with exit code 127.
func (s streamRuntime) Exec(_ context.Context, id string, cmd []string, _ io.Reader, out, errw io.WriteCloser, _ bool, _ <-chan remotecommandserver.TerminalSize) error {
	defer out.Close()
	if errw != nil {
		defer errw.Close()
	} else {
		errw = out
	}
	c, ok := s.x.container(id)
	if !ok {
		return fmt.Errorf("container %s is not running", id)
	}
	if len(cmd) == 0 {
		return errors.New("no command")
	}
	code := c.exec(cmd, out, errw)
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// Attach is refused: the apps read no input.
func (s streamRuntime) Attach(context.Context, string, io.Reader, io.WriteCloser, io.WriteCloser, bool, <-chan remotecommandserver.TerminalSize) error {
	return errors.New("attach is not supported by this container: it reads no input; use kubectl logs -f")
}

// PortForward serves HTTP on the stream as the pod's container that
// listens on port would answer it.
func (s streamRuntime) PortForward(_ context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	c, ok := s.x.listening(sandboxID, int(port))
	if !ok {
		return fmt.Errorf("no container of the pod listens on port %d", port)
	}
	br := bufio.NewReader(stream)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
		status, body := c.respond(req.URL.Path)
		resp := &http.Response{
			StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Request: req,
			Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}},
			ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body)),
		}
		if err := resp.Write(stream); err != nil {
			return err
		}
	}
}

// running is a container whose model runs, as streams see it.
type running struct {
	app    behaviour.App
	in     behaviour.Inputs
	config *runtimeapi.ContainerConfig
	ports  []int // the pod's declared container ports
	t0     time.Time
	// volume is the host directory of the emptyDir the app writes to;
	// empty when it writes to its writable layer.
	volume string
}

// state is the model's state now.
func (c running) state() behaviour.State { return c.app.At(c.in, time.Since(c.t0)) }

// respond is the app's answer to a request for path: status and body.
func (c running) respond(path string) (int, string) {
	status := c.app.Response(c.state(), path)
	return status, http.StatusText(status) + "\n"
}

// serves says whether the app answers HTTP on port: its declared port,
// else any of the pod's declared container ports.
func (c running) serves(port int) bool {
	if c.app.Startup.Port != 0 {
		return port == c.app.Startup.Port
	}
	return slices.Contains(c.ports, port)
}

// exec runs one command against the model, and returns its exit code.
func (c running) exec(cmd []string, out, errw io.Writer) int {
	name, args := cmd[0], cmd[1:]
	switch name[strings.LastIndexByte(name, '/')+1:] {
	case "env", "printenv":
		fmt.Fprintf(out, "PATH=%s\n", minimalPath)
		for _, kv := range c.config.GetEnvs() {
			fmt.Fprintf(out, "%s=%s\n", kv.GetKey(), kv.GetValue())
		}
		return 0
	case "cat":
		code := 0
		for _, a := range operands(args) {
			b, err := c.read(a)
			if err != nil {
				fmt.Fprintf(errw, "cat: %s: %s\n", a, err)
				code = 1
				continue
			}
			_, _ = out.Write(b)
		}
		return code
	case "ls":
		return c.ls(operands(args), out, errw)
	case "wget", "curl":
		return c.fetch(name, args, out, errw)
	}
	fmt.Fprintf(errw, "exec: %q: executable file not found in $PATH: this container has only env, cat, ls, wget and curl\n", name)
	return 127
}

// operands drops a command's flags.
func operands(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			out = append(out, a)
		}
	}
	return out
}

// shellError is an error worded as coreutils words it ("No such file or
// directory").
type shellError string

func (e shellError) Error() string { return string(e) }

const (
	errNoSuchFile  shellError = "No such file or directory"
	errIsDirectory shellError = "Is a directory"
)

// read reads a container path through the mounts.
func (c running) read(path string) ([]byte, error) {
	host, ok := hostPath(c.config.GetMounts(), path)
	if !ok {
		return nil, errNoSuchFile
	}
	b, err := os.ReadFile(host)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, errNoSuchFile
	case err != nil && strings.Contains(err.Error(), "is a directory"):
		return nil, errIsDirectory
	}
	return b, err
}

// ls lists mounted directories (or names files), as ls does.
func (c running) ls(paths []string, out, errw io.Writer) int {
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	code := 0
	for i, p := range paths {
		host, ok := hostPath(c.config.GetMounts(), p)
		var fi os.FileInfo
		var err error
		if ok {
			fi, err = os.Stat(host)
		}
		if !ok || err != nil {
			if p == "/" {
				var tops []string
				for _, m := range c.config.GetMounts() {
					tops = append(tops, strings.SplitN(strings.TrimPrefix(m.GetContainerPath(), "/"), "/", 2)[0])
				}
				slices.Sort(tops)
				fmt.Fprintln(out, strings.Join(slices.Compact(tops), "\n"))
				continue
			}
			fmt.Fprintf(errw, "ls: cannot access '%s': No such file or directory\n", p)
			code = 2
			continue
		}
		if !fi.IsDir() {
			fmt.Fprintln(out, p)
			continue
		}
		entries, _ := os.ReadDir(host)
		if len(paths) > 1 {
			if i > 0 {
				fmt.Fprintln(out)
			}
			fmt.Fprintf(out, "%s:\n", p)
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				fmt.Fprintln(out, e.Name())
			}
		}
	}
	return code
}

// fetch answers wget or curl of the app's own HTTP port.
func (c running) fetch(tool string, args []string, out, errw io.Writer) int {
	var target string
	for _, a := range operands(args) {
		if strings.Contains(a, "://") || strings.HasPrefix(a, "localhost") || strings.HasPrefix(a, "127.0.0.1") {
			target = a
		}
	}
	if target == "" {
		fmt.Fprintf(errw, "%s: missing URL\n", tool)
		return 2
	}
	if !strings.Contains(target, "://") {
		target = "http://" + target
	}
	u, err := url.Parse(target)
	if err != nil {
		fmt.Fprintf(errw, "%s: bad address '%s'\n", tool, target)
		return 1
	}
	port, _ := strconv.Atoi(u.Port())
	if port == 0 {
		port = 80
	}
	host := u.Hostname()
	if (host != "localhost" && host != "127.0.0.1") || !c.serves(port) {
		fmt.Fprintf(errw, "%s: can't connect to remote host (%s): Connection refused\n", tool, net.JoinHostPort(host, strconv.Itoa(port)))
		if tool == "curl" {
			return 7
		}
		return 1
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	status, body := c.respond(path)
	if status >= 400 && tool == "wget" {
		fmt.Fprintf(errw, "wget: server returned error: HTTP/1.1 %d %s\n", status, http.StatusText(status))
		return 1
	}
	_, _ = io.WriteString(out, body)
	return 0
}
