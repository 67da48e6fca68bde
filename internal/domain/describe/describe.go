// Package describe renders a scenario for people: the briefing, the
// environment and the objectives, and with spoilers the fault, the
// symptoms, the penalties, the hints, the solution and the debrief.
package describe

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/gameday-sre/gameday/scenarios"
)

// Options control rendering.
type Options struct {
	// Spoilers includes everything that gives the incident away.
	Spoilers bool
	// Seeded says the variant was asked for by its seed (--seed); else
	// a scenario with parameters is shown as its template, each
	// parameter as its reference, which the description says.
	Seeded bool
}

// Text writes a plain-text description of s to w.
func Text(w io.Writer, s *scenarios.Scenario, opt Options) error {
	p := &printer{w: w}
	md, spec := s.Metadata, s.Spec
	p.f("%s: %s\n", md.Name, md.Title)
	p.f("Difficulty %s · time limit %s", md.Difficulty, md.TimeLimit.String())
	if len(md.Tags) > 0 {
		p.f(" · tags %s", strings.Join(md.Tags, ", "))
	}
	p.f("\n")
	if md.Summary != "" {
		p.f("%s\n", md.Summary)
	}

	p.parameters(s, opt)

	p.section("BRIEFING")
	p.indent(spec.Briefing)

	p.environment(w, spec, opt)
	p.objectives(w, spec, opt)
	if !opt.Spoilers {
		p.f("\nRun `gameday describe %s --spoilers` for the fault, the solution and the debrief.\n", md.Name)
		return p.err
	}

	p.spoilers(spec)
	return p.err
}

// environment prints the AWS account, the cluster and what runs on it;
// with spoilers, the IAM roles' policies.
func (p *printer) environment(w io.Writer, spec scenarios.Spec, opt Options) {
	env := spec.Environment
	p.section("ENVIRONMENT")
	p.f("  AWS account %s, region %s\n", env.AWS.AccountID, env.AWS.Region)
	p.f("  EKS cluster %s (Kubernetes %s)\n", env.Cluster.Name, env.Cluster.Version)
	p.f("  Timings: %s\n", strings.Join(env.Cluster.Timings.Summary(), ", "))
	p.f("  Node groups:\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, ng := range env.NodeGroups {
		when := ""
		if ng.Deferred {
			when = "\t(created during the scenario)"
		}
		fmt.Fprintf(tw, "    %s\t%d × %s\t%s\trole %s%s\n", ng.Name, ng.Size, ng.InstanceType, ng.Zone, ng.Role, when)
	}
	p.flush(tw)
	if opt.Spoilers {
		p.f("  IAM roles:\n")
		for _, r := range env.IAM.Roles {
			var pols []string
			for _, a := range r.ManagedPolicies {
				pols = append(pols, strings.TrimPrefix(a, "arn:aws:iam::aws:policy/"))
			}
			for _, ip := range r.InlinePolicies {
				pols = append(pols, ip.Name+" (inline)")
			}
			boundary := ""
			if r.PermissionsBoundary != "" {
				boundary = "; permissions boundary " + r.PermissionsBoundary
			}
			p.f("    %s: %s%s\n", r.Name, orNone(strings.Join(pols, ", ")), boundary)
		}
	}
	if len(env.ECR.Repositories) > 0 {
		p.f("  ECR repositories:\n")
		for _, r := range env.ECR.Repositories {
			var tags []string
			for _, img := range r.Images {
				tags = append(tags, img.Tag)
			}
			p.f("    %s/%s: %s\n", scenarios.ECRRegistry(env.AWS.AccountID, env.AWS.Region), r.Name, strings.Join(tags, ", "))
		}
	}
	p.f("  Namespaces: %s\n", orNone(strings.Join(env.Namespaces, ", ")))
	p.f("  Workloads:\n")
	for _, wl := range spec.Workloads {
		for _, o := range wl.Objects {
			p.f("    %s\n", objectLine(o))
		}
	}
}

// objectives prints the objectives and their points; without spoilers,
// how many penalties and hints there are.
func (p *printer) objectives(w io.Writer, spec scenarios.Spec, opt Options) {
	p.section("OBJECTIVES")
	total := 0
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, o := range spec.Objectives {
		total += o.Points
		title := o.Title
		if o.Hidden && !opt.Spoilers {
			title = "(hidden until achieved)"
		}
		after := ""
		if len(o.After) > 0 {
			after = " (after " + strings.Join(o.After, ", ") + ")"
		}
		fmt.Fprintf(tw, "  %s\t%d pts\twithin %s\t%s%s\n", o.ID, o.Points, o.Target.String(), title, after)
	}
	p.flush(tw)
	p.f("  %d points in all; points decay after an objective's target time.\n", total)
	if len(spec.Penalties) > 0 && !opt.Spoilers {
		p.f("  %d penalties apply to harmful or over-broad actions.\n", len(spec.Penalties))
	}
	if n := len(spec.Hints); n > 0 && !opt.Spoilers {
		lo, hi := spec.Hints[0].Cost, spec.Hints[0].Cost
		for _, h := range spec.Hints {
			lo, hi = min(lo, h.Cost), max(hi, h.Cost)
		}
		p.f("  %d hints available with `gameday hint`, costing %s points each.\n", n, rangeText(lo, hi))
	}
}

