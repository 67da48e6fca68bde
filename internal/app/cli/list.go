package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/scenarios"
)

// listEntry is one scenario in `gameday list --output json`.
type listEntry struct {
	Name       string   `json:"name"`
	Title      string   `json:"title"`
	Summary    string   `json:"summary,omitempty"`
	Difficulty string   `json:"difficulty"`
	Tags       []string `json:"tags"`
	TimeLimit  string   `json:"timeLimit"`
	// EstimatedLength is how long a team is expected to play: the latest
	// objective target, which is when the author expects it done.
	EstimatedLength string `json:"estimatedLength"`
	// Variants is how many variants its parameters make (1: none).
	Variants   int    `json:"variants"`
	Objectives int    `json:"objectives"`
	Points     int    `json:"points"`
	Source     string `json:"source"`
}

func newListCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the built-in scenarios",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(output, "text", "json"); err != nil {
				return err
			}
			all, err := scenarios.Builtin()
			if err != nil {
				return fmt.Errorf("load built-in scenarios: %w", err)
			}
			entries := make([]listEntry, 0, len(all))
			for _, s := range all {
				e := listEntry{
					Name: s.Metadata.Name, Title: s.Metadata.Title, Summary: s.Metadata.Summary,
					Difficulty: s.Metadata.Difficulty, Tags: s.Metadata.Tags,
					TimeLimit: s.Metadata.TimeLimit.String(), Variants: s.VariantCount(), Objectives: len(s.Spec.Objectives), Source: s.Source.File,
				}
				if e.Tags == nil {
					e.Tags = []string{}
				}
				var length time.Duration
				for _, o := range s.Spec.Objectives {
					e.Points += o.Points
					length = max(length, o.Target.Duration)
				}
				e.EstimatedLength = roughly(length)
				entries = append(entries, e)
			}
			out := g.streams.Out
			if output == "json" {
				return writeJSON(out, entries)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDIFFICULTY\tLENGTH\tTIME LIMIT\tVARIANTS\tTAGS\tTITLE")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Name, e.Difficulty, e.EstimatedLength, e.TimeLimit, e.Variants, strings.Join(e.Tags, ","), e.Title)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// roughly writes a duration to the minute, as "~20m" or "~1h30m".
func roughly(d time.Duration) string {
	d = d.Round(time.Minute)
	if d <= 0 {
		return "-"
	}
	return "~" + strings.TrimSuffix(d.String(), "0s")
}
