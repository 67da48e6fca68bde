package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/gameday-sre/gameday/internal/testkit/browsertest"
	"github.com/gameday-sre/gameday/internal/testkit/golden"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

func TestGoldenReports(t *testing.T) {
	j, err := verify.ReadJournal("../../../verify/testdata/human.journal.json")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture predates the answer key: it is re-scored with the
	// built-in scenario's, as gameday report does.
	s, err := scenarios.LoadBuiltin(j.Spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	j, ok := scenarios.WithAnswerKey(j, s)
	if !ok {
		t.Fatal("no answer key added")
	}
	r := verify.Score(j)
	var md, sum, page bytes.Buffer
	if err := Markdown(&md, j, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, j, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "report.html.golden", page.Bytes())
	if err := Summary(&sum, j, r); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "report.md.golden", md.Bytes())
	golden.Check(t, "summary.golden", sum.Bytes())
	for _, want := range []string{"Over-broad permissions on the node role (-30)", "| 02:30 | operator claimed image-tag-missing on shop/checkout:1.9.0 | wrong | -3 |", "`03:10` aws iam AttachRolePolicy"} {
		if !bytes.Contains(md.Bytes(), []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestReportsShowTimings checks that both reports say which cluster
// timings the game ran with, as the journal recorded them.
func TestReportsShowTimings(t *testing.T) {
	s, err := scenarios.LoadBuiltin("node-diskpressure")
	if err != nil {
		t.Fatal(err)
	}
	j := verify.Journal{Format: verify.JournalFormat, RunID: "r1", Spec: s.JournalSpec(), Outcome: verify.OutcomeTimeLimit}
	want := "Cluster timings: " + strings.Join(s.Spec.Environment.Cluster.Timings.Summary(), ", ")
	if !strings.Contains(want, "evictionPressureTransitionPeriod ") {
		t.Fatalf("the timings lack the kubelet's transition period: %s", want)
	}
	var md, page bytes.Buffer
	if err := Markdown(&md, j, verify.Score(j)); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, j, verify.Score(j)); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"report.md": md.Bytes(), "report.html": page.Bytes()} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks %q", name, want)
		}
	}
}

