package cli

import (
	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/scenarios"
)

func newSchemaCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of scenario files, for editors",
		Long: `Print the JSON Schema of gameday.dev/v1alpha1 scenario files, generated from
the same Go types and doc comments as the scenario reference (docs/reference.md). Save
it and point your editor's YAML language server at it:

  gameday schema > gameday.schema.json

and, as the first line of a scenario file:

  # yaml-language-server: $schema=./gameday.schema.json

The schema checks field names, types and required fields; gameday validate
also checks cross-references, manifests and everything else.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := g.streams.Out.Write(scenarios.Schema)
			return err
		},
	}
}
