package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gameday-sre/gameday/infra/aws"
	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/infra/operator"
	"github.com/gameday-sre/gameday/internal/app/config"
	"github.com/gameday-sre/gameday/internal/domain/report"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

var _ runner.Environment = (*environment.Env)(nil)

// runOptions are the flags of `gameday run`.
type runOptions struct {
	seed       uint64
	autopilot  bool
	keep       bool
	timeLimit  time.Duration
	emulator   string
	headless   bool
	solve      bool
	detector   string
	budget     time.Duration
	maxFP      int
	junit      string
	infra      string
	responders []string
}

// falsePositiveLimit is a --max-false-positives value as the runner and
// the JUnit writer take it: nil when not given (negative).
func falsePositiveLimit(n int) *int {
	if n < 0 {
		return nil
	}
	return &n
}

func newRunCmd(g *globals) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run NAME|PATH",
		Short: "Play a scenario: build the environment, inject the incident, score the response",
		Long: `Play a scenario. gameday builds the environment, runs the setup and the
fault, waits until the symptoms are real, then hands over: it prints the
briefing and how to connect, and scores what happens until every objective
is achieved, the time limit passes, you give up (gameday give-up) or press
Ctrl-C. The environment is torn down at the end unless --keep is given.

A team game day: --responders alice,bob gives each responder a Kubernetes
user and an IAM user of their own name (with the operator's rights) and a
control API token; each runs eval "$(gameday env --as NAME)" in their own
terminal, and the timeline, the board and the report say who did what. At
handover the run also prints the live board's link, for everyone, and the
facilitator's link, with spoilers.

The terminal summary goes to stdout; journal.json, report.md and
report.html are written to the run directory.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := operator.CheckResponders(o.responders); err != nil {
				return errkind.Errorf(errkind.Invalid, "--responders: %v", err)
			}
			var seed *uint64
			if cmd.Flags().Changed("seed") {
				seed = &o.seed
			}
			s, err := resolveVariant(g, args[0], seed)
			if err != nil {
				return err
			}
			infra, emulator, err := chooseInfra(cmd.Context(), o.infra, o.emulator, s)
			if err != nil {
				return err
			}
			root, err := rundir.Root()
			if err != nil {
				return errkind.E(errkind.Invalid, err)
			}
			cfg := runner.Config{
				Provision:  provision(g, infra, emulator),
				Root:       root,
				TimeLimit:  o.timeLimit,
				Keep:       o.keep,
				Responders: o.responders,
				Log:        g.log,
				Out:        g.streams.ErrOut,
				Progress:   progress(g.streams.ErrOut),
			}
			if o.autopilot || o.solve {
				cfg.Mode = runner.Autopilot
			}
			if o.solve && !o.headless {
				return errkind.Errorf(errkind.Invalid, "--solve goes with --headless")
			}
			if (o.detector != "" || o.budget > 0 || o.maxFP >= 0) && !o.headless {
				return errkind.Errorf(errkind.Invalid, "--detector, --detection-budget and --max-false-positives go with --headless")
			}
			cfg.Headless, cfg.Solve, cfg.Detector, cfg.DetectionBudget, cfg.MaxFalsePositives = o.headless, o.solve, o.detector, o.budget, falsePositiveLimit(o.maxFP)
			cfg.OnEnd = func(res runner.Result) {
				reportRun(g, res, o.keep)
				if o.junit != "" {
					if err := writeJUnit(o.junit, s, res, o); err != nil {
						fmt.Fprintf(g.streams.ErrOut, "gameday: write JUnit: %v\n", err)
					}
				}
			}
			_, err = runner.Run(cmd.Context(), s, cfg)
			return err
		},
	}
	cmd.Flags().Uint64Var(&o.seed, "seed", 0, "for a scenario with parameters: play the variant of this seed (default: gameday picks one, and says which)")
	cmd.Flags().BoolVar(&o.autopilot, "autopilot", false, "play the scenario's reference solution with the real kubectl and aws")
	cmd.Flags().BoolVar(&o.keep, "keep", false, "leave the environment up after the run")
	cmd.Flags().StringSliceVar(&o.responders, "responders", nil, "a team game day: the responders' names (alice,bob), each with their own identity (gameday env --as NAME)")
	cmd.Flags().DurationVar(&o.timeLimit, "time-limit", 0, "override the scenario's time limit")
	cmd.Flags().StringVar(&o.emulator, "aws", "", "AWS emulator: auto, moto, moto-container or localstack (default: the config file's, else auto)")
	cmd.Flags().BoolVar(&o.headless, "headless", false, "for detection tooling: end when the incident is detected (or at the time limit)")
	cmd.Flags().DurationVar(&o.timeLimit, "timeout", 0, "alias of --time-limit, for headless runs")
	cmd.Flags().StringVar(&o.detector, "detector", "", "with --headless: a shell command to run for the length of the run, with KUBECONFIG, AWS_*, GAMEDAY_FINDINGS_URL, GAMEDAY_ALERTMANAGER_URL and GAMEDAY_TOKEN set")
	cmd.Flags().BoolVar(&o.solve, "solve", false, "with --headless: after detection, play the reference solution and score remediation too")
	cmd.Flags().DurationVar(&o.budget, "detection-budget", 0, "with --headless: fail (exit 6) when detection takes longer")
	cmd.Flags().IntVar(&o.maxFP, "max-false-positives", -1, "with --headless: fail (exit 5) when more claims than this are wrong (alerts that match no cause included)")
	cmd.Flags().StringVar(&o.junit, "junit", "", "write a JUnit XML report to this file")
	cmd.Flags().StringVar(&o.infra, "infra", "", "backend: embedded (in-process, no Docker) or kind (needs a Docker engine); default: the scenario's environment.infra, else the config file's, else embedded")
	return cmd
}

// chooseInfra decides the backend (flag, scenario, config file, default)
// and the AWS emulator (flag, config file, auto), and fails fast, before
// anything is created, when the backend cannot run here.
func chooseInfra(ctx context.Context, flag, emulator string, s *scenarios.Scenario) (infra, emu string, err error) {
	path, err := config.Path()
	if err != nil {
		return "", "", errkind.E(errkind.Invalid, err)
	}
	file, err := config.Load(path)
	if err != nil {
		return "", "", err
	}
	if emulator == "" {
		emulator = file.AWS
	}
	c, err := config.ChooseInfra(flag, s, file, path)
	if err != nil {
		return "", "", err
	}
	if err := environment.Check(ctx, c.Value); err != nil {
		who := "--infra " + c.Value
		if c.Source != "--infra" {
			who = c.Value + " (chosen by " + c.Source + ")"
		}
		return "", "", errkind.Errorf(errkind.Infra, "%s %v; or use --infra embedded (no Docker needed)", who, err)
	}
	return c.Value, emulator, nil
}

// writeJUnit writes the run's JUnit report.
func writeJUnit(path string, s *scenarios.Scenario, res runner.Result, o runOptions) error {
	opt := report.JUnitOptions{DetectionBudget: verify.Seconds(o.budget.Seconds()), MaxFalsePositives: falsePositiveLimit(o.maxFP)}
	opt.DetectionObjective = s.DetectionObjective()
	if o.headless && !o.solve {
		opt.Attempted = map[string]bool{opt.DetectionObjective: true}
	}
	return writeFileWith(path, func(w io.Writer) error { return report.JUnit(w, res.Journal, res.Score, opt) })
}

// provision wires the chosen backend into the runner.
func provision(g *globals, infra, emulator string) runner.Provision {
	return func(ctx context.Context, s *scenarios.Scenario, d rundir.Dir, onCall func(runner.AWSCall)) (runner.Environment, func(context.Context) error, error) {
		opts := []cloud.Option{cloud.WithDir(d.Path), cloud.WithRunID(d.ID), cloud.WithLogger(g.log), cloud.WithEmulator(emulator),
			cloud.WithAWSCallLog(func(c aws.Call) {
				onCall(runner.AWSCall{Time: c.Time, User: c.User, Service: c.Service, Action: c.Action, Params: c.Params, Status: c.Status})
			})}
		e, stop, err := environment.Start(ctx, s, infra, opts...)
		if err != nil {
			return nil, stop, err
		}
		return e, stop, nil
	}
}

// progress prints one line per phase on stderr. While observing, a
// terminal gets a status line that ticks every second; other outputs get
// it every 30 seconds.
func progress(w io.Writer) func(phase, detail string) {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	t0 := time.Now()
	var lastTick time.Time
	ticking := false
	return func(phase, detail string) {
		if phase == runner.PhaseTick {
			switch {
			case tty:
				fmt.Fprintf(w, "\r\033[K[observe] %s", detail)
				ticking = true
			case time.Since(lastTick) >= 30*time.Second:
				fmt.Fprintf(w, "[observe] %s\n", detail)
				lastTick = time.Now()
			}
			return
		}
		line := fmt.Sprintf("[%6s] %s", time.Since(t0).Round(100*time.Millisecond), phase)
		if detail != "" {
			line += ": " + detail
		}
		if ticking {
			fmt.Fprint(w, "\r\033[K")
			ticking = false
		}
		fmt.Fprintln(w, line)
	}
}

// reportRun writes report.md and prints the summary as soon as a run ends.
func reportRun(g *globals, res runner.Result, keep bool) {
	if werr := writeReport(res.Dir, res.Journal, res.Score); werr != nil {
		fmt.Fprintf(g.streams.ErrOut, "gameday: write report: %v\n", werr)
	}
	if res.Journal.Handover.IsZero() {
		fmt.Fprintf(g.streams.ErrOut, "the run ended before handover (%s)\n", res.Journal.Outcome)
	} else if err := report.Summary(g.streams.Out, res.Journal, res.Score); err != nil {
		fmt.Fprintf(g.streams.ErrOut, "gameday: %v\n", err)
	}
	fmt.Fprintf(g.streams.ErrOut, "\njournal and report: %s\n", res.Dir.Path)
	if keep {
		fmt.Fprintf(g.streams.ErrOut, "--keep: the environment stays up (eval \"$(gameday env)\"); press Ctrl-C or run `kill %d` to tear it down\n", os.Getpid())
	}
}

// writeReport writes report.md and report.html into the run directory.
func writeReport(d rundir.Dir, j verify.Journal, r verify.Result) error {
	md := writeFileWith(filepath.Join(d.Path, "report.md"), func(w io.Writer) error { return report.Markdown(w, j, r) })
	page := writeFileWith(filepath.Join(d.Path, "report.html"), func(w io.Writer) error { return report.HTML(w, j, r) })
	return errors.Join(md, page)
}

// writeFileWith creates path and writes it with write.
func writeFileWith(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	werr := write(f)
	return errors.Join(werr, f.Close())
}

// resolveVariant loads the scenario ref names and, when it has
// parameters, the variant of seed: of a seed gameday picks when seed is
// nil, which the narration names so that the game can be replayed (a
// seed given is the caller's to know).
func resolveVariant(g *globals, ref string, seed *uint64) (*scenarios.Scenario, error) {
	s, err := scenarios.Resolve(ref)
	if err != nil {
		return nil, err
	}
	if len(s.Spec.Parameters) == 0 {
		if seed != nil {
			g.log.Warn("the scenario has no parameters: --seed changes nothing", "scenario", s.Metadata.Name)
		}
		return s, nil
	}
	if seed != nil {
		return s.WithSeed(*seed)
	}
	picked := rand.Uint64N(1_000_000)
	v, err := s.WithSeed(picked)
	if err != nil {
		return nil, err
	}
	g.log.Info(fmt.Sprintf("playing the variant of seed %d (replay it with --seed %d)", picked, picked), "scenario", s.Metadata.Name)
	return v, nil
}
