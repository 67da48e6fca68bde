package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/yuin/goldmark"

	"github.com/gameday-sre/gameday/verify"
)

//go:embed assets/report.html.tmpl
var assets embed.FS

var pageTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"clock": verify.Clock,
	"when":  Time,
	"label": verify.ClaimLabel,
	"join":  func(s []string) string { return strings.Join(s, ", ") },
	"sub":   func(a, b int) int { return a - b },
	"shape": shape,
	// prefixed: the entry's text already starts with who acted.
	"prefixed": strings.HasPrefix,
}).ParseFS(assets, "assets/report.html.tmpl"))

// htmlPage is what the HTML report's template renders.
type htmlPage struct {
	R    verify.Result
	Rule string
	// Timings are the cluster timings the game ran with, in a line.
	Timings string
	// Variant is the variant played, for a scenario with parameters.
	Variant   string
	WrongCost int
	Picture   timelinePicture
	Timeline  []TimelineEntry
	// Responders is what each named responder did.
	Responders []Responder
	Debrief    template.HTML
}

// HTML writes the report as one self-contained HTML page: the score
// table, the timeline as an SVG picture (a lane per actor, objectives as
// milestones, hints and penalties marked; one mark per timeline entry)
// and as a list, the claims, every point explained, and the debrief. It
// loads nothing from anywhere, so it opens from disk or a wiki.
func HTML(w io.Writer, j verify.Journal, r verify.Result) error {
	debrief, err := markdownHTML(j.Spec.Debrief)
	if err != nil {
		return fmt.Errorf("render debrief: %w", err)
	}
	tl := Timeline(j)
	var end verify.Seconds
	if !j.Handover.IsZero() && !j.Ended.IsZero() {
		end = verify.Seconds(j.Ended.Sub(j.Handover).Seconds())
	}
	page := htmlPage{R: r, Rule: ruleText(j, r), Timings: strings.Join(j.Spec.Timings, ", "), Variant: variantLine(j), WrongCost: wrongCost(r), Timeline: tl,
		Responders: Responders(j), Debrief: debrief}
	if len(tl) > 0 {
		page.Picture = picture(tl, end)
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, page); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// markdownHTML renders the scenario's Markdown debrief, its headings
// one level down. Raw HTML in it is dropped (goldmark's default), so a
// scenario file cannot put script into a report.
func markdownHTML(md string) (template.HTML, error) {
	if strings.TrimSpace(md) == "" {
		return "", nil
	}
	var b bytes.Buffer
	if err := goldmark.Convert([]byte(bumpHeadings(md)), &b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // #nosec: goldmark escapes; raw HTML is omitted
}

// shape draws a mark of a kind at (x, y): a diamond for an objective, a
// cross for a penalty, a triangle for a hint, a square for the end, a
// circle for actions and claims.
func shape(kind string, x float64, y int) template.HTML {
	fy := float64(y)
	var s string
	switch kind {
	case KindObjective:
		s = fmt.Sprintf(`<path d="M%.1f %.1fl7 7l-7 7l-7-7z"/>`, x, fy-7)
	case KindPenalty:
		s = fmt.Sprintf(`<path d="M%.1f %.1fl10 10m0-10l-10 10" stroke="#cf222e" stroke-width="3"/>`, x-5, fy-5)
	case KindHint:
		s = fmt.Sprintf(`<path d="M%.1f %.1fl6 11h-12z"/>`, x, fy-6)
	case KindEnd:
		s = fmt.Sprintf(`<rect x="%.1f" y="%.1f" width="10" height="10"/>`, x-5, fy-5)
	default:
		s = fmt.Sprintf(`<circle cx="%.1f" cy="%.1f" r="5"/>`, x, fy)
	}
	return template.HTML(s) // numbers only
}

// variantLine is the variant a journal's game played, for a scenario
// with parameters: "seed 42 (namespace=payments)"; empty otherwise.
func variantLine(j verify.Journal) string {
	if j.Spec.Seed == nil {
		return ""
	}
	return fmt.Sprintf("seed %d (%s)", *j.Spec.Seed, j.Spec.Variant)
}
