package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/kind"
	"github.com/gameday-sre/gameday/internal/errkind"
	"github.com/gameday-sre/gameday/internal/rundir"
)

func newCleanupCmd(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "cleanup [--dry-run]",
		Short: "Remove what crashed runs left behind",
		Long: `Remove what crashed runs left behind: run directories whose gameday process
is gone without finishing, temporary directories of runs that are not
live, and, when a Docker engine answers, kind clusters named gameday-<run>
and containers labelled gameday.dev/run-id whose run is not live in this
GAMEDAY_HOME. Live runs and finished runs (with their journals and
reports) are kept. Each removed thing is printed on stdout; --dry-run
only prints.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			root, err := rundir.Root()
			if err != nil {
				return errkind.E(errkind.Invalid, err)
			}
			orphans, err := rundir.Orphans(root)
			if err != nil {
				return errkind.E(errkind.Infra, err)
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, o := range orphans {
				if !dryRun {
					if err := os.RemoveAll(o.Path); err != nil {
						return errkind.E(errkind.Infra, fmt.Errorf("remove %s: %w", o.Path, err))
					}
				}
				fmt.Fprintf(g.streams.Out, "%s %s  (%s)\n", verb, o.Path, o.Reason)
			}
			n, err := cleanupDocker(cmd.Context(), g, root, dryRun, verb)
			if err != nil {
				return err
			}
			if len(orphans)+n == 0 {
				fmt.Fprintln(g.streams.ErrOut, "nothing to clean up")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed, remove nothing")
	return cmd
}

// cleanupDocker removes the kind clusters and containers of runs that are
// not live, and returns how many it found. Without a Docker engine there
// is nothing of ours in Docker to find: it says so and finds nothing.
func cleanupDocker(ctx context.Context, g *globals, root string, dryRun bool, verb string) (int, error) {
	if err := kind.Check(ctx); err != nil {
		fmt.Fprintf(g.streams.ErrOut, "kind clusters and containers not checked: %v\n", err)
		return 0, nil
	}
	live, err := rundir.Live(root)
	if err != nil {
		return 0, errkind.E(errkind.Infra, err)
	}
	isLive := func(id string) bool {
		for _, d := range live {
			if d.ID == id {
				return true
			}
		}
		return false
	}
	eng, err := dockerhost.Connect()
	if err != nil {
		return 0, errkind.E(errkind.Infra, err)
	}
	defer eng.Close()
	left, err := kind.Leftovers(ctx, kind.NewProvider(g.log), eng, isLive)
	if err != nil {
		return 0, errkind.E(errkind.Infra, err)
	}
	for _, l := range left {
		if !dryRun {
			if err := l.Remove(ctx); err != nil {
				return 0, errkind.E(errkind.Infra, err)
			}
		}
		fmt.Fprintf(g.streams.Out, "%s %s %s  (run %s is not live)\n", verb, l.What, l.Name, l.RunID)
	}
	return len(left), nil
}
