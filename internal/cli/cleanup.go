package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/internal/errkind"
	"github.com/gameday-sre/gameday/internal/rundir"
)

func newCleanupCmd(g *globals) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "cleanup [--dry-run]",
		Short: "Remove what crashed runs left behind",
		Long: `Remove what crashed runs left behind: run directories whose gameday process
is gone without finishing, and temporary directories of runs that are not
live. Live runs and finished runs (with their journals and reports) are
kept. Each removed path is printed on stdout; --dry-run only prints.`,
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
			if len(orphans) == 0 {
				fmt.Fprintln(g.streams.ErrOut, "nothing to clean up")
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what would be removed, remove nothing")
	return cmd
}
