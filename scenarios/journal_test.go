package scenarios

import (
	"encoding/json"
	"testing"

	"github.com/gameday-sre/gameday/internal/testkit/golden"
	"github.com/gameday-sre/gameday/verify"
)

// TestJournalSpec pins what the seed incident puts into its journals for
// scoring. The verify package's tests score journals under this spec, so
// they test the real scenario's rules without loading a scenario.
func TestJournalSpec(t *testing.T) {
	s, err := LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(s.JournalSpec(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "ecr-imagepullbackoff.spec.json", append(b, '\n'))
}

func TestWithAnswerKey(t *testing.T) {
	s, err := LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	legacy := s.JournalSpec()
	legacy.Claims = nil
	keyed := s.JournalSpec()
	keyed.Claims = keyed.Claims[:1]
	tests := []struct {
		name     string
		spec     verify.Spec
		scenario *Scenario
		added    bool
		claims   int
	}{
		{"a legacy journal gets its scenario's key", legacy, s, true, len(s.AnswerKey())},
		{"another scenario's key is not added", legacy, &Scenario{Metadata: Metadata{Name: "other"}}, false, 0},
		{"no scenario, no key", legacy, nil, false, 0},
		{"a journal's own key stays", keyed, s, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, added := WithAnswerKey(verify.Journal{Spec: tt.spec}, tt.scenario)
			if added != tt.added || len(got.Spec.Claims) != tt.claims {
				t.Errorf("added=%v with %d claims, want added=%v with %d", added, len(got.Spec.Claims), tt.added, tt.claims)
			}
		})
	}
}
