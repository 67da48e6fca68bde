package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/verify"
)

// maxAlertPayload bounds an Alertmanager webhook body.
const maxAlertPayload = 1 << 20

// AlertmanagerPayload is the body Alertmanager's webhook receiver posts
// (format version 4), unchanged.
type AlertmanagerPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a webhook payload.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// decodeStrict decodes one JSON value, rejecting unknown fields and
// trailing data.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// DecodeAlertmanager decodes and checks a webhook payload.
func DecodeAlertmanager(r io.Reader) (AlertmanagerPayload, error) {
	var p AlertmanagerPayload
	if err := decodeStrict(r, &p); err != nil {
		return p, fmt.Errorf("bad Alertmanager payload: %w", err)
	}
	if p.Version != "4" {
		return p, fmt.Errorf("bad Alertmanager payload: version %q, want \"4\"", p.Version)
	}
	for i, a := range p.Alerts {
		if a.Labels["alertname"] == "" {
			return p, fmt.Errorf("bad Alertmanager payload: alerts[%d] has no alertname label", i)
		}
		if a.Status != "firing" && a.Status != "resolved" {
			return p, fmt.Errorf("bad Alertmanager payload: alerts[%d] status %q", i, a.Status)
		}
	}
	return p, nil
}

// DecodeFinding decodes and checks a finding.
func DecodeFinding(r io.Reader) (FindingRequest, error) {
	var f FindingRequest
	if err := decodeStrict(r, &f); err != nil {
		return f, fmt.Errorf("bad finding: %w", err)
	}
	if f.Source == "" {
		f.Source = scenarios.SourceOperator
	}
	if f.Source != scenarios.SourceOperator && f.Source != scenarios.SourceDetector {
		return f, errors.New("bad finding: source must be operator or detector")
	}
	if strings.TrimSpace(f.Cause) == "" {
		return f, errors.New("bad finding: cause is required")
	}
	return f, nil
}

var templateRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// MatchAlert finds the scenario matcher an alert satisfies and returns
// the cause and the finding's resource.
func MatchAlert(s *scenarios.Scenario, a Alert) (cause, resource string, ok bool) {
	for _, m := range s.Spec.AlertMatchers {
		if a.Labels["alertname"] != m.AlertName || !matchAll(s, m.Labels, a.Labels) || !matchAll(s, m.Annotations, a.Annotations) {
			continue
		}
		res := templateRE.ReplaceAllStringFunc(m.Resource, func(t string) string {
			return a.Labels[templateRE.FindStringSubmatch(t)[1]]
		})
		return m.Cause, res, true
	}
	return "", "", false
}

func matchAll(s *scenarios.Scenario, want, got map[string]string) bool {
	for k, expr := range want {
		x, err := s.ExpandRegexp(expr)
		if err != nil {
			return false
		}
		re, err := regexp.Compile(x)
		if err != nil || !re.MatchString(got[k]) {
			return false
		}
	}
	return true
}

// handleAlertmanager takes an Alertmanager webhook: each firing alert that
// a scenario matcher maps to a cause becomes a detector finding; one that
// matches none is recorded as a false positive.
func (sv *server) handleAlertmanager(w http.ResponseWriter, req *http.Request) {
	p, err := DecodeAlertmanager(http.MaxBytesReader(w, req.Body, maxAlertPayload))
	if err != nil {
		writeDecodeError(w, err)
		return
	}
	recorded := 0
	for _, a := range p.Alerts {
		if a.Status != "firing" {
			continue
		}
		name := a.Labels["alertname"]
		tool := "alertmanager"
		if p.Receiver != "" {
			tool += "/" + p.Receiver
		}
		cause, resource, ok := MatchAlert(sv.game.Scenario(), a)
		if !ok {
			f := verify.Finding{Source: scenarios.SourceDetector, Tool: tool, Severity: a.Labels["severity"], Note: "alert " + name + " matches no cause"}
			sv.game.Claim(f, actorOf(req), "false positive: alert "+name+" matches no cause")
			recorded++
			continue
		}
		f := verify.Finding{Cause: cause, Resource: resource, Source: scenarios.SourceDetector, Tool: tool, Severity: a.Labels["severity"], Note: "alert " + name}
		sv.game.Claim(f, actorOf(req), fmt.Sprintf("alert %s claims %s on %s", name, cause, resource))
		recorded++
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"recorded": recorded})
}

// writeDecodeError answers a request whose body could not be decoded: 413
// when it was over the size limit, 400 otherwise.
func writeDecodeError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		status = http.StatusRequestEntityTooLarge
	}
	writeJSONError(w, status, err.Error())
}
