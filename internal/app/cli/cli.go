// Package cli is gameday's command tree. Commands only turn flags into
// options for the library packages; exit codes are decided in one place,
// ExitCode.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gameday-sre/gameday/internal/app/exitcode"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// Exit codes, as package exitcode decides them. They are part of
// gameday's interface: scripts and CI branch on them, so they never
// change meaning.
const (
	ExitOK            = exitcode.OK
	ExitInternal      = exitcode.Internal
	ExitInvalid       = exitcode.Invalid
	ExitInfra         = exitcode.Infra
	ExitNotReproduced = exitcode.NotReproduced
	ExitFailed        = exitcode.Failed
	ExitOverBudget    = exitcode.OverBudget
	ExitAborted       = exitcode.Aborted
)

// ExitCode maps an error to the process exit code (exitcode.Of).
func ExitCode(err error) int { return exitcode.Of(err) }

// cobra merges pflag's global flag set into every command's flags, and
// the Kubernetes components linked into gameday register flags there
// when their packages load (component-base's --version). gameday reads
// only its own flags, so the global set starts empty once they have
// loaded: this package's init runs after theirs.
func init() { pflag.CommandLine = pflag.NewFlagSet("gameday", pflag.ContinueOnError) }

// Streams are the process's standard streams. Stdout carries data
// (reports, JSON); Stderr carries narration (progress, logs, errors).
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// globals are the flags every command has.
type globals struct {
	verbose bool
	streams Streams
	log     *slog.Logger
}

// Run executes gameday with args (without the program name) and returns
// the exit code. Cancel ctx to interrupt a running command.
func Run(ctx context.Context, args []string, streams Streams) int {
	g := &globals{streams: streams}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	err := root.ExecuteContext(ctx)
	if err != nil && errkind.Of(err) == errkind.Internal && strings.HasPrefix(err.Error(), "unknown command") {
		err = errkind.E(errkind.Invalid, err) // cobra's own usage error
	}
	code := ExitCode(err)
	if err != nil {
		var silent silentError
		if !errors.As(err, &silent) {
			fmt.Fprintf(streams.ErrOut, "gameday: %v\n", err)
		}
	}
	return code
}

// silentError carries an exit status for an outcome the command has
// already reported in full.
type silentError struct{ err error }

func (e silentError) Error() string { return e.err.Error() }
func (e silentError) Unwrap() error { return e.err }

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "gameday",
		Short: "Kubernetes and AWS incident game days: inject a real incident, score the response",
		Long: `gameday stands up a Kubernetes cluster and an emulated AWS account from a
YAML scenario, injects a real production incident, and scores how a person
(or a detection tool under test) detects it, finds the root cause, fixes it
and restarts the rollout.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			level := slog.LevelInfo
			if g.verbose {
				level = slog.LevelDebug
			}
			g.log = slog.New(slog.NewTextHandler(g.streams.ErrOut, &slog.HandlerOptions{Level: level}))
		},
	}
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "debug output on stderr")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return errkind.E(errkind.Invalid, err)
	})
	root.AddCommand(
		newListCmd(g),
		newDescribeCmd(g),
		newValidateCmd(g),
		newVersionCmd(g),
		newSchemaCmd(g),
		newEnvCmd(g),
		newRunCmd(g),
		newStatusCmd(g),
		newBoardCmd(g),
		newHintCmd(g),
		newCausesCmd(g),
		newDiagnoseCmd(g),
		newGiveUpCmd(g),
		newReportCmd(g),
		newTestCmd(g),
		newCleanupCmd(g),
		newImagesCmd(g),
	)
	return root
}

// usageArgs wraps a cobra positional-argument check so its failure is an
// Invalid error.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return errkind.E(errkind.Invalid, check(cmd, args))
	}
}

// outputFormat validates an --output value.
// writeJSON writes v as indented JSON, as every -o json does.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func outputFormat(v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return errkind.Errorf(errkind.Invalid, "unknown --output %q (want one of %v)", v, allowed)
}
