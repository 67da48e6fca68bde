package scenarios

import (
	"context"
	"fmt"
)

func init() { RegisterCondition("event", func() ConditionKind { return &EventCondition{} }) }

// EventCondition counts Kubernetes events.
type EventCondition struct {
	// Namespace of the events. Required.
	Namespace string `yaml:"namespace"`
	// InvolvedKind is the involved object's kind, for example Pod.
	InvolvedKind string `yaml:"involvedKind"`
	// InvolvedName is a regular expression on the involved object's name.
	InvolvedName string `yaml:"involvedName"`
	// Type is Normal or Warning.
	Type string `yaml:"type"`
	// Reason is the event reason, for example Failed or BackOff.
	Reason string `yaml:"reason"`
	// Message is a regular expression on the event message.
	Message string `yaml:"message"`
	// Count bounds the number of matching events (by occurrences).
	// Default at least 1.
	Count Count `yaml:"count"`
}

// Check implements ConditionKind.
func (q *EventCondition) Check(c *Checker, p string) {
	c.namespace(p+".namespace", q.Namespace)
	c.oneOf(p+".type", q.Type, []string{"Normal", "Warning"})
	c.regexp(p+".involvedName", q.InvolvedName)
	c.regexp(p+".message", q.Message)
	if q.Reason == "" && q.Message == "" {
		c.errs.add(p, "set reason or message (or both)")
	}
	c.count(p+".count", q.Count)
}

// Eval implements ConditionKind: events count by occurrences.
func (q *EventCondition) Eval(_ context.Context, w World) (bool, string) {
	n := 0
	for _, ev := range w.Events() {
		if ev.Namespace != q.Namespace || (q.InvolvedKind != "" && ev.InvolvedObject.Kind != q.InvolvedKind) ||
			(q.Type != "" && ev.Type != q.Type) || (q.Reason != "" && ev.Reason != q.Reason) {
			continue
		}
		if q.InvolvedName != "" && !w.Regexp(q.InvolvedName).MatchString(ev.InvolvedObject.Name) {
			continue
		}
		if q.Message != "" && !w.Regexp(q.Message).MatchString(ev.Message) {
			continue
		}
		n += int(max(ev.Count, 1))
	}
	return countHolds(n, q.Count), fmt.Sprintf("%d matching events in %s (want %s)", n, q.Namespace, countText(q.Count))
}
