package report

import (
	"bytes"
	"encoding/xml"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gameday-sre/gameday/internal/testkit/golden"
	"github.com/gameday-sre/gameday/verify"
)

// The JUnit schema that CI consumers (Jenkins, GitLab, GitHub reporters)
// accept: testsuites > testsuite{name,tests,failures,errors,time} >
// testcase{name,classname,time} with an optional failure{message,type},
// skipped{message} and system-out. checkJUnit enforces it and that the
// counts add up.
type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    *int     `xml:"tests,attr"`
	Failures *int     `xml:"failures,attr"`
	Suites   []xSuite `xml:"testsuite"`
}

type xSuite struct {
	Name     string  `xml:"name,attr"`
	Tests    *int    `xml:"tests,attr"`
	Failures *int    `xml:"failures,attr"`
	Errors   *int    `xml:"errors,attr"`
	Skipped  *int    `xml:"skipped,attr"`
	Time     *string `xml:"time,attr"`
	Cases    []struct {
		Name      string  `xml:"name,attr"`
		Classname string  `xml:"classname,attr"`
		Time      *string `xml:"time,attr"`
		Failure   *struct {
			Message *string `xml:"message,attr"`
			Type    string  `xml:"type,attr"`
		} `xml:"failure"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
		SystemOut string `xml:"system-out"`
	} `xml:"testcase"`
}

func checkJUnit(t *testing.T, b []byte) xSuites {
	t.Helper()
	var doc xSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not XML: %v", err)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d test suites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name == "" || s.Tests == nil || s.Failures == nil || s.Errors == nil || s.Time == nil {
		t.Fatalf("testsuite lacks a required attribute: %+v", s)
	}
	failures, skipped := 0, 0
	for _, c := range s.Cases {
		if c.Name == "" || c.Classname == "" || c.Time == nil {
			t.Errorf("testcase lacks name, classname or time: %+v", c)
		}
		if _, err := strconv.ParseFloat(*c.Time, 64); err != nil {
			t.Errorf("testcase time %q is not a number", *c.Time)
		}
		if c.Failure != nil {
			failures++
			if c.Failure.Message == nil || *c.Failure.Message == "" {
				t.Errorf("failure without message in %s", c.Name)
			}
		}
		if c.Skipped != nil {
			skipped++
		}
	}
	if *s.Tests != len(s.Cases) || *s.Failures != failures || (s.Skipped != nil && *s.Skipped != skipped) {
		t.Errorf("counts: tests %d/%d failures %d/%d", *s.Tests, len(s.Cases), *s.Failures, failures)
	}
	if doc.Tests == nil || *doc.Tests != *s.Tests || doc.Failures == nil || *doc.Failures != *s.Failures {
		t.Error("testsuites totals do not match the suite")
	}
	return doc
}

func TestJUnit(t *testing.T) {
	j, err := verify.ReadJournal("../../../verify/testdata/human.journal.json")
	if err != nil {
		t.Fatal(err)
	}
	r := verify.Score(j)
	tests := []struct {
		name         string
		opt          JUnitOptions
		wantFailures int
		wantSkipped  int
	}{
		{"interactive run", JUnitOptions{DetectionObjective: "detect"}, 0, 0},
		{"detection over budget", JUnitOptions{DetectionObjective: "detect", DetectionBudget: 90}, 1, 0},
		{"headless without solve", JUnitOptions{DetectionObjective: "detect", Attempted: map[string]bool{"detect": true}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := JUnit(&b, j, r, tt.opt); err != nil {
				t.Fatal(err)
			}
			doc := checkJUnit(t, b.Bytes())
			if got := *doc.Suites[0].Failures; got != tt.wantFailures {
				t.Errorf("failures %d, want %d\n%s", got, tt.wantFailures, b.String())
			}
			if tt.name == "interactive run" {
				golden.Check(t, "junit.xml.golden", b.Bytes())
			}
			if xmllint, err := exec.LookPath("xmllint"); err == nil {
				f := filepath.Join(t.TempDir(), "j.xml")
				if err := writeFile(f, b.Bytes()); err != nil {
					t.Fatal(err)
				}
				if out, err := exec.Command(xmllint, "--noout", f).CombinedOutput(); err != nil {
					t.Errorf("xmllint: %v\n%s", err, out)
				}
			}
		})
	}
}