// spoilers prints the fault, the symptoms, the penalties, the hints,
// the causes, the solution, the wrong fixes and the debrief.
func (p *printer) spoilers(spec scenarios.Spec) {
	p.section("FAULT")
	for i, st := range spec.Steps {
		p.f("  %d. [%s] %s (%s)\n", i+1, st.Phase, st.Name, st.Kind)
	}
	p.section("SYMPTOMS (must all hold within " + spec.Symptoms.Timeout.String() + ")")
	for _, c := range spec.Symptoms.Checks {
		p.f("  - %s\n", c.Name)
	}
	p.section("PENALTIES")
	for _, pe := range spec.Penalties {
		p.f("  -%d  %s (%s)\n", pe.Points, pe.Title, pe.ID)
	}
	p.section("HINTS")
	for i, h := range spec.Hints {
		p.f("  %d. (cost %d) %s\n", i+1, h.Cost, oneLine(h.Text))
	}
	p.section("ROOT-CAUSE CATALOGUE")
	for _, c := range spec.Causes {
		p.f("  %s: %s\n", c.ID, c.Summary)
	}
	p.section("SOLUTION")
	for i, st := range spec.Solution {
		p.f("  %d. %s\n", i+1, st.Description)
		for _, l := range strings.Split(strings.TrimRight(st.Run, "\n"), "\n") {
			p.f("       $ %s\n", l)
		}
	}
	if len(spec.WrongFixes) > 0 {
		p.section("WRONG FIXES (gameday test plays each)")
		for _, w := range spec.WrongFixes {
			p.f("  %s: %s\n", w.ID, w.Title)
			for _, st := range w.Steps {
				for _, l := range strings.Split(strings.TrimRight(st.Run, "\n"), "\n") {
					p.f("       $ %s\n", l)
				}
			}
			p.f("     expect: %s\n", expectText(w))
		}
	}
	p.section("DEBRIEF")
	p.indent(spec.Debrief)
}

// expectText is what a wrong fix expects, in a line.
func expectText(w scenarios.WrongFix) string {
	e := w.Expect
	var parts []string
	if len(e.Penalties) > 0 {
		parts = append(parts, "penalties "+strings.Join(e.Penalties, ", "))
	}
	if len(e.Unachieved) > 0 {
		parts = append(parts, "not achieved "+strings.Join(e.Unachieved, ", "))
	}
	if e.Outcome != "" {
		parts = append(parts, "ends "+e.Outcome)
	}
	if e.Score != nil {
		parts = append(parts, fmt.Sprintf("scores %d", *e.Score))
	}
	if e.FalsePositives != nil {
		parts = append(parts, fmt.Sprintf("%d false positive(s)", *e.FalsePositives))
	}
	parts = append(parts, fmt.Sprintf("watched %s after the last step", w.Observe))
	return strings.Join(parts, "; ")
}

// printer writes formatted text and keeps the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) section(title string) { p.f("\n%s\n", title) }

func (p *printer) indent(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		if l == "" {
			p.f("\n")
			continue
		}
		p.f("  %s\n", l)
	}
}

func (p *printer) flush(tw *tabwriter.Writer) {
	if err := tw.Flush(); err != nil && p.err == nil {
		p.err = err
	}
}

func objectLine(o scenarios.Object) string {
	name := o.Name
	if o.Namespace != "" {
		name = o.Namespace + "/" + o.Name
	}
	line := fmt.Sprintf("%s %s", o.Kind, name)
	if d, ok := o.Typed().(*appsv1.Deployment); ok && d.Spec.Replicas != nil {
		n := *d.Spec.Replicas
		line += fmt.Sprintf(" (%d %s)", n, plural(int(n), "replica", "replicas"))
	}
	return line
}

func rangeText(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// parameters says, for a scenario with parameters, which variant is
// shown, and names its parameters; with spoilers, their choices and
// what this variant chose.
func (p *printer) parameters(s *scenarios.Scenario, opt Options) {
	ps := s.Spec.Parameters
	if len(ps) == 0 {
		return
	}
	p.section("VARIANT")
	if opt.Seeded {
		p.f("  The variant of seed %d (gameday run %s --seed %d).\n", s.Variant.Seed, s.Metadata.Name, s.Variant.Seed)
	} else {
		p.f("  A family of %d variants: a seed chooses each parameter. Shown: the template, with\n  each parameter's reference; gameday run picks a seed and says which (--seed N replays it;\n  describe --seed N shows it).\n", s.VariantCount())
	}
	var names []string
	for _, pm := range ps {
		names = append(names, pm.Name)
	}
	p.f("  Parameters: %s\n", strings.Join(names, ", "))
	if !opt.Spoilers {
		return
	}
	for _, pm := range ps {
		p.f("    %s:\n", pm.Name)
		for i, v := range pm.Values {
			p.f("      %d. %s\n", i+1, scenarios.Short(v))
		}
		for i, c := range pm.Choices {
			var fields []string
			for _, k := range slices.Sorted(maps.Keys(c)) {
				fields = append(fields, k+"="+scenarios.Short(c[k].Text))
			}
			p.f("      %d. %s\n", i+1, strings.Join(fields, ", "))
		}
	}
	if !opt.Seeded {
		return
	}
	p.f("  This variant:\n")
	for _, k := range slices.Sorted(maps.Keys(s.Variant.Values)) {
		p.f("    %s=%s\n", k, scenarios.Short(s.Variant.Values[k]))
	}
}