// TestHTMLReportStandsAlone parses the HTML report's timeline picture
// and checks that it has one mark per timeline entry, in the lane of its
// actor, and that the page refers to nothing outside itself.
func TestHTMLReportStandsAlone(t *testing.T) {
	j, err := verify.ReadJournal("../../../verify/testdata/human.journal.json")
	if err != nil {
		t.Fatal(err)
	}
	j.Spec.Debrief += "\n<script>alert(1)</script>\n"
	var page bytes.Buffer
	if err := HTML(&page, j, verify.Score(j)); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	start, end := strings.Index(html, "<svg"), strings.Index(html, "</svg>")
	if start < 0 || end < 0 {
		t.Fatal("no <svg> in the report")
	}
	var svg struct {
		Texts []string `xml:"text"`
		Marks []struct {
			Class string `xml:"class,attr"`
			Title string `xml:"title"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal([]byte(html[start:end+len("</svg>")]), &svg); err != nil {
		t.Fatalf("the SVG does not parse: %v", err)
	}
	tl := Timeline(j)
	if len(svg.Marks) != len(tl) || len(tl) == 0 {
		t.Fatalf("%d marks for %d timeline entries", len(svg.Marks), len(tl))
	}
	for i, m := range svg.Marks {
		if want := "mark kind-" + tl[i].Kind; m.Class != want || !strings.HasSuffix(m.Title, tl[i].Text) {
			t.Errorf("mark %d: class %q title %q; want %q, %q", i, m.Class, m.Title, want, tl[i].Text)
		}
	}
	for _, lane := range []string{"milestones", "operator"} {
		if !slices.Contains(svg.Texts, lane) {
			t.Errorf("no lane %q in %q", lane, svg.Texts)
		}
	}
	for _, bad := range []string{"<script", "src=", "href=", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("the report contains %q: it must stand alone and run nothing", bad)
		}
	}
}

func TestTickStep(t *testing.T) {
	tests := []struct {
		name string
		span float64
		want float64
	}{
		{"a minute", 60, 10},
		{"five minutes", 300, 30},
		{"half an hour", 1800, 300},
		{"two hours", 7200, 900},
		{"a day", 86400, 3 * 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tickStep(tt.span); got != tt.want || tt.span/got > 10 {
				t.Errorf("tickStep(%v) = %v, want %v", tt.span, got, tt.want)
			}
		})
	}
}

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }

// TestHTMLReportInBrowser opens the HTML report from disk in a real
// headless Chromium: it renders, its timeline picture draws one visible
// mark per timeline entry, and the page loads nothing else.
func TestHTMLReportInBrowser(t *testing.T) {
	ctx := browsertest.New(t, time.Minute)
	j, err := verify.ReadJournal("../../../verify/testdata/human.journal.json")
	if err != nil {
		t.Fatal(err)
	}
	r := verify.Score(j)
	path := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := HTML(f, j, r); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+path), chromedp.WaitVisible(chromedp.CSS("#timeline"))); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Marks     int      `json:"marks"`
		Drawn     int      `json:"drawn"`
		Title     string   `json:"title"`
		Score     string   `json:"score"`
		Resources []string `json:"resources"`
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[page](`({
		marks: document.querySelectorAll("#timeline .mark").length,
		drawn: [...document.querySelectorAll("#timeline .mark")].filter(m => { const b = m.getBBox(); return b.width > 0 && b.height > 0 }).length,
		title: document.title,
		score: document.querySelector(".score").textContent,
		resources: performance.getEntriesByType("resource").map(e => e.name),
	})`))
	if err != nil {
		t.Fatal(err)
	}
	want := len(Timeline(j))
	if got.Marks != want || got.Drawn != want {
		t.Errorf("%d marks, %d drawn; want %d, one per timeline entry", got.Marks, got.Drawn, want)
	}
	if wantScore := fmt.Sprintf("%d / %d", r.Total, r.Max); got.Score != wantScore || !strings.Contains(got.Title, r.Title) {
		t.Errorf("title %q, score %q; want %q, %q", got.Title, got.Score, r.Title, wantScore)
	}
	if len(got.Resources) > 0 {
		t.Errorf("the report loaded %v: it must stand alone", got.Resources)
	}
	browsertest.Screenshot(t, ctx, "report")
}

// TestResponders sums up a team's run per named responder, and the
// Markdown report names them on the timeline and in a table.
func TestResponders(t *testing.T) {
	h := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return h.Add(time.Duration(s) * time.Second) }
	j := verify.Journal{Format: verify.JournalFormat, Handover: h, Events: []verify.Event{
		{Time: at(-5), Type: verify.EventKubectl, Actor: "alice", Message: "before handover"},
		{Time: at(3), Type: verify.EventKubectl, Actor: "alice", Message: "kubectl: list pods -n prod"},
		{Time: at(9), Type: verify.EventAWS, Actor: "bob", Message: "aws iam ListAttachedRolePolicies"},
		{Time: at(12), Type: verify.EventHint, Actor: "bob", Hint: 1, Cost: 5},
		{Time: at(20), Type: verify.EventFinding, Actor: "alice", Finding: &verify.Finding{Cause: "x", Source: "operator"}},
		{Time: at(21), Type: verify.EventKubectl, Actor: "operator", Message: "kubectl: get nodes"},
		{Time: at(22), Type: verify.EventStep, Actor: "autopilot", Step: "solution: y"},
		{Time: at(30), Type: verify.EventAWS, Actor: "bob", Message: "aws iam AttachRolePolicy"},
	}}
	want := []Responder{
		{Name: "alice", Kubectl: 1, Claims: 1, First: 3, Last: 20},
		{Name: "bob", AWS: 2, Hints: 1, First: 9, Last: 30},
	}
	if diff := cmp.Diff(want, Responders(j)); diff != "" {
		t.Errorf("responders (-want +got):\n%s", diff)
	}
	var md bytes.Buffer
	if err := Markdown(&md, j, verify.Score(j)); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"- `00:03` **alice** kubectl: list pods -n prod", "- `00:20` alice diagnosis: x on -",
		"| alice | 1 | 0 | 1 | 0 | 00:03 | 00:20 |", "| bob | 0 | 2 | 0 | 1 | 00:09 | 00:30 |", "- `00:21` kubectl: get nodes"} {
		if !strings.Contains(md.String(), line) {
			t.Errorf("report lacks %q:\n%s", line, md.String())
		}
	}
	// A run played as the one operator has no responders section.
	j.Events = j.Events[5:6]
	if rs := Responders(j); len(rs) != 0 {
		t.Errorf("operator-only run: %+v", rs)
	}
}
