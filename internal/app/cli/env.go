package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/runner"
	"github.com/gameday-sre/gameday/scenarios"
)

func newEnvCmd(g *globals) *cobra.Command {
	var as string
	var rc runChoice
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print export lines to reach the live environment, or start a sandbox one",
		Long: `With no subcommand, print the shell export lines (KUBECONFIG, ...) of the
live environment, for use as: eval "$(gameday env)". With several live
runs, name one with --run ID (or GAMEDAY_RUN).

--as NAME prints a named responder's (gameday run --responders): their own
Kubernetes and IAM user, and their own control API token, so that what they
do is theirs on the timeline.

"gameday env up" starts a sandbox environment without a scenario;
"gameday env down" stops it.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := rc.dir()
			if err != nil {
				return err
			}
			env, err := d.ReadEnv()
			if as != "" {
				env, err = d.ReadResponderEnv(as)
				if errors.Is(err, fs.ErrNotExist) {
					names := d.Responders()
					if len(names) == 0 {
						return errkind.Errorf(errkind.Invalid, "--as %s: run %s has no named responders (start it with --responders)", as, d.ID)
					}
					return errkind.Errorf(errkind.Invalid, "--as %s: run %s has no responder %q; it has %s", as, d.ID, as, strings.Join(names, ", "))
				}
			}
			if err != nil {
				return errkind.E(errkind.Infra, err)
			}
			_, err = fmt.Fprint(g.streams.Out, env)
			return err
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "a named responder's export lines (gameday run --responders)")
	rc.register(cmd)
	cmd.AddCommand(newEnvUpCmd(g), newEnvDownCmd(g))
	return cmd
}

// liveRun finds the live run with the given id; without one, the only
// live run (with several, it names them and asks which).
func liveRun(id string) (rundir.Dir, error) {
	root, err := rundir.Root()
	if err != nil {
		return rundir.Dir{}, errkind.E(errkind.Invalid, err)
	}
	live, err := rundir.Live(root)
	if err != nil {
		return rundir.Dir{}, errkind.E(errkind.Infra, err)
	}
	if id == "" && len(live) > 1 {
		ids := make([]string, len(live))
		for i, d := range live {
			ids[i] = d.ID
		}
		return rundir.Dir{}, errkind.Errorf(errkind.Invalid, "%d live runs under %s (%s): name one with --run ID or GAMEDAY_RUN", len(live), root, strings.Join(ids, ", "))
	}
	for i := len(live) - 1; i >= 0; i-- {
		if id == "" || live[i].ID == id {
			return live[i], nil
		}
	}
	if id != "" {
		return rundir.Dir{}, errkind.Errorf(errkind.Invalid, "no live run %q under %s", id, root)
	}
	return rundir.Dir{}, errkind.Errorf(errkind.Invalid, "no live environment under %s: start one with `gameday env up` or `gameday run`", root)
}

// parseNodeGroups parses "name=size[:instance-type],..." into a sandbox's
// node groups.
func parseNodeGroups(spec string) ([]scenarios.SandboxGroup, error) {
	var out []scenarios.SandboxGroup
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		name, rest, ok := strings.Cut(item, "=")
		if !ok || name == "" {
			return nil, errkind.Errorf(errkind.Invalid, "--node-groups: %q is not name=size[:instance-type]", item)
		}
		sizeText, itype, _ := strings.Cut(rest, ":")
		size, err := strconv.Atoi(sizeText)
		if err != nil {
			return nil, errkind.Errorf(errkind.Invalid, "--node-groups: %q: size must be a whole number from 1 to %d", item, eks.MaxNodeGroupSize)
		}
		if err := eks.CheckSize(size, 1); err != nil {
			return nil, errkind.Errorf(errkind.Invalid, "--node-groups: %q: %v", item, err)
		}
		out = append(out, scenarios.SandboxGroup{Name: name, Size: size, InstanceType: itype})
	}
	return out, nil
}

// envUpOptions are the flags of `gameday env up`.
type envUpOptions struct {
	groups, region, scenario, emulator, infra string
	// seed is --seed, nil when not given.
	seed *uint64
}

func newEnvUpCmd(g *globals) *cobra.Command {
	var o envUpOptions
	var seed uint64
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a sandbox environment and keep it up until Ctrl-C or `gameday env down`",
		Long: `Start a sandbox environment and keep it up until Ctrl-C or ` + "`gameday env down`" + `.

Without --scenario: a sandbox, a bare cluster with the --node-groups
given (each with an EKS node role) and its AWS account.
With --scenario: the scenario's environment (the AWS account with its IAM
roles, EKS node groups and ECR images; the cluster with the initial node
groups, whose image pulls the node roles decide), without its workloads or
fault; for a scenario with parameters, the variant of --seed (default:
gameday picks one, and says which). Prints the export lines to use it; they are also in the run
directory's env.sh and printed again by ` + "`gameday env`" + `.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("seed") {
				if o.scenario == "" {
					return errkind.Errorf(errkind.Invalid, "--seed needs --scenario")
				}
				o.seed = &seed
			}
			return envUp(cmd.Context(), g, o)
		},
	}
	cmd.Flags().Uint64Var(&seed, "seed", 0, "with --scenario, for a scenario with parameters: the variant of this seed")
	cmd.Flags().StringVar(&o.groups, "node-groups", "ng-general=2", "node groups as name=size[:instance-type],... (without --scenario)")
	cmd.Flags().StringVar(&o.region, "region", "us-east-1", "AWS region of the nodes (without --scenario)")
	cmd.Flags().StringVar(&o.scenario, "scenario", "", "build this scenario's environment (NAME or PATH)")
	cmd.Flags().StringVar(&o.emulator, "aws", "", "AWS emulator: auto, moto, moto-container or localstack (default: the config file's, else auto)")
	cmd.Flags().StringVar(&o.infra, "infra", "", "backend: embedded or kind (default: the scenario's environment.infra, else the config file's, else embedded)")
	return cmd
}

