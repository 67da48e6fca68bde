package session

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// webhook is an Alertmanager webhook body in Alertmanager's documented
// format, with kube-prometheus alerts: one for the incident, one that
// matches no cause, and a resolved one.
const webhook = `{
  "version": "4",
  "groupKey": "{}:{alertname=\"KubeContainerWaiting\"}",
  "truncatedAlerts": 0,
  "status": "firing",
  "receiver": "gameday",
  "groupLabels": {"alertname": "KubeContainerWaiting"},
  "commonLabels": {"alertname": "KubeContainerWaiting", "namespace": "prod", "severity": "warning"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager.monitoring:9093",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "KubeContainerWaiting", "container": "checkout", "namespace": "prod", "pod": "checkout-8667bd6d9d-4vvv7", "reason": "ImagePullBackOff", "severity": "warning"},
      "annotations": {"description": "pod/checkout-8667bd6d9d-4vvv7 in namespace prod on container checkout has been in waiting state for longer than 1 hour.", "runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubecontainerwaiting", "summary": "Pod container waiting longer than 1 hour"},
      "startsAt": "2026-11-02T14:01:10Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.monitoring:9090/graph?g0.expr=...",
      "fingerprint": "b0c5c5a4d8e1b5e3"
    },
    {
      "status": "firing",
      "labels": {"alertname": "KubeNodeNotReady", "node": "ip-10-0-2-10.ec2.internal", "severity": "warning"},
      "annotations": {"summary": "Node is not ready."},
      "startsAt": "2026-11-02T14:01:20Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.monitoring:9090/graph",
      "fingerprint": "0c9d1e2f3a4b5c6d"
    },
    {
      "status": "resolved",
      "labels": {"alertname": "KubePodNotReady", "namespace": "prod", "pod": "checkout-old"},
      "annotations": {},
      "startsAt": "2026-11-02T13:00:00Z",
      "endsAt": "2026-11-02T13:10:00Z",
      "generatorURL": "",
      "fingerprint": "1"
    }
  ]
}`

// fakeGame is a Game that records what the session API asks of it.
type fakeGame struct {
	s      *scenarios.Scenario
	mu     sync.Mutex
	claims []verify.Finding
	// by are who made each claim, hint and the give-up, in order.
	by     []string
	hints  int
	gaveUp bool
}

func newFakeGame(t *testing.T) *fakeGame {
	t.Helper()
	s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	return &fakeGame{s: s}
}

func (g *fakeGame) Scenario() *scenarios.Scenario { return g.s }

func (g *fakeGame) Status() Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Status{Scenario: g.s.Metadata.Name, HintsUsed: g.hints, HintsLeft: 1 - g.hints}
}

func (g *fakeGame) Hint(reveal bool, by string) (HintInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.hints >= 1 {
		return HintInfo{}, ErrNoHints
	}
	h := HintInfo{N: 1, Of: 1, Cost: 5}
	if reveal {
		g.hints++
		g.by = append(g.by, "hint:"+by)
		h.Text = "Start where the pods are."
	}
	return h, nil
}

func (g *fakeGame) Claim(f verify.Finding, by, _ string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.claims = append(g.claims, f)
	g.by = append(g.by, "claim:"+by)
}

func (g *fakeGame) GiveUp(by string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gaveUp = true
	g.by = append(g.by, "give-up:"+by)
}

// actors returns who made each claim, hint and give-up, in order.
func actors(g *fakeGame) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.by)
}

func findings(g *fakeGame) []verify.Finding {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]verify.Finding(nil), g.claims...)
}

func TestAlertmanagerWebhook(t *testing.T) {
	g := newFakeGame(t)
	sv := &server{game: g}
	srv := httptest.NewServer(authorize(map[string]string{"tok": Operator}, http.HandlerFunc(sv.handleAlertmanager)))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(webhook))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := findings(g)
	if len(got) != 2 {
		t.Fatalf("%d findings, want 2 (the resolved alert is ignored): %+v", len(got), got)
	}
	if f := got[0]; f.Cause != "image-pull-failure" || f.Resource != "prod/checkout-8667bd6d9d-4vvv7" || f.Source != "detector" || f.Tool != "alertmanager/gameday" {
		t.Errorf("credited finding %+v", f)
	}
	if f := got[1]; f.Cause != "" || !strings.Contains(f.Note, "KubeNodeNotReady matches no cause") {
		t.Errorf("false positive %+v", f)
	}
}

