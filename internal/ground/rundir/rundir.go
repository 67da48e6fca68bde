// Package rundir manages gameday's run directories: one directory per run
// under a state root, holding the run's kubeconfigs, logs, journal and
// reports, and a pid file while the run is live.
package rundir

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Root returns the state root: $GAMEDAY_HOME, else
// $XDG_STATE_HOME/gameday, else ~/.local/state/gameday.
func Root() (string, error) {
	if d := os.Getenv("GAMEDAY_HOME"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "gameday"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find state dir: %w (set GAMEDAY_HOME)", err)
	}
	return filepath.Join(home, ".local", "state", "gameday"), nil
}

// NewID returns a new run id: UTC time plus random hex, sortable by age.
func NewID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// Dir is one run's directory.
type Dir struct {
	// ID is the run id.
	ID string
	// Path is the directory.
	Path string
}

// Create makes the directory for a new run under root.
func Create(root, id string) (Dir, error) {
	p := filepath.Join(root, "runs", id)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return Dir{}, fmt.Errorf("create run dir: %w", err)
	}
	return Dir{ID: id, Path: p}, nil
}

// File returns the path of a file in the run directory.
func (d Dir) File(name string) string { return filepath.Join(d.Path, name) }

const pidFile = "pid"

// MarkLive writes this process's pid into the run directory; the
// returned function removes it.
func (d Dir) MarkLive() (func() error, error) {
	if err := os.WriteFile(d.File(pidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return func() error { return nil }, fmt.Errorf("write pid file: %w", err)
	}
	return func() error {
		err := os.Remove(d.File(pidFile))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}, nil
}

// Pid returns the pid of the live process owning the run, or 0 when none
// is alive.
func (d Dir) Pid() int {
	b, err := os.ReadFile(d.File(pidFile))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0
	}
	return pid
}

// List returns every run directory under root, oldest first.
func List(root string) ([]Dir, error) {
	entries, err := os.ReadDir(filepath.Join(root, "runs"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	var out []Dir
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, Dir{ID: e.Name(), Path: filepath.Join(root, "runs", e.Name())})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Live returns the run directories whose owning process is alive.
func Live(root string) ([]Dir, error) {
	all, err := List(root)
	if err != nil {
		return nil, err
	}
	var out []Dir
	for _, d := range all {
		if d.Pid() != 0 {
			out = append(out, d)
		}
	}
	return out, nil
}

// EnvFile is the operator's environment in a run directory, as shell
// export lines (eval "$(gameday env)" prints it).
const EnvFile = "env.sh"

// ResponderEnvFile is a named responder's environment in a run
// directory (gameday env --as NAME prints it).
func ResponderEnvFile(name string) string { return "env-" + name + ".sh" }

// WriteEnv writes KEY=VALUE pairs to the run's env.sh as export lines,
// quoting values for the shell where needed.
func (d Dir) WriteEnv(kvs []string) error { return d.writeEnv(EnvFile, kvs) }

// WriteResponderEnv writes a named responder's env file.
func (d Dir) WriteResponderEnv(name string, kvs []string) error {
	return d.writeEnv(ResponderEnvFile(name), kvs)
}

func (d Dir) writeEnv(file string, kvs []string) error {
	var b strings.Builder
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	return os.WriteFile(d.File(file), []byte(b.String()), 0o600)
}

// ReadEnv returns the run's env.sh.
func (d Dir) ReadEnv() (string, error) { return d.readEnv(EnvFile) }

// ReadResponderEnv returns a named responder's env file; the error wraps
// fs.ErrNotExist when the run has no responder of that name.
func (d Dir) ReadResponderEnv(name string) (string, error) {
	return d.readEnv(ResponderEnvFile(name))
}

func (d Dir) readEnv(file string) (string, error) {
	b, err := os.ReadFile(d.File(file))
	if err != nil {
		return "", fmt.Errorf("read %s: %w", file, err)
	}
	return string(b), nil
}

// Responders lists the named responders of a run, from their env files.
func (d Dir) Responders() []string {
	matches, _ := filepath.Glob(d.File(ResponderEnvFile("*")))
	var out []string
	for _, m := range matches {
		out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "env-"), ".sh"))
	}
	return out
}

func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-=:+@,", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Orphan is something a crashed run left behind.
type Orphan struct {
	// Path is the file or directory.
	Path string
	// Reason says why it is an orphan.
	Reason string
}

// Orphans finds what crashed runs left: run directories whose pid file
// names a process that is gone, and temporary directories
// (gameday-<run>-* in $TMPDIR, or in /tmp where a long $TMPDIR sent them)
// of this root's runs that are not live. Temporary directories of runs
// this root does not know are left alone: they may be another
// GAMEDAY_HOME's live run. Finished runs (no pid file) keep their
// directories: they hold journals and reports.
func Orphans(root string) ([]Orphan, error) {
	runs, err := List(root)
	if err != nil {
		return nil, err
	}
	live := map[string]bool{} // known runs: live or not
	var out []Orphan
	for _, d := range runs {
		_, statErr := os.Stat(d.File(pidFile))
		live[d.ID] = d.Pid() != 0
		if !live[d.ID] && statErr == nil {
			out = append(out, Orphan{Path: d.Path, Reason: "run " + d.ID + " crashed (its process is gone)"})
		}
	}
	bases := []string{os.TempDir()}
	if filepath.Clean(os.TempDir()) != "/tmp" {
		bases = append(bases, "/tmp")
	}
	for _, base := range bases {
		tmps, _ := filepath.Glob(filepath.Join(base, "gameday-*-*"))
		for _, p := range tmps {
			id, ok := tempRunID(filepath.Base(p))
			if isLive, known := live[id]; !ok || !known || isLive {
				continue
			}
			out = append(out, Orphan{Path: p, Reason: "temporary files of run " + id + ", which is not live"})
		}
	}
	return out, nil
}

// tempRunID extracts the run id from "gameday-<id>-<random>", where ids
// look like 20060102-150405-abcdef.
func tempRunID(base string) (string, bool) {
	rest, ok := strings.CutPrefix(base, "gameday-")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, "-")
	if i < 0 {
		return "", false
	}
	id := rest[:i]
	if len(id) != len("20060102-150405-abcdef") || strings.Count(id, "-") != 2 {
		return "", false
	}
	return id, true
}