func envUp(ctx context.Context, g *globals, o envUpOptions) error {
	var s *scenarios.Scenario
	var err error
	if o.scenario != "" {
		s, err = resolveVariant(g, o.scenario, o.seed)
	} else {
		var groups []scenarios.SandboxGroup
		if groups, err = parseNodeGroups(o.groups); err == nil {
			s, err = scenarios.Sandbox(o.region, groups)
		}
	}
	if err != nil {
		return err
	}
	infra, emulator, err := chooseInfra(ctx, o.infra, o.emulator, s)
	if err != nil {
		return err
	}
	root, err := rundir.Root()
	if err != nil {
		return errkind.E(errkind.Invalid, err)
	}
	d, err := rundir.Create(root, rundir.NewID())
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	t0 := time.Now()
	on := ""
	if infra == scenarios.InfraKind {
		on = " on kind"
	}
	what := "the environment of " + s.Metadata.Name
	if o.scenario == "" {
		what = fmt.Sprintf("a sandbox (%d node groups)", len(s.Spec.Environment.NodeGroups))
	}
	fmt.Fprintf(g.streams.ErrOut, "starting %s%s as run %s...\n", what, on, d.ID)
	// The same composition as a game's: the AWS plane, the registry and
	// the cluster on the chosen backend.
	e, stop, err := provision(g, infra, emulator)(ctx, s, d, func(runner.AWSCall) {})
	var env, groups []string
	if err == nil {
		env = e.OperatorEnv()
		for _, ng := range s.Spec.Environment.NodeGroups {
			if !ng.Deferred {
				groups = append(groups, ng.Name)
			}
		}
		slices.Sort(groups)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		fmt.Fprintln(g.streams.ErrOut, "stopping environment...")
		if serr := stop(stopCtx); serr != nil {
			fmt.Fprintf(g.streams.ErrOut, "gameday: stop environment: %v\n", serr)
		} else {
			fmt.Fprintf(g.streams.ErrOut, "environment %s stopped; its logs stay in %s\n", d.ID, d.Path)
		}
	}()
	if err != nil {
		return err
	}
	if err := d.WriteEnv(env); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	unmark, err := d.MarkLive()
	defer unmark()
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	fmt.Fprintf(g.streams.ErrOut, "environment %s up in %s: node groups %s; run dir %s\n",
		d.ID, time.Since(t0).Round(100*time.Millisecond), strings.Join(groups, ", "), d.Path)
	exports, err := d.ReadEnv()
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	fmt.Fprint(g.streams.Out, exports)
	fmt.Fprintln(g.streams.ErrOut, "press Ctrl-C or run `gameday env down` to stop")
	<-ctx.Done()
	return nil
}

func newEnvDownCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "down [RUN_ID]",
		Short: "Stop a sandbox environment started by `gameday env up`",
		Args:  usageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			d, err := liveRun(id)
			if err != nil {
				return err
			}
			pid := d.Pid()
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				return errkind.E(errkind.Infra, fmt.Errorf("signal run %s (pid %d): %w", d.ID, pid, err))
			}
			fmt.Fprintf(g.streams.ErrOut, "stopping %s (pid %d)...\n", d.ID, pid)
			deadline := time.Now().Add(timeout)
			for d.Pid() != 0 {
				if time.Now().After(deadline) {
					return errkind.Errorf(errkind.Infra, "run %s still up after %s", d.ID, timeout)
				}
				select {
				case <-cmd.Context().Done():
					return errkind.E(errkind.Aborted, cmd.Context().Err())
				case <-time.After(100 * time.Millisecond):
				}
			}
			fmt.Fprintf(g.streams.ErrOut, "stopped %s\n", d.ID)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the environment to stop")
	return cmd
}