func TestInboxRejectsBadInput(t *testing.T) {
	g := newFakeGame(t)
	sv := &server{game: g}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/findings", sv.handleFinding)
	mux.HandleFunc("POST /v1/alertmanager", sv.handleAlertmanager)
	srv := httptest.NewServer(authorize(map[string]string{"tok": Operator}, mux))
	defer srv.Close()
	tests := []struct {
		name, path, token, body string
		want                    int
		wantErr                 string
	}{
		{"no token", "/v1/findings", "", `{"cause":"image-pull-failure"}`, 401, "bearer token"},
		{"wrong token", "/v1/findings", "nope", `{"cause":"image-pull-failure"}`, 401, "bearer token"},
		{"malformed JSON", "/v1/findings", "tok", `{"cause":`, 400, "bad finding"},
		{"unknown field", "/v1/findings", "tok", `{"cause":"image-pull-failure","confidence":0.9}`, 400, `unknown field "confidence"`},
		{"no cause", "/v1/findings", "tok", `{"resource":"x"}`, 400, "cause is required"},
		{"unknown cause", "/v1/findings", "tok", `{"cause":"gremlins"}`, 400, `unknown cause "gremlins"`},
		{"bad source", "/v1/findings", "tok", `{"cause":"image-pull-failure","source":"oracle"}`, 400, "source must be"},
		{"trailing data", "/v1/findings", "tok", `{"cause":"image-pull-failure"} {}`, 400, "trailing data"},
		{"too large", "/v1/findings", "tok", `{"cause":"image-pull-failure","note":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "too large"},
		{"good finding", "/v1/findings", "tok", `{"cause":"node-role-missing-ecr-read","resource":"arn:aws:iam::123456789012:role/eks-node-general-v2","source":"detector","tool":"k8sgpt"}`, 202, ""},
		{"webhook of another version", "/v1/alertmanager", "tok", `{"version":"3","alerts":[]}`, 400, `version "3"`},
		{"webhook with unknown field", "/v1/alertmanager", "tok", `{"version":"4","alerts":[],"extra":1}`, 400, "unknown field"},
		{"alert without name", "/v1/alertmanager", "tok", `{"version":"4","alerts":[{"status":"firing","labels":{}}]}`, 400, "no alertname"},
		{"webhook too large", "/v1/alertmanager", "tok", `{"version":"4","groupKey":"` + strings.Repeat("x", 1<<20) + `"}`, 413, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.want, body.String())
			}
			if tt.wantErr != "" {
				var e struct{ Error string }
				_ = json.Unmarshal(body.Bytes(), &e)
				if !strings.Contains(e.Error, tt.wantErr) {
					t.Errorf("error %q does not mention %q", e.Error, tt.wantErr)
				}
			}
		})
	}
	if got := findings(g); len(got) != 1 || got[0].Tool != "k8sgpt" {
		t.Errorf("only the good finding should be recorded: %+v", got)
	}
}

func FuzzDecodeFinding(f *testing.F) {
	f.Add([]byte(`{"cause":"image-pull-failure","resource":"prod/x","source":"detector"}`))
	f.Add([]byte(`{"cause":`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFinding(bytes.NewReader(b))
		if err == nil && (fr.Cause == "" || (fr.Source != "operator" && fr.Source != "detector")) {
			t.Fatalf("accepted an invalid finding: %+v", fr)
		}
	})
}

func FuzzDecodeAlertmanager(f *testing.F) {
	f.Add([]byte(webhook))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X"}}]}`))
	s, err := scenarios.LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeAlertmanager(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, a := range p.Alerts {
			MatchAlert(s, a)
		}
	})
}
