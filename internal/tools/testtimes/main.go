// Command testtimes runs `go test -json` for the Makefile and shows where
// the time goes.
//
//	go run ./internal/tools/testtimes -o out/unit.jsonl -- go test -json ./...
//	go run ./internal/tools/testtimes -report out/unit.jsonl out/race.jsonl
//
// In the first form it runs the command, prints what plain `go test`
// would (the output of failed tests, package result lines) plus the
// reason of every skipped test, appends the raw events to the -o file,
// and exits with the command's exit code. In the second it reads event
// files and prints the slowest tests, each package's wall time, and a
// closing "tests: N passed, N failed, N skipped" line.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("testtimes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "append the raw events to this file")
	report := fs.Bool("report", false, "summarise event files instead of running a command")
	top := fs.Int("top", 10, "how many of the slowest tests to list")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *report {
		if err := summarise(stdout, fs.Args(), *top); err != nil {
			fmt.Fprintln(stderr, "testtimes:", err)
			return 1
		}
		return 0
	}
	if fs.NArg() == 0 || *out == "" {
		fmt.Fprintln(stderr, "usage: testtimes -o FILE -- go test -json ...  |  testtimes -report FILE...")
		return 2
	}
	code, err := stream(stdout, stderr, *out, fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "testtimes:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// stream runs argv, echoes its events as plain go test would show them,
// records them in file, and returns the command's exit code.
func stream(stdout, stderr io.Writer, file string, argv []string) (int, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return 1, err
	}
	rec, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 1, err
	}
	defer rec.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return 1, err
	}
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	echo := newEcho(stdout)
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if json.Unmarshal(line, &e) != nil || e.Action == "" {
			fmt.Fprintf(stdout, "%s\n", line) // not an event: pass it on
			continue
		}
		fmt.Fprintf(rec, "%s\n", line)
		echo.add(e)
	}
	scanErr := sc.Err()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), scanErr
	case err != nil:
		return 1, err
	}
	return 0, scanErr
}

// echo prints a stream of events the way non-verbose go test does, and
// also shows why each test skipped.
type echo struct {
	w   io.Writer
	buf map[string]*strings.Builder // output of running tests, by package and name
}

func newEcho(w io.Writer) *echo { return &echo{w: w, buf: map[string]*strings.Builder{}} }

func (p *echo) add(e event) {
	if e.Test == "" {
		// Package-level lines: results, build output, panics outside tests.
		if e.Action == "output" || e.Action == "build-output" {
			if o := e.Output; o != "PASS\n" && !strings.HasPrefix(o, "=== ") && !strings.HasPrefix(o, "--- PASS") {
				io.WriteString(p.w, o)
			}
		}
		return
	}
	key := e.Package + " " + e.Test
	switch e.Action {
	case "output":
		b := p.buf[key]
		if b == nil {
			b = &strings.Builder{}
			p.buf[key] = b
		}
		b.WriteString(e.Output)
	case "fail", "skip":
		if b := p.buf[key]; b != nil && (e.Action == "fail" || !strings.Contains(e.Test, "/")) {
			io.WriteString(p.w, b.String())
		}
		delete(p.buf, key)
	case "pass":
		delete(p.buf, key)
	}
}

// result is one finished test or package.
type result struct {
	label, pkg, test, action string
	elapsed                  time.Duration
}

// summarise prints the slowest tests, each package's wall time, and the
// counts, from event files.
func summarise(w io.Writer, files []string, top int) error {
	var tests, pkgs []result
	for _, f := range files {
		label := strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(string(b), "\n") {
			var e event
			if json.Unmarshal([]byte(line), &e) != nil {
				continue
			}
			if e.Action != "pass" && e.Action != "fail" && e.Action != "skip" {
				continue
			}
			r := result{label: label, pkg: e.Package, test: e.Test, action: e.Action, elapsed: time.Duration(e.Elapsed * float64(time.Second))}
			if e.Test == "" {
				pkgs = append(pkgs, r)
			} else {
				tests = append(tests, r)
			}
		}
	}
	var passed, failed, skipped int
	var slow []result
	for _, r := range tests {
		if strings.Contains(r.test, "/") {
			continue // subtests are counted and timed within their parent
		}
		switch r.action {
		case "pass":
			passed++
		case "fail":
			failed++
		case "skip":
			skipped++
		}
		slow = append(slow, r)
	}
	// A package that failed with no failed test (a build error, a panic
	// or timeout outside a test) is a failure too.
	failedTests := map[string]bool{}
	for _, r := range tests {
		if r.action == "fail" {
			failedTests[r.label+" "+r.pkg] = true
		}
	}
	for _, r := range pkgs {
		if r.action == "fail" && !failedTests[r.label+" "+r.pkg] {
			failed++
		}
	}
	sort.SliceStable(slow, func(i, j int) bool { return slow[i].elapsed > slow[j].elapsed })
	sort.SliceStable(pkgs, func(i, j int) bool { return pkgs[i].elapsed > pkgs[j].elapsed })
	fmt.Fprintf(w, "\nslowest tests:\n")
	for i, r := range slow {
		if i == top {
			break
		}
		fmt.Fprintf(w, "  %8s  %s %s\n", r.elapsed.Round(100*time.Millisecond), strings.TrimPrefix(r.pkg, "github.com/gameday-sre/gameday/"), r.test)
	}
	fmt.Fprintf(w, "package wall times:\n")
	for _, r := range pkgs {
		if r.elapsed < time.Second && r.action != "fail" {
			continue
		}
		fmt.Fprintf(w, "  %8s  %s  %s %s\n", r.elapsed.Round(100*time.Millisecond), r.label, strings.TrimPrefix(r.pkg, "github.com/gameday-sre/gameday/"), r.action)
	}
	fmt.Fprintf(w, "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return nil
}
