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
	// MaxFalsePositives, if set, adds a test case that fails when the
	// run's wrong claims outnumber it.
	MaxFalsePositives *int
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
	seconds    verify.Seconds  // Time, as a number
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

// JUnitRun is one scored run, for JUnitAll.
type JUnitRun struct {
	// Journal is the run's journal.
	Journal verify.Journal
	// Result is its score.
	Result verify.Result
	// Options are how to judge it.
	Options JUnitOptions
}

// JUnit writes a run as JUnit XML: one test suite for the scenario, one
// test case per objective with its measured time, a failure when it was
// missed or over budget, and the findings as system-out.
func JUnit(w io.Writer, j verify.Journal, r verify.Result, opt JUnitOptions) error {
	return JUnitAll(w, JUnitRun{Journal: j, Result: r, Options: opt})
}

// JUnitAll writes runs as one JUnit XML file, a test suite per run (as
// JUnit writes one), for a suite over many scenarios.
func JUnitAll(w io.Writer, runs ...JUnitRun) error {
	doc := junitSuites{Name: "gameday"}
	var total float64
	for _, run := range runs {
		suite := junitSuiteOf(run.Journal, run.Result, run.Options)
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Skipped += suite.Skipped
		total += float64(suite.seconds)
		doc.Suites = append(doc.Suites, suite)
	}
	doc.Time = secs(verify.Seconds(total))
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

// junitSuiteOf is one run's test suite.
func junitSuiteOf(j verify.Journal, r verify.Result, opt JUnitOptions) junitSuite {
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
		Name: r.Scenario, Time: secs(observed), seconds: observed, Timestamp: j.Started.UTC().Format("2006-01-02T15:04:05"),
		Properties: []junitProperty{
			{"run-id", r.RunID}, {"outcome", j.Outcome},
			{"score", fmt.Sprintf("%d/%d", r.Total, r.Max)}, {"grade", r.Grade},
		},
		SystemOut: text(findings.String()),
	}
	if seed := j.Spec.Seed; seed != nil { // one suite per variant: the seed tells them apart
		suite.Name = fmt.Sprintf("%s seed=%d", r.Scenario, *seed)
		suite.Properties = append(suite.Properties, junitProperty{"seed", fmt.Sprint(*seed)}, junitProperty{"variant", j.Spec.Variant})
	}
	if r.Metrics.TTD != nil {
		suite.Properties = append(suite.Properties, junitProperty{"ttd-seconds", secs(*r.Metrics.TTD)})
	}
	suite.Properties = append(suite.Properties, junitProperty{"scoring-rule", r.Rule})
	if d := r.Detection; r.Rule == verify.RuleClaims {
		suite.Properties = append(suite.Properties,
			junitProperty{"true-positives", fmt.Sprint(d.TruePositives)},
			junitProperty{"false-positives", fmt.Sprint(d.FalsePositives)},
			junitProperty{"root-cause-named", fmt.Sprint(d.RootCauseNamed)})
		if d.FirstCorrect != nil {
			suite.Properties = append(suite.Properties, junitProperty{"first-correct-claim-seconds", secs(*d.FirstCorrect)})
		}
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
	if max := opt.MaxFalsePositives; max != nil {
		c := junitCase{Name: fmt.Sprintf("false positives: at most %d", *max), Classname: "gameday." + r.Scenario, Time: secs(observed)}
		if fp := r.Detection.FalsePositives; fp > *max {
			c.Failure = &junitFailure{Type: "over-budget", Message: fmt.Sprintf("%d false positives, over the budget of %d", fp, *max)}
		}
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
	return suite
}
