package report

import (
	"bytes"
	"os"
	"testing"

	"github.com/gameday-sre/gameday/internal/golden"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

func TestGoldenReports(t *testing.T) {
	j, err := verify.ReadJournal("../../verify/testdata/human.journal.json")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture predates the answer key: it is re-scored with the
	// built-in scenario's, as gameday report does.
	s, err := scenarios.LoadBuiltin(j.Spec.Name)
	if err != nil {
		t.Fatal(err)
	}
	j, ok := verify.WithAnswerKey(j, s)
	if !ok {
		t.Fatal("no answer key added")
	}
	r := verify.Score(j)
	var md, sum bytes.Buffer
	if err := Markdown(&md, j, r); err != nil {
		t.Fatal(err)
	}
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

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }
