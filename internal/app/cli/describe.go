package cli

import (
	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/internal/domain/describe"
	"github.com/gameday-sre/gameday/scenarios"
)

func newDescribeCmd(g *globals) *cobra.Command {
	var opt describe.Options
	var seed uint64
	cmd := &cobra.Command{
		Use:   "describe NAME|PATH",
		Short: "Show a scenario's briefing, environment and objectives",
		Long: `Show a scenario's briefing, environment and objectives. Nothing that gives
the incident away is shown unless --spoilers is given.

NAME is a built-in scenario; PATH is a scenario file or a directory that
holds scenario.yaml. A scenario with parameters is a family of variants:
--seed N describes the variant gameday run --seed N plays; without it,
the template is shown, each parameter as its reference (${param.NAME}),
and --spoilers lists every parameter's choices.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := scenarios.Resolve(args[0])
			if err != nil {
				return err
			}
			opt.Seeded = cmd.Flags().Changed("seed")
			if !opt.Seeded {
				s = s.Template()
			} else if s, err = s.WithSeed(seed); err != nil {
				return err
			}
			return describe.Text(g.streams.Out, s, opt)
		},
	}
	cmd.Flags().BoolVar(&opt.Spoilers, "spoilers", false, "also show the fault, symptoms, penalties, hints, solution and debrief")
	cmd.Flags().Uint64Var(&seed, "seed", 0, "for a scenario with parameters: describe the variant of this seed")
	return cmd
}
