package runner

import (
	"testing"
	"time"
)

// TestVerifyState: when a verification may start. The first once; after
// a failure, another only after a later write by the operator, within
// the attempts; never while one runs, nor after one passed.
func TestVerifyState(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	type op struct {
		do   string // start, pass, fail, write
		at   time.Duration
		want bool // for start: whether it may
	}
	tests := []struct {
		name string
		max  int
		ops  []op
	}{
		{"the first starts, not twice at once", 3, []op{{"start", 0, true}, {"start", 1, false}}},
		{"a pass is final", 3, []op{{"start", 0, true}, {"pass", 1, false}, {"write", 2, false}, {"start", 3, false}}},
		{"a failure waits for a write", 3, []op{{"start", 0, true}, {"fail", 5, false}, {"start", 6, false}, {"write", 7, false}, {"start", 8, true}}},
		{"a write before the failure does not count", 3, []op{{"start", 0, true}, {"write", 3, false}, {"fail", 5, false}, {"start", 6, false}}},
		{"attempts run out", 2, []op{{"start", 0, true}, {"fail", 1, false}, {"write", 2, false}, {"start", 3, true}, {"fail", 4, false}, {"write", 5, false}, {"start", 6, false}}},
		{"one attempt never retries", 1, []op{{"start", 0, true}, {"fail", 1, false}, {"write", 2, false}, {"start", 3, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s verifyState
			for i, o := range tt.ops {
				at := t0.Add(o.at * time.Second)
				switch o.do {
				case "start":
					if _, ok := s.start(tt.max); ok != o.want {
						t.Fatalf("op %d: start = %v, want %v (state %+v)", i, ok, o.want, &s)
					}
				case "pass", "fail":
					s.finish(o.do == "pass", at)
				case "write":
					s.wrote(at)
				}
			}
		})
	}
}

// TestVerifyStateSteps: the steps run before tell a later verification
// to run the scenario's again steps.
func TestVerifyStateSteps(t *testing.T) {
	var s verifyState
	if s.markRan() {
		t.Error("first verification: steps ran before")
	}
	if !s.markRan() {
		t.Error("second verification: steps did not run before")
	}
}
