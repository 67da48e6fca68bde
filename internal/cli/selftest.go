package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/internal/errkind"
	"github.com/gameday-sre/gameday/internal/rundir"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// selfTestOptions are the flags of `gameday test`.
type selfTestOptions struct {
	idle     time.Duration
	grace    time.Duration
	emulator string
	infra    string
}

func newTestCmd(g *globals) *cobra.Command {
	var o selfTestOptions
	cmd := &cobra.Command{
		Use:   "test [NAME|PATH...]",
		Short: "Prove scenarios: the reference solution scores full marks, doing nothing does not recover",
		Long: `Prove that scenarios are solvable and that their checks are right. For each
scenario (the built-in library when none is given):

  - solution: a run on autopilot achieves every objective and scores full
    marks;
  - idle: a run where nobody acts, for --idle, does not recover.

Loading a scenario already checks that every hint, penalty, objective and
condition refers to something that exists; a scenario that fails that is
refused with exit code 2 before anything runs.

Exit code 5 when any check fails; every failure says what was observed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []*scenarios.Scenario
			if len(args) == 0 {
				all, err := scenarios.Builtin()
				if err != nil {
					return err
				}
				list = all
			}
			for _, a := range args {
				s, err := scenarios.Resolve(a)
				if err != nil {
					return err
				}
				list = append(list, s)
			}
			root, err := rundir.Root()
			if err != nil {
				return errkind.E(errkind.Invalid, err)
			}
			failed := 0
			for _, s := range list {
				failed += selfTest(cmd.Context(), g, s, root, o)
			}
			if failed > 0 {
				return errkind.Errorf(errkind.Failed, "%d check(s) failed", failed)
			}
			fmt.Fprintf(g.streams.Out, "all %d scenario(s) pass\n", len(list))
			return nil
		},
	}
	cmd.Flags().DurationVar(&o.idle, "idle", 45*time.Second, "how long the run where nobody acts lasts")
	cmd.Flags().DurationVar(&o.grace, "grace", 90*time.Second, "how long to wait for objectives after the solution's last command")
	cmd.Flags().StringVar(&o.emulator, "aws", "", "AWS emulator: auto, moto, moto-container or localstack (default: the config file's, else auto)")
	cmd.Flags().StringVar(&o.infra, "infra", "", "backend: embedded or kind; default: each scenario's environment.infra, else the config file's, else embedded")
	return cmd
}

// selfTest runs the checks for one scenario and returns how many failed.
func selfTest(ctx context.Context, g *globals, s *scenarios.Scenario, root string, o selfTestOptions) int {
	out := g.streams.Out
	failed := 0
	report := func(check string, err error) {
		if err != nil {
			failed++
			fmt.Fprintf(out, "FAIL %s %s: %v\n", s.Metadata.Name, check, err)
			return
		}
		fmt.Fprintf(out, "ok   %s %s\n", s.Metadata.Name, check)
	}
	infra, emulator, err := chooseInfra(ctx, o.infra, o.emulator, s)
	if err != nil {
		report("backend", err)
		return failed
	}
	res, err := runner.Run(ctx, s, runner.Config{
		Provision: provision(g, infra, emulator), Root: root, Mode: runner.Autopilot,
		AutopilotGrace: o.grace, Log: g.log, Progress: progress(g.streams.ErrOut),
	})
	if ctx.Err() != nil {
		return failed + 1
	}
	report("solution", solutionVerdict(res, err))

	res, err = runner.Run(ctx, s, runner.Config{
		Provision: provision(g, infra, emulator), Root: root, TimeLimit: o.idle,
		Log: g.log, Progress: progress(g.streams.ErrOut),
	})
	if ctx.Err() != nil {
		return failed + 1
	}
	report("idle", idleVerdict(res, err))
	return failed
}

func solutionVerdict(res runner.Result, err error) error {
	if errkind.Of(err) == errkind.NotReproduced || errkind.Of(err) == errkind.Infra {
		return err
	}
	r := res.Score
	var missed []string
	for _, o := range r.Objectives {
		if !o.Achieved {
			missed = append(missed, o.ID)
		}
	}
	if len(missed) > 0 {
		return fmt.Errorf("the reference solution does not achieve %s (outcome %s; run %s)", strings.Join(missed, ", "), res.Journal.Outcome, res.Dir.Path)
	}
	if r.Total != r.Max {
		return fmt.Errorf("the reference solution scores %d of %d: %s (run %s)", r.Total, r.Max, strings.Join(lost(r), "; "), res.Dir.Path)
	}
	return nil
}

func lost(r verify.Result) []string {
	var out []string
	for _, l := range r.Explanation {
		if strings.HasPrefix(l, "-") {
			out = append(out, l)
		}
	}
	return out
}

func idleVerdict(res runner.Result, err error) error {
	if k := errkind.Of(err); k == errkind.NotReproduced || k == errkind.Infra || k == errkind.Aborted {
		return err
	}
	var recovered []string
	for _, o := range res.Score.Objectives {
		if o.Achieved && slices.Contains([]string{scenarios.CategoryRecover, scenarios.CategoryFix}, o.Category) {
			recovered = append(recovered, o.ID)
		}
	}
	if len(recovered) > 0 {
		return fmt.Errorf("with nobody acting, %s were achieved: the incident heals itself (run %s)", strings.Join(recovered, ", "), res.Dir.Path)
	}
	return nil
}
