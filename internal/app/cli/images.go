package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/infra/aws"
	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/images"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

func newImagesCmd(g *globals) *cobra.Command {
	var force, moto bool
	var cacheDir, nodeBits, kindFiles string
	cmd := &cobra.Command{
		Use:   "images [--force] [--node-bits DIR --kind-files DIR] [--moto]",
		Short: "Build the images a kind run needs offline, into the local Docker engine",
		Long: `Build, from Debian packages and Go modules and with no registry, the
images a kind run needs that this host cannot pull, and load them into
the local Docker engine (DOCKER_HOST):

  ` + images.AppBaseImage + `  the base of the scenario's images: Debian's
      busybox-static (fetched with apt-get download, so a Debian or
      Ubuntu host) with a link per applet.
  ` + images.NodeBaseImage + `, ` + images.BuiltNodeImage + `  with --node-bits
      and --kind-files: kind's base image made from a debootstrapped
      Debian ` + images.NodeSuite + ` (systemd, iptables, Debian's containerd, runc
      and CNI plugins) and kind's base files (the kind module's
      images/base/files), then the node image: kubelet, kubeadm and
      kubectl from --node-bits, and the control-plane images built from
      the binaries there, imported into the node's containerd. It needs
      root, debootstrap and the docker CLI.
  ` + aws.BuiltMotoImage + `  with --moto: Debian's python3-moto on a
      debootstrapped Debian, for --aws moto-container. It needs root and
      debootstrap.

An image already built from the same inputs is kept (their digest is its
` + images.InputsLabel + ` label); --force rebuilds it. Each image is printed on
stdout: its name, id, built or kept, and what it was made of.
` + "`make kind-images`" + ` builds the node binaries and runs this.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (nodeBits == "") != (kindFiles == "") {
				return errkind.Errorf(errkind.Invalid, "--node-bits and --kind-files go together")
			}
			if err := dockerhost.Check(cmd.Context()); err != nil {
				return errkind.E(errkind.Infra, err)
			}
			eng, err := dockerhost.Connect()
			if err != nil {
				return errkind.E(errkind.Infra, err)
			}
			defer eng.Close()
			opts := []images.BuildOption{images.WithForce(force), images.WithCacheDir(cacheDir), images.WithBuildLog(g.log)}
			b, err := images.BuildAppBase(cmd.Context(), eng, opts...)
			if err != nil {
				return err
			}
			if err := printBuilt(g, b); err != nil {
				return err
			}
			if nodeBits != "" {
				built, err := images.BuildNodeImage(cmd.Context(), eng, nodeBits, kindFiles, opts...)
				for _, b := range built {
					if perr := printBuilt(g, b); perr != nil {
						return perr
					}
				}
				if err != nil {
					return err
				}
			}
			if moto {
				b, err := images.BuildMotoImage(cmd.Context(), eng, opts...)
				if err != nil {
					return err
				}
				return printBuilt(g, b)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "rebuild and reload images the engine already has")
	cmd.Flags().StringVar(&cacheDir, "cache-dir", "", "where downloaded packages and build roots are kept (default: the user's cache directory, gameday/debs)")
	cmd.Flags().StringVar(&nodeBits, "node-bits", "", "directory of the node image's binaries: "+strings.Join(images.NodeBits, ", "))
	cmd.Flags().BoolVar(&moto, "moto", false, "also build "+aws.BuiltMotoImage)
	cmd.Flags().StringVar(&kindFiles, "kind-files", "", "kind's base image files (the kind module's images/base/files)")
	return cmd
}

// printBuilt writes one image's line: name, id, built or kept, inputs.
func printBuilt(g *globals, b images.Built) error {
	verb := "built"
	if b.Kept {
		verb = "kept"
	}
	_, err := fmt.Fprintf(g.streams.Out, "%s\t%s\t%s\t%s\n", b.Ref, b.ID, verb, b.From)
	return err
}
