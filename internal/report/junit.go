package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/gameday-sre/gameday/verify"
)

// JUnit options.
type JUnitOptions struct {
	// DetectionObjective names the objective that measures detection.
	DetectionObjective string
	// DetectionBudget, if positive, fails the detection case when it was
	// achieved later.
	DetectionBudget verify.Seconds
	// Attempted lists the objectives the run tried; others are reported
	// as skipped (a headless run without --solve only tries detection).
	// Nil means all.
	Attempted map[string]bool
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *cdata          `xml:"system-out,omitempty"`
}

// cdata keeps multi-line text readable in the XML.
type cdata struct {
	Text string `xml:",cdata"`
}

func text(s string) *cdata {
	if s == "" {
		return nil
	}
	return &cdata{Text: s}
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut *cdata        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func secs(s verify.Seconds) string { return fmt.Sprintf("%.3f", float64(s)) }

// JUnit writes a run as JUnit XML: one test suite for the scenario, one
// test case per objective with its measured time, a failure when it was
// missed or over budget, and the findings as system-out.
func JUnit(w io.Writer, j verify.Journal, r verify.Result, opt JUnitOptions) error {
	var observed verify.Seconds
	if !j.Handover.IsZero() && !j.Ended.IsZero() {
		observed = verify.Seconds(j.Ended.Sub(j.Handover).Seconds())
	}
	var findings strings.Builder
	for _, e := range j.Events {
		if e.Type != verify.EventFinding || e.Finding == nil || j.Handover.IsZero() {
			continue
		}
		f := e.Finding
		at := verify.Clock(verify.Seconds(e.Time.Sub(j.Handover).Seconds()))
		if f.Cause == "" {
			fmt.Fprintf(&findings, "%s %s (%s): %s\n", at, f.Source, f.Tool, f.Note)
			continue
		}
		fmt.Fprintf(&findings, "%s %s (%s): %s on %s\n", at, f.Source, orDash(f.Tool), f.Cause, orDash(f.Resource))
	}
	suite := junitSuite{
		Name: r.Scenario, Time: secs(observed), Timestamp: j.Started.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"run-id", r.RunID}, {"outcome", j.Outcome},
			{"score", fmt.Sprintf("%d/%d", r.Total, r.Max)}, {"grade", r.Grade},
		},
		SystemOut: text(findings.String()),
	}
	if r.Metrics.TTD != nil {
		suite.Properties = append(suite.Properties, junitProperty{"ttd-seconds", secs(*r.Metrics.TTD)})
	}
	if j.Handover.IsZero() {
		suite.Cases = append(suite.Cases, junitCase{Name: "symptoms reproduce", Classname: "gameday." + r.Scenario, Time: "0",
			Failure: &junitFailure{Message: "the run ended before handover: " + j.Outcome, Type: j.Outcome}})
	}
	for _, o := range r.Objectives {
		c := junitCase{Name: o.ID + ": " + o.Title, Classname: "gameday." + r.Scenario, Time: secs(observed)}
		var out strings.Builder
		switch {
		case o.Achieved:
			c.Time = secs(*o.At)
			if o.ID == opt.DetectionObjective && opt.DetectionBudget > 0 && *o.At > opt.DetectionBudget {
				c.Failure = &junitFailure{Type: "over-budget",
					Message: fmt.Sprintf("detected at %s, over the %s budget", verify.Clock(*o.At), verify.Clock(opt.DetectionBudget))}
			}
			if o.Points < o.Max && c.Failure == nil {
				fmt.Fprintf(&out, "achieved after its %s target: %d of %d points\n", verify.Clock(o.Target), o.Points, o.Max)
			}
		case opt.Attempted != nil && !opt.Attempted[o.ID]:
			c.Skipped = &junitSkipped{Message: "not attempted: headless run without --solve"}
		default:
			c.Failure = &junitFailure{Type: "missed", Message: fmt.Sprintf("not achieved within %s (%s)", verify.Clock(observed), j.Outcome)}
		}
		if o.ID == opt.DetectionObjective {
			out.WriteString(findings.String())
		}
		c.SystemOut = text(out.String())
		suite.Cases = append(suite.Cases, c)
	}
	for _, c := range suite.Cases {
		suite.Tests++
		switch {
		case c.Failure != nil:
			suite.Failures++
		case c.Skipped != nil:
			suite.Skipped++
		}
	}
	doc := junitSuites{Name: "gameday", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
