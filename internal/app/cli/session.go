package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gameday-sre/gameday/internal/domain/report"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/session"
	"github.com/gameday-sre/gameday/verify"
)

// runChoice is the --run flag of the commands that address a live run.
type runChoice struct{ id string }

// register adds --run to cmd.
func (r *runChoice) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&r.id, "run", "", "the live run to address (default: $GAMEDAY_RUN, else the only live run)")
}

// dir is the run named by --run, else by $GAMEDAY_RUN (which a run gives
// its reference solution and detector), else the only live run.
func (r *runChoice) dir() (rundir.Dir, error) {
	id := r.id
	if id == "" {
		id = os.Getenv("GAMEDAY_RUN")
	}
	return liveRun(id)
}

// dial connects to the chosen run's control API.
func (r *runChoice) dial() (*session.Client, error) {
	d, err := r.dir()
	if err != nil {
		return nil, err
	}
	return session.Dial(d)
}

func newStatusCmd(g *globals) *cobra.Command {
	var rc runChoice
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the live run's elapsed time, achieved objectives and hints used",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outputFormat(output, "text", "json"); err != nil {
				return err
			}
			c, err := rc.dial()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return json.NewEncoder(g.streams.Out).Encode(st)
			}
			fmt.Fprintf(g.streams.Out, "%s: %s elapsed of %s · hints used %d, %d left\n", st.Scenario, verify.Clock(st.Elapsed), verify.Clock(st.TimeLimit), st.HintsUsed, st.HintsLeft)
			tw := tabwriter.NewWriter(g.streams.Out, 0, 4, 2, ' ', 0)
			for _, o := range st.Objectives {
				at := "pending"
				if o.Achieved {
					at = "✓ " + verify.Clock(*o.At)
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", o.ID, at, o.Title)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	rc.register(cmd)
	return cmd
}

func newBoardCmd(g *globals) *cobra.Command {
	var rc runChoice
	var facilitator bool
	cmd := &cobra.Command{
		Use:   "board",
		Short: "Print the live run's board link (--facilitator: the facilitator's, with spoilers)",
		Long: `Print the link to the live run's board: a page for the projector and for
every responder, with the clock, the objectives, hints revealed, the
timeline and the score so far, updated live. It is read-only and shows no
spoilers.

--facilitator prints the facilitator's link instead: the same page, plus the
spoilers (collapsed), observations for the timeline, giving a hint (at its
cost or free) and ending the run. Keep it to yourself.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rc.dial()
			if err != nil {
				return err
			}
			link := c.Info().Board
			if facilitator {
				link = c.Info().Facilitator
			}
			if link == "" {
				return errkind.Errorf(errkind.Invalid, "the live run serves no board")
			}
			fmt.Fprintln(g.streams.Out, link)
			return nil
		},
	}
	cmd.Flags().BoolVar(&facilitator, "facilitator", false, "the facilitator's link: spoilers, observations, hints, end")
	rc.register(cmd)
	return cmd
}

func newHintCmd(g *globals) *cobra.Command {
	var rc runChoice
	var yes bool
	cmd := &cobra.Command{
		Use:   "hint",
		Short: "Reveal the next hint (its cost is shown first)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rc.dial()
			if err != nil {
				return err
			}
			next, err := c.NextHint(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.streams.ErrOut, "Hint %d of %d costs %d points.\n", next.N, next.Of, next.Cost)
			if !yes {
				fmt.Fprint(g.streams.ErrOut, "Reveal it? [y/N] ")
				answer, _ := bufio.NewReader(g.streams.In).ReadString('\n')
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					fmt.Fprintln(g.streams.ErrOut, "not revealed")
					return nil
				}
			}
			h, err := c.RevealHint(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Out, "Hint %d: %s\n", h.N, strings.Join(strings.Fields(h.Text), " "))
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "reveal without asking")
	rc.register(cmd)
	return cmd
}

func newCausesCmd(g *globals) *cobra.Command {
	var rc runChoice
	cmd := &cobra.Command{
		Use:   "causes",
		Short: "List the root-cause ids `gameday diagnose` accepts",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rc.dial()
			if err != nil {
				return err
			}
			causes, err := c.Causes(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.streams.Out, 0, 4, 2, ' ', 0)
			for _, c := range causes {
				fmt.Fprintf(tw, "%s\t%s\n", c.ID, c.Summary)
			}
			return tw.Flush()
		},
	}
	rc.register(cmd)
	return cmd
}

func newDiagnoseCmd(g *globals) *cobra.Command {
	var rc runChoice
	var f session.FindingRequest
	cmd := &cobra.Command{
		Use:   "diagnose --cause ID [--resource ARN] [--note TEXT]",
		Short: "Record your root-cause claim (answered only with \"recorded\")",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.Cause == "" {
				return errkind.Errorf(errkind.Invalid, "--cause is required; see `gameday causes`")
			}
			c, err := rc.dial()
			if err != nil {
				return err
			}
			if err := c.Diagnose(cmd.Context(), f); err != nil {
				return err
			}
			fmt.Fprintln(g.streams.Out, "recorded")
			return nil
		},
	}
	cmd.Flags().StringVar(&f.Cause, "cause", "", "root-cause id (see `gameday causes`)")
	cmd.Flags().StringVar(&f.Resource, "resource", "", "the resource at fault, for example a role ARN")
	cmd.Flags().StringVar(&f.Note, "note", "", "free text")
	rc.register(cmd)
	return cmd
}

func newGiveUpCmd(g *globals) *cobra.Command {
	var rc runChoice
	cmd := &cobra.Command{
		Use:   "give-up",
		Short: "End the live run now; the debrief follows",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := rc.dial()
			if err != nil {
				return err
			}
			if err := c.GiveUp(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(g.streams.ErrOut, "gave up; the run's terminal shows the debrief")
			return nil
		},
	}
	rc.register(cmd)
	return cmd
}

// withAnswerKey gives a journal written before claims were judged the
// answer key of the built-in scenario it was written for, so that it is
// re-scored under the current rule; it says so on stderr. A journal of a
// scenario that is not built in keeps the rule it was written under.
func withAnswerKey(g *globals, j verify.Journal) verify.Journal {
	if len(j.Spec.Claims) > 0 {
		return j
	}
	s, err := scenarios.LoadBuiltin(j.Spec.Name)
	if err != nil {
		fmt.Fprintf(g.streams.ErrOut, "gameday: journal has no answer key and %s is not built in: claims are not judged\n", j.Spec.Name)
		return j
	}
	j, ok := scenarios.WithAnswerKey(j, s)
	if ok {
		fmt.Fprintf(g.streams.ErrOut, "gameday: journal predates judged claims: using the answer key of the built-in %s\n", j.Spec.Name)
	}
	return j
}

func newReportCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "report JOURNAL",
		Short: "Re-score a saved run from its journal.json and render it",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := outputFormat(output, "markdown", "html", "text", "json"); err != nil {
				return err
			}
			j, err := verify.ReadJournal(args[0])
			if err != nil {
				return errkind.E(errkind.Invalid, err)
			}
			j = withAnswerKey(g, j)
			r := verify.Score(j)
			fmt.Fprintf(g.streams.ErrOut, "gameday: scored under rule %s\n", r.Rule)
			switch output {
			case "json":
				return writeJSON(g.streams.Out, r)
			case "text":
				return report.Summary(g.streams.Out, j, r)
			case "html":
				return report.HTML(g.streams.Out, j, r)
			}
			return report.Markdown(g.streams.Out, j, r)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "markdown", "output format: markdown, html (one self-contained page), text or json")
	return cmd
}
