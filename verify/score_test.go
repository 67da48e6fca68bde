package verify

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestObjectivePoints(t *testing.T) {
	const m = time.Minute
	tests := []struct {
		name              string
		points            int
		at, target, limit time.Duration
		want              int
	}{
		{"within target", 20, 4 * m, 5 * m, 30 * m, 20},
		{"exactly at target", 20, 5 * m, 5 * m, 30 * m, 20},
		{"halfway to the limit", 20, 17*m + 30*time.Second, 5 * m, 30 * m, 15},
		{"at the limit keeps half", 20, 30 * m, 5 * m, 30 * m, 10},
		{"target equals limit", 20, 29 * m, 30 * m, 30 * m, 20},
		{"rounding", 25, 10 * m, 5 * m, 30 * m, 23},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ObjectivePoints(tt.points, tt.at, tt.target, tt.limit); got != tt.want {
				t.Errorf("got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestGrade(t *testing.T) {
	for _, tt := range []struct {
		total int
		want  string
	}{{100, "A"}, {90, "A"}, {89, "B"}, {80, "B"}, {75, "C"}, {60, "D"}, {59, "F"}, {0, "F"}} {
		if got := Grade(tt.total, 100); got != tt.want {
			t.Errorf("Grade(%d) = %s, want %s", tt.total, got, tt.want)
		}
	}
}

func TestScoreFixtureJournal(t *testing.T) {
	j, err := ReadJournal("testdata/human.journal.json")
	if err != nil {
		t.Fatal(err)
	}
	r := Score(j)
	got := map[string]int{}
	for _, o := range r.Objectives {
		got[o.ID] = o.Points
	}
	// fix at 03:10 (target 15m), detect and root cause at 06:40 (detect's
	// 5m target missed: 15 × (1 - 0.5 × 100s/1500s) = 14), restart 07:10,
	// recover 07:16.
	want := map[string]int{"detect": 14, "root-cause": 25, "fix": 25, "restart": 15, "recover": 20}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objective points (-want +got):\n%s", diff)
	}
	if len(r.Penalties) != 1 || r.Penalties[0].ID != "over-broad-node-role" || r.Penalties[0].Points != -30 {
		t.Errorf("penalties %+v", r.Penalties)
	}
	// 99 - 30 (AdministratorAccess) - 5 (hint 1)
	if r.Total != 64 || r.Max != 100 || r.Grade != "D" {
		t.Errorf("total %d/%d grade %s, want 64/100 D", r.Total, r.Max, r.Grade)
	}
	m := r.Metrics
	if m.TTD == nil || m.TTM == nil || m.TTR == nil || m.MTTR == nil {
		t.Fatalf("metrics missing: %+v", m)
	}
	near := func(got Seconds, want float64) bool { return float64(got) > want-0.01 && float64(got) < want+0.01 }
	if !near(*m.TTD, 400.2) || !near(*m.TTM, 190.4) || !near(*m.TTR, 436) || *m.MTTR != *m.TTR {
		t.Errorf("TTD %v TTM %v TTR %v MTTR %v; want 400.2, 190.4, 436, =TTR", *m.TTD, *m.TTM, *m.TTR, *m.MTTR)
	}
}

func TestScoreRules(t *testing.T) {
	h := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	spec := Spec{TimeLimit: 600, Objectives: []SpecObjective{
		{ID: "fix", Title: "Fix", Category: "fix", Points: 50, Target: 300},
		{ID: "restart", Title: "Restart", Category: "restart", Points: 50, Target: 300, After: []string{"fix"}},
	}, Penalties: []SpecPenalty{{ID: "bad", Title: "Bad", Points: 80}}}
	at := func(s float64) time.Time { return h.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name   string
		events []Event
		want   int
	}{
		{"nothing done", nil, 0},
		{"in order", []Event{{Time: at(10), Type: EventObjective, Objective: "fix"}, {Time: at(20), Type: EventObjective, Objective: "restart"}}, 100},
		{"restart before fix does not count", []Event{{Time: at(10), Type: EventObjective, Objective: "restart"}, {Time: at(20), Type: EventObjective, Objective: "fix"}}, 50},
		{"after the time limit does not count", []Event{{Time: at(601), Type: EventObjective, Objective: "fix"}}, 0},
		{"before handover does not count", []Event{{Time: at(-5), Type: EventObjective, Objective: "fix"}}, 0},
		{"score never below zero", []Event{{Time: at(10), Type: EventPenalty, Penalty: "bad"}}, 0},
		{"a penalty counts once", []Event{{Time: at(10), Type: EventObjective, Objective: "fix"}, {Time: at(20), Type: EventObjective, Objective: "restart"},
			{Time: at(30), Type: EventPenalty, Penalty: "bad"}, {Time: at(40), Type: EventPenalty, Penalty: "bad"}}, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Score(Journal{Format: JournalFormat, Spec: spec, Handover: h, Events: tt.events})
			if r.Total != tt.want {
				t.Errorf("total %d, want %d; %v", r.Total, tt.want, r.Explanation)
			}
		})
	}
}
