package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/kind"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
)

func newCleanupCmd(g *globals) *cobra.Command {
	var dryRun, all bool
	cmd := &cobra.Command{
		Use:   "cleanup [--dry-run] [--all]",
		Short: "Remove what crashed runs left behind",
		Long: `Remove what crashed runs left behind: run directories whose gameday process
is gone without finishing, temporary directories of this GAMEDAY_HOME's
runs that are not live, and, when a Docker engine answers, kind clusters
named gameday-<run> and containers labelled gameday.dev/run-id of those
runs. Live runs and
finished runs (with their journals and reports) are kept. Clusters and
containers of runs this GAMEDAY_HOME does not know (another user's or
another GAMEDAY_HOME's) are kept and listed on stderr; --all removes them
too. Each removed thing is printed on stdout; --dry-run only prints.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := rundir.Root()
			if err != nil {
				return errkind.E(errkind.Invalid, err)
			}
			// Docker leftovers are found first: a dead run is known by its
			// directory, which the run-directory clean-up removes.
			docker, err := dockerLeftovers(cmd.Context(), g, root, all)
			if err != nil {
				return err
			}
			orphans, err := rundir.Orphans(root)
			if err != nil {
				return errkind.E(errkind.Infra, err)
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, l := range docker {
				if !dryRun {
					if err := l.Remove(cmd.Context()); err != nil {
						return errkind.E(errkind.Infra, err)
					}
				}
				fmt.Fprintf(g.streams.Out, "%s %s %s  (run %s is not live)\n", verb, l.What, l.Name, l.RunID)
			}
			for _, o := range orphans {
				if !dryRun {
					if err := os.RemoveAll(o.Path); err != nil {
						return errkind.E(errkind.Infra, fmt.Errorf("remove %s: %w", o.Path, err))
					}
				}
				fmt.Fprintf(g.streams.Out, "%s %s  (%s)\n", verb, o.Path, o.Reason)
			}
			if len(orphans)+len(docker) == 0 {
				fmt.Fprintln(g.streams.ErrOut, "nothing to clean up")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed, remove nothing")
	cmd.Flags().BoolVar(&all, "all", false, "also remove gameday kind clusters and containers of runs this GAMEDAY_HOME does not know")
	return cmd
}

// dockerLeftovers finds the kind clusters and containers of dead runs
// (and, with all, of unknown runs), and says on stderr which it keeps.
// Without a Docker engine there is nothing of ours in Docker to find: it
// says so and finds nothing.
func dockerLeftovers(ctx context.Context, g *globals, root string, all bool) ([]kind.Leftover, error) {
	if err := kind.CheckEngine(ctx); err != nil {
		fmt.Fprintf(g.streams.ErrOut, "kind clusters and containers not checked: %v\n", err)
		return nil, nil
	}
	runs, err := rundir.List(root)
	if err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	live := make(map[string]bool, len(runs)) // known runs: live or not
	for _, d := range runs {
		live[d.ID] = d.Pid() != 0
	}
	state := func(id string) kind.RunState {
		isLive, known := live[id]
		switch {
		case !known:
			return kind.RunUnknown
		case isLive:
			return kind.RunLive
		}
		return kind.RunDead
	}
	eng, err := dockerhost.Connect()
	if err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	defer eng.Close()
	remove, kept, err := kind.Leftovers(ctx, kind.NewProvider(g.log), eng, state, all)
	if err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	for _, l := range kept {
		fmt.Fprintf(g.streams.ErrOut, "kept %s %s: run %s is not in %s (--all removes it)\n", l.What, l.Name, l.RunID, root)
	}
	return remove, nil
}
