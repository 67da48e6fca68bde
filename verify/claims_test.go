package verify

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

const nodeRole = "arn:aws:iam::123456789012:role/eks-node-general-v2"

// seedSpec is the first incident's scoring spec: detect 15 and root
// cause 25 are the diagnosis points; 7 of its 9 causes are decoys. The
// scenarios package's TestJournalSpec keeps the file equal to what the
// built-in scenario writes into its journals.
func seedSpec(t *testing.T) Spec {
	t.Helper()
	b, err := os.ReadFile("../scenarios/testdata/ecr-imagepullbackoff.spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var sp Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		t.Fatal(err)
	}
	return sp
}

// claimsJournal is a run in which the fix, restart and recovery happen
// at 10:00 and the given claims are made a minute apart from 01:00.
func claimsJournal(sp Spec, claims ...Finding) Journal {
	h := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j := Journal{Format: JournalFormat, Spec: sp, Started: h.Add(-time.Minute), Handover: h}
	for i, f := range claims {
		f := f
		j.Events = append(j.Events, Event{Time: h.Add(time.Duration(i+1) * time.Minute), Type: EventFinding, Finding: &f})
	}
	for _, id := range []string{"fix", "restart", "recover"} {
		j.Events = append(j.Events, Event{Time: h.Add(10 * time.Minute), Type: EventObjective, Objective: id})
	}
	return j
}

func op(cause, resource string) Finding {
	return Finding{Cause: cause, Resource: resource, Source: SourceOperator}
}

func TestClaimCostBoundsTheShotgun(t *testing.T) {
	sp := seedSpec(t)
	if got := Decoys(sp); len(got) != 7 {
		t.Fatalf("decoys %v, want 7", got)
	}
	// 40 diagnosis points over twice 7 decoys, rounded up.
	if got := ClaimCost(sp); got != 3 {
		t.Errorf("ClaimCost = %d, want 3", got)
	}
}

func TestJudge(t *testing.T) {
	key := seedSpec(t).Claims
	det := func(cause, resource string) Finding {
		return Finding{Cause: cause, Resource: resource, Source: SourceDetector}
	}
	tests := []struct {
		name  string
		claim Finding
		want  string
	}{
		{"root cause on the right role", op("node-role-missing-ecr-read", nodeRole), VerdictRight},
		{"root cause by role name", op("node-role-missing-ecr-read", "eks-node-general-v2"), VerdictRight},
		{"symptom, any resource", det("image-pull-failure", "prod/checkout"), VerdictRight},
		{"root cause, no resource", op("node-role-missing-ecr-read", ""), VerdictRight}, // detect's answer needs none
		{"root cause on the wrong role", op("node-role-missing-ecr-read", "arn:aws:iam::123456789012:role/eks-node-general-v1"), VerdictWrong},
		{"a decoy", op("image-tag-missing", "shop/checkout:1.9.0"), VerdictWrong},
		{"an unknown cause", op("gremlins", ""), VerdictWrong},
		{"an alert that matches no cause", Finding{Source: SourceDetector, Note: "alert KubeNodeNotReady matches no cause"}, VerdictWrong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Judge(key, tt.claim); got != tt.want {
				t.Errorf("Judge(%+v) = %s, want %s", tt.claim, got, tt.want)
			}
		})
	}
	// A root cause that needs its resource: incomplete without it.
	only := []SpecClaim{{Cause: "c", Resource: "^r$", Objective: "root-cause"}}
	if got := Judge(only, op("c", "")); got != VerdictIncomplete {
		t.Errorf("right cause without the needed resource: %s, want %s", got, VerdictIncomplete)
	}
}

