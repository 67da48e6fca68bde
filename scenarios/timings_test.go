package scenarios

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// timingRow is a timing's row in the table of timings in docs/writing-scenarios.md.
func timingRow(tm Timing) string {
	return fmt.Sprintf("| `%s` | %s | %s to %s | %s |", tm.Name, tm.Setting, Duration{tm.Min}, Duration{tm.Max}, Duration{tm.Default})
}

// TestTimingsDocumented checks that every timing has a field with the
// same YAML name, that its default lies in its range, and that the
// table in docs/writing-scenarios.md says what the code does.
func TestTimingsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../docs/writing-scenarios.md")
	if err != nil {
		t.Fatal(err)
	}
	var zero Timings
	DefaultTimings(&zero)
	for _, tm := range TimingTable {
		if tm.Default < tm.Min || tm.Default > tm.Max {
			t.Errorf("%s: default %s outside %s–%s", tm.Name, tm.Default, tm.Min, tm.Max)
		}
		if got := tm.Of(zero); got != tm.Default {
			t.Errorf("%s: defaulted to %s, want %s", tm.Name, got, tm.Default)
		}
		if !strings.Contains(string(readme), timingRow(tm)) {
			t.Errorf("docs/writing-scenarios.md lacks the row\n%s", timingRow(tm))
		}
	}
	if len(zero.Summary()) != len(TimingTable) {
		t.Errorf("Summary lists %d timings, want %d", len(zero.Summary()), len(TimingTable))
	}
}

// TestTimingsYAMLNames checks that each timing's name in the table is
// its field's YAML key: a document setting every timing to its minimum
// decodes to those minimums.
func TestTimingsYAMLNames(t *testing.T) {
	var doc strings.Builder
	for _, tm := range TimingTable {
		fmt.Fprintf(&doc, "%s: %s\n", tm.Name, Duration{tm.Min})
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc.String()), &n); err != nil {
		t.Fatal(err)
	}
	errs := newErrorList("timings.yaml")
	var got Timings
	newDecoder(errs).decode(n.Content[0], reflect.ValueOf(&got).Elem(), "timings")
	if len(errs.errs) > 0 {
		t.Fatalf("decode: %v", errs.errs)
	}
	for _, tm := range TimingTable {
		if tm.Of(got) != tm.Min {
			t.Errorf("%s: read %s, want %s", tm.Name, Duration{tm.Of(got)}, Duration{tm.Min})
		}
	}
}
