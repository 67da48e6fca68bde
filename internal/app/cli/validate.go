package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

func newValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [PATH...]",
		Short: "Check scenario files and report every problem",
		Long: `Check scenario files and report every problem at once, one per line, as
file:line:col: field.path: message. A directory stands for every
scenario.yaml below it. With no PATH the built-in library is checked.

Problems go to stdout; the exit code is 2 when any file has a problem.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			type target struct {
				label string
				load  func() (*scenarios.Scenario, error)
			}
			var targets []target
			if len(args) == 0 {
				for _, n := range scenarios.BuiltinNames() {
					targets = append(targets, target{n, func() (*scenarios.Scenario, error) { return scenarios.LoadBuiltin(n) }})
				}
			} else {
				files, err := scenarios.Discover(args...)
				if err != nil {
					return err
				}
				for _, f := range files {
					targets = append(targets, target{f, func() (*scenarios.Scenario, error) { return scenarios.LoadFile(f) }})
				}
			}
			bad, problems := 0, 0
			for _, t := range targets {
				s, err := t.load()
				if err == nil {
					fmt.Fprintf(g.streams.ErrOut, "ok: %s (%s)\n", t.label, s.Metadata.Name)
					continue
				}
				bad++
				if ve, ok := errors.AsType[*scenarios.ValidationError](err); ok {
					for _, fe := range ve.Errors {
						fmt.Fprintln(g.streams.Out, fe.Error())
					}
					problems += len(ve.Errors)
					continue
				}
				fmt.Fprintf(g.streams.Out, "%v\n", err)
				problems++
			}
			if bad > 0 {
				err := errkind.Errorf(errkind.Invalid, "%d problem(s) in %d of %d file(s)", problems, bad, len(targets))
				fmt.Fprintf(g.streams.ErrOut, "gameday: %v\n", err)
				return silentError{err}
			}
			return nil
		},
	}
}
