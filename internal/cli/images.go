package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/kind"
	"github.com/gameday-sre/gameday/internal/errkind"
)

func newImagesCmd(g *globals) *cobra.Command {
	var force bool
	var cacheDir string
	cmd := &cobra.Command{
		Use:   "images [--force]",
		Short: "Build the images a kind run needs offline, into the local Docker engine",
		Long: `Build, from Debian packages and with no registry, the images a kind run
needs that gameday makes itself, and load them into the local Docker
engine (DOCKER_HOST). Today that is the base of the scenario's images,
` + kind.AppBaseImage + `: Debian's busybox-static (fetched with
apt-get download, so a Debian or Ubuntu host) with a link per applet.
An image already built from the same package is kept (its inputs'
digest is its ` + kind.InputsLabel + ` label); --force rebuilds it. Each
image is printed on stdout: its name, id, built or kept, and what it
was made of. ` + "`make kind-images`" + ` runs this.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := dockerhost.Check(cmd.Context()); err != nil {
				return errkind.E(errkind.Infra, err)
			}
			eng, err := dockerhost.Connect()
			if err != nil {
				return errkind.E(errkind.Infra, err)
			}
			defer eng.Close()
			b, err := kind.BuildAppBase(cmd.Context(), eng, kind.WithForce(force), kind.WithCacheDir(cacheDir), kind.WithBuildLog(g.log))
			if err != nil {
				return err
			}
			verb := "built"
			if b.Kept {
				verb = "kept"
			}
			_, err = fmt.Fprintf(g.streams.Out, "%s\t%s\t%s\t%s\n", b.Ref, b.ID, verb, b.From)
			return err
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "rebuild and reload images the engine already has")
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "where downloaded packages are kept (default: the user's cache directory, gameday/debs)")
	return cmd
}
