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

// TestScoreControl scores a control scenario: silence to the time limit
// is the right answer, and every claim of a failure costs.
func TestScoreControl(t *testing.T) {
	h := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return h.Add(time.Duration(s * float64(time.Second))) }
	spec := Spec{TimeLimit: 600, Control: true,
		Objectives: []SpecObjective{{ID: "call-it", Title: "Call it", Category: "rootCause", Points: 100, Target: 300}},
		Causes:     []SpecCause{{ID: "no-incident"}, {ID: "cpu-throttled"}, {ID: "db-pool"}, {ID: "dns"}, {ID: "nodes-not-ready"}, {ID: "crashloop"}},
		Claims:     []SpecClaim{{Cause: "no-incident", Objective: "call-it"}}}
	claim := func(s float64, cause string) Event {
		return Event{Time: at(s), Type: EventFinding, Finding: &Finding{Cause: cause, Source: "operator"}}
	}
	alert := Event{Time: at(40), Type: EventFinding, Finding: &Finding{Source: "detector", Note: "alert HighLatency matches no cause"}}
	tests := []struct {
		name    string
		outcome string
		ended   float64
		events  []Event
		want    int
		fp      int
	}{
		{"nobody acts to the limit", OutcomeTimeLimit, 600.3, nil, 100, 0},
		{"a run cut short (--time-limit) that reached its limit", OutcomeTimeLimit, 45, nil, 100, 0},
		{"no incident claimed in time", OutcomeCompleted, 60, []Event{claim(60, "no-incident")}, 100, 0},
		{"no incident claimed late decays", OutcomeCompleted, 450, []Event{claim(450, "no-incident")}, 75, 0},
		{"one false alarm", OutcomeTimeLimit, 600, []Event{claim(30, "cpu-throttled")}, 90, 1},
		{"an alert that matches no cause is a false alarm", OutcomeTimeLimit, 600, []Event{alert}, 90, 1},
		{"the same claim twice counts once", OutcomeTimeLimit, 600, []Event{claim(30, "dns"), claim(90, "dns")}, 90, 1},
		{"false alarm, then no incident", OutcomeCompleted, 120, []Event{claim(30, "dns"), claim(120, "no-incident")}, 90, 1},
		{"claiming everything costs everything", OutcomeTimeLimit, 600, []Event{claim(1, "cpu-throttled"), claim(2, "db-pool"), claim(3, "dns"),
			claim(4, "nodes-not-ready"), claim(5, "crashloop"), {Time: at(6), Type: EventFinding, Finding: &Finding{Cause: "dns", Source: "detector"}},
			{Time: at(7), Type: EventFinding, Finding: &Finding{Cause: "db-pool", Source: "detector"}}, alert, claim(9, "cpu-throttled"),
			{Time: at(10), Type: EventFinding, Finding: &Finding{Cause: "crashloop", Source: "detector"}},
			{Time: at(11), Type: EventFinding, Finding: &Finding{Cause: "nodes-not-ready", Source: "detector"}}}, 0, 10},
		{"giving up earns nothing", OutcomeGaveUp, 100, nil, 0, 0},
		{"an aborted run earns nothing", OutcomeAborted, 100, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Score(Journal{Format: JournalFormat, Spec: spec, Handover: h, Ended: at(tt.ended), Outcome: tt.outcome, Events: tt.events})
			if r.Total != tt.want || r.Detection.FalsePositives != tt.fp {
				t.Errorf("total %d, %d false positives; want %d, %d; %v", r.Total, r.Detection.FalsePositives, tt.want, tt.fp, r.Explanation)
			}
		})
	}
	// The same silence on a scenario that is not a control earns nothing.
	notControl := spec
	notControl.Control = false
	if r := Score(Journal{Format: JournalFormat, Spec: notControl, Handover: h, Ended: at(600), Outcome: OutcomeTimeLimit}); r.Total != 0 {
		t.Errorf("a fault scenario's silence scored %d: %v", r.Total, r.Explanation)
	}
}