// TestClaimsAreJudged scores the same run with different claims, from an
// operator's point of view: fix, restart and recover (60 points) are
// always achieved at 10:00; detect (15) and root cause (25) depend on
// the claims.
func TestClaimsAreJudged(t *testing.T) {
	sp := seedSpec(t)
	var everything []Finding
	for _, c := range sp.Causes {
		everything = append(everything, op(c.ID, nodeRole))
	}
	right := op("node-role-missing-ecr-read", nodeRole)
	score := func(claims ...Finding) Result { return Score(claimsJournal(sp, claims...)) }

	single := score(right)
	shotgun := score(everything...)
	wrongThenRight := score(op("image-tag-missing", "shop/checkout:1.9.0"), right)
	surrounded := score(op("bad-release", ""), right, op("registry-unreachable", ""))
	wrongRole := score(op("node-role-missing-ecr-read", "arn:aws:iam::123456789012:role/eks-node-general-v1"), right)
	silent := score()

	if single.Rule != RuleClaims || single.Total != 100 {
		t.Errorf("a single correct claim: %d under %s, want 100 under %s\n%v", single.Total, single.Rule, RuleClaims, single.Explanation)
	}
	diagnosis := func(r Result) int { return r.Total - silent.Total }
	if got := diagnosis(shotgun); got > 20 {
		t.Errorf("claiming every cause earns %d diagnosis points, want at most half of 40\n%v", got, shotgun.Explanation)
	}
	if got := diagnosis(surrounded); got >= diagnosis(single) {
		t.Errorf("a correct claim surrounded by wrong ones earns %d, want less than the %d of the claim alone", got, diagnosis(single))
	}
	if got := diagnosis(wrongThenRight); got <= diagnosis(shotgun) || got >= diagnosis(single) {
		t.Errorf("wrong then right earns %d, want between the shotgun's %d and the single claim's %d", got, diagnosis(shotgun), diagnosis(single))
	}
	// The README's worked example.
	for name, got := range map[string]int{"single": diagnosis(single), "wrong then right": diagnosis(wrongThenRight),
		"wrong role then right": diagnosis(wrongRole), "shotgun": diagnosis(shotgun)} {
		want := map[string]int{"single": 40, "wrong then right": 37, "wrong role then right": 37, "shotgun": 19}[name]
		if got != want {
			t.Errorf("%s: %d diagnosis points, want %d (README's worked example)", name, got, want)
		}
	}
	if silent.Total != 60 {
		t.Errorf("no claims: %d, want 60", silent.Total)
	}
	// The claims are listed with their verdicts and costs.
	if len(wrongThenRight.Claims) != 2 || wrongThenRight.Claims[0].Verdict != VerdictWrong || wrongThenRight.Claims[0].Cost != 3 ||
		wrongThenRight.Claims[1].Verdict != VerdictRight || len(wrongThenRight.Claims[1].Objectives) != 2 {
		t.Errorf("claims %+v", wrongThenRight.Claims)
	}
	for _, o := range single.Objectives {
		if (o.ID == "detect" || o.ID == "root-cause") && (o.Claim == nil || o.Claim.Cause != right.Cause) {
			t.Errorf("objective %s does not record the claim that achieved it: %+v", o.ID, o.Claim)
		}
	}
}

func TestWrongClaimsCostNoMoreThanDiagnosisEarned(t *testing.T) {
	sp := seedSpec(t)
	var claims []Finding
	for i := 0; i < 20; i++ { // distinct wrong claims
		claims = append(claims, op("image-tag-missing", "shop/checkout:"+string(rune('a'+i))))
	}
	r := Score(claimsJournal(sp, append(claims, op("image-pull-failure", "prod/checkout"))...))
	// detect (15) earned, nothing else; the wrong claims cost those 15
	// and no more: fix, restart and recover keep their 60.
	if r.Total != 60 {
		t.Errorf("total %d, want 60\n%v", r.Total, r.Explanation)
	}
	if r.Detection.FalsePositives != 20 || r.Detection.TruePositives != 1 || r.Detection.RootCauseNamed {
		t.Errorf("detection %+v", r.Detection)
	}
}

// TestDetectorClaims scores a detector that alerts: a repeated right
// alert counts once, an alert that matches no cause is a false positive.
func TestDetectorClaims(t *testing.T) {
	sp := seedSpec(t)
	right := Finding{Cause: "image-pull-failure", Resource: "prod/checkout-1", Source: SourceDetector, Tool: "alertmanager", Note: "alert KubeContainerWaiting"}
	noise := Finding{Source: SourceDetector, Tool: "alertmanager", Note: "alert KubeNodeNotReady matches no cause"}
	r := Score(claimsJournal(sp, right, noise, right, noise))
	d := r.Detection
	if d.TruePositives != 1 || d.FalsePositives != 1 || d.RootCauseNamed || d.FirstCorrect == nil || *d.FirstCorrect != 60 {
		t.Errorf("detection %+v (first correct %v)", d, d.FirstCorrect)
	}
	if len(r.Claims) != 2 {
		t.Errorf("repeated claims judged again: %+v", r.Claims)
	}
	// detect 15 - 3 for the noise; no root cause.
	if r.Total != 60+15-3 {
		t.Errorf("total %d\n%v", r.Total, r.Explanation)
	}
}

func TestLegacyJournalKeepsItsRule(t *testing.T) {
	sp := seedSpec(t)
	sp.Claims = nil
	j := claimsJournal(sp, op("image-tag-missing", ""))
	j.Events = append(j.Events, Event{Time: j.Handover.Add(time.Minute), Type: EventObjective, Objective: "detect"})
	r := Score(j)
	if r.Rule != RuleLegacy || r.Total != 75 || len(r.Claims) != 0 {
		t.Errorf("legacy journal: rule %s, total %d, claims %d", r.Rule, r.Total, len(r.Claims))
	}
}
