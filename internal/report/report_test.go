package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gameday-sre/gameday/verify"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); rerun with -update if intended:\n%s", p, diff)
	}
}

func TestGoldenReports(t *testing.T) {
	j, err := verify.ReadJournal("../../verify/testdata/human.journal.json")
	if err != nil {
		t.Fatal(err)
	}
	r := verify.Score(j)
	var md, sum bytes.Buffer
	if err := Markdown(&md, j, r); err != nil {
		t.Fatal(err)
	}
	if err := Summary(&sum, j, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", md.Bytes())
	golden(t, "summary.golden", sum.Bytes())
	for _, want := range []string{"Over-broad permissions on the node role (-30)", "operator claimed image-tag-missing on shop/checkout:1.9.0 at 02:30", "`03:10` aws iam AttachRolePolicy"} {
		if !bytes.Contains(md.Bytes(), []byte(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func writeFile(p string, b []byte) error { return os.WriteFile(p, b, 0o644) }
