package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/internal/app/selftest"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
)

// testFlags are the flags of `gameday test`.
type testFlags struct {
	idle     time.Duration
	grace    time.Duration
	emulator string
	infra    string
	parallel int
	only     string // one check, in this process (how parallel games run)
	variants int
	seed     uint64
	// Suite mode: every scenario headless against one detector.
	detector string
	timeout  time.Duration
	budget   time.Duration
	maxFP    int
	junit    string
	output   string
}

func newTestCmd(g *globals) *cobra.Command {
	var o testFlags
	cmd := &cobra.Command{
		Use:   "test [NAME|PATH...]",
		Short: "Prove scenarios, or measure a detector over the library (--detector)",
		Long: `Prove that scenarios are solvable and that their checks are right. For each
scenario (the built-in library when none is given):

  - solution: a run on autopilot achieves every objective and scores full
    marks;
  - idle: a run where nobody acts, for --idle, does not recover;
  - wrong-fix:ID, one game per entry of spec.wrongFixes: its steps are
    played on autopilot instead of the solution, the game goes on for the
    wrong fix's observe time, and what it expects must follow (the
    penalties applied, the objectives left unachieved, the outcome, the
    score). A step that fails fails the check;
  - memorised, for a scenario with parameters: the variant is played with
    the reference solution of another variant (the next seed that
    chose differently for every parameter, and whose solution reads
    differently), word for word, and must not score full marks: a
    memorised answer must not solve a new game.

A control scenario (spec.control: true, a healthy cluster) is proven
differently: its solution and its idle run both score full marks, and a
third game, false-alarm, claims one of its wrong causes and must lose
points for it.

A scenario with parameters is played in its canonical variant (seed 0),
in the variant of --seed N, or with --variants K in the variants of seeds
1 to K, every check of each: the reference solution, written against the
parameters, must solve every variant, and the idle game and wrong fixes
must hold in each. Results name the seed ("NAME seed=3 solution").

Loading a scenario already checks that every hint, penalty, objective and
condition refers to something that exists; a scenario that fails that is
refused with exit code 2 before anything runs.

With --detector CMD, gameday test is a detection suite instead: each
scenario runs headless (as gameday run --headless) with CMD as the
detector, and a table on stdout says per scenario whether the incident was
detected, the time to the first right claim (TTD), whether the root cause
was named, and the true and false positives (-o json for CI history).
--junit writes one JUnit file for all scenarios. With --variants K, each
variant has its row (and JUnit suite), and each scenario a total row: how
many variants were detected and had their root cause named, the mean
TTD, and the summed positives.

--parallel N plays N games at once, each in a gameday process of its own
(an embedded environment needs its process); their progress lines on
stderr are prefixed with the scenario and the check. A game needs about
600 MB; CPU is what limits how many fit.

Exit code 5 when any check fails, any scenario is not detected or has
more false positives than --max-false-positives; 6 when every scenario
was detected but one took longer than --detection-budget. Every failure
says what was observed.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.detector == "" && (o.budget > 0 || o.maxFP >= 0 || o.junit != "" || cmd.Flags().Changed("output") || cmd.Flags().Changed("timeout")) {
				return errkind.Errorf(errkind.Invalid, "--timeout, --detection-budget, --max-false-positives, --junit and --output go with --detector")
			}
			if err := outputFormat(o.output, "table", "json"); err != nil {
				return err
			}
			root, err := rundir.Root()
			if err != nil {
				return errkind.E(errkind.Invalid, err)
			}
			var seed *uint64
			if cmd.Flags().Changed("seed") {
				seed = &o.seed
			}
			return selftest.Run(cmd.Context(), testHost(g, root, o), args, selftest.Options{
				Idle: o.idle, Grace: o.grace, Parallel: o.parallel, Only: o.only, Detector: o.detector, Timeout: o.timeout,
				Budget: o.budget, MaxFalsePositives: falsePositiveLimit(o.maxFP), JUnit: o.junit, Output: o.output,
				Variants: o.variants, Seed: seed,
			})
		},
	}
	cmd.Flags().DurationVar(&o.idle, "idle", 30*time.Second, "how long the run where nobody acts lasts")
	cmd.Flags().DurationVar(&o.grace, "grace", 90*time.Second, "how long to wait for objectives after the solution's last command")
	cmd.Flags().StringVar(&o.emulator, "aws", "", "AWS emulator: auto, moto, moto-container or localstack (default: the config file's, else auto)")
	cmd.Flags().StringVar(&o.infra, "infra", "", "backend: embedded or kind; default: each scenario's environment.infra, else the config file's, else embedded")
	cmd.Flags().IntVar(&o.parallel, "parallel", 1, "how many games to play at once, each in its own process")
	cmd.Flags().IntVar(&o.variants, "variants", 0, "play the variants of seeds 1 to N of every scenario with parameters (default: the canonical one, seed 0)")
	cmd.Flags().Uint64Var(&o.seed, "seed", 0, "play the variant of this seed of every scenario with parameters")
	cmd.Flags().StringVar(&o.detector, "detector", "", "a detector command: run every scenario headless against it and report detection (see gameday run --detector)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 3*time.Minute, "with --detector: each scenario's time limit")
	cmd.Flags().DurationVar(&o.budget, "detection-budget", 0, "with --detector: fail (exit 6) a scenario detected later than this")
	cmd.Flags().IntVar(&o.maxFP, "max-false-positives", -1, "with --detector: fail (exit 5) a scenario with more wrong claims than this")
	cmd.Flags().StringVar(&o.junit, "junit", "", "with --detector: write one JUnit XML file for all scenarios")
	cmd.Flags().StringVarP(&o.output, "output", "o", "table", "with --detector: table or json")
	cmd.Flags().StringVar(&o.only, "only", "", "play one check (solution, idle, false-alarm, wrong-fix:ID or detect) of one scenario: how --parallel runs each game")
	_ = cmd.Flags().MarkHidden("only")
	return cmd
}

// testHost is how gameday test plays here: each game on the backend and
// AWS emulator the flags, the config file and the scenario choose, and a
// parallel game in a child gameday test --only.
func testHost(g *globals, root string, o testFlags) selftest.Host {
	return selftest.Host{
		Out: g.streams.Out, ErrOut: g.streams.ErrOut,
		Config: func(ctx context.Context, s *scenarios.Scenario) (runner.Config, error) {
			infra, emulator, err := chooseInfra(ctx, o.infra, o.emulator, s)
			if err != nil {
				return runner.Config{}, err
			}
			return runner.Config{Provision: provision(g, infra, emulator), Root: root, Log: g.log, Progress: progress(g.streams.ErrOut)}, nil
		},
		Child: func(ref, check string, seed *uint64) *exec.Cmd {
			exe, err := os.Executable()
			if err != nil {
				exe = os.Args[0]
			}
			args := []string{"test", ref, "--only", check, "--idle", o.idle.String(), "--grace", o.grace.String()}
			if seed != nil {
				args = append(args, "--seed", strconv.FormatUint(*seed, 10))
			}
			if g.verbose {
				args = append(args, "-v")
			}
			if o.emulator != "" {
				args = append(args, "--aws", o.emulator)
			}
			if o.infra != "" {
				args = append(args, "--infra", o.infra)
			}
			if o.detector != "" {
				args = append(args, "--detector", o.detector, "--timeout", o.timeout.String(), "-o", "json",
					"--detection-budget", o.budget.String(), fmt.Sprintf("--max-false-positives=%d", o.maxFP))
			}
			return exec.Command(exe, args...)
		},
	}
}
