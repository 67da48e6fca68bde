package scenarios

import (
	"bytes"
	"context"
	"fmt"

	"k8s.io/client-go/util/jsonpath"
)

func init() { RegisterCondition("object", func() ConditionKind { return &ObjectCondition{} }) }

// ObjectCondition checks any Kubernetes object, by JSONPath.
type ObjectCondition struct {
	// APIVersion of the object, for example v1. Required.
	APIVersion string `yaml:"apiVersion"`
	// Kind of the object, for example ConfigMap. Required.
	Kind string `yaml:"kind"`
	// Namespace is empty for cluster-scoped objects.
	Namespace string `yaml:"namespace"`
	// Name of the object. Required.
	Name string `yaml:"name"`
	// Exists checks existence (default true).
	Exists *bool `yaml:"exists"`
	// JSONPath selects a value, in kubectl's JSONPath syntax
	// ("{.data.LOG_LEVEL}").
	JSONPath string `yaml:"jsonPath"`
	// Equals compares the selected value as a string.
	Equals *string `yaml:"equals"`
	// Matches is a regular expression on the selected value.
	Matches string `yaml:"matches"`
}

// Check implements ConditionKind.
func (q *ObjectCondition) Check(c *Checker, p string) {
	c.objectRef(p, q.ref())
	if q.JSONPath != "" {
		if _, err := jsonpath.Parse("check", q.JSONPath); err != nil {
			c.errs.add(p+".jsonPath", "invalid JSONPath: %v", err)
		}
	}
	if (q.Equals != nil || q.Matches != "") && q.JSONPath == "" {
		c.errs.add(p+".jsonPath", "required with equals or matches")
	}
	if q.Equals != nil && q.Matches != "" {
		c.errs.add(p, "equals and matches are mutually exclusive")
	}
	c.regexp(p+".matches", q.Matches)
}

func (q *ObjectCondition) ref() ObjectRef {
	return ObjectRef{APIVersion: q.APIVersion, Kind: q.Kind, Namespace: q.Namespace, Name: q.Name}
}

// Eval implements ConditionKind.
func (q *ObjectCondition) Eval(ctx context.Context, w World) (bool, string) {
	obj, exists, err := w.Object(ctx, q.ref())
	if err != nil {
		return false, err.Error()
	}
	id := fmt.Sprintf("%s %s", q.Kind, q.Name)
	if q.Exists != nil && !*q.Exists {
		return !exists, fmt.Sprintf("%s exists: %v", id, exists)
	}
	if !exists {
		return false, id + " does not exist"
	}
	if q.JSONPath == "" {
		return true, id + " exists"
	}
	jp := jsonpath.New("check").AllowMissingKeys(true)
	if err := jp.Parse(q.JSONPath); err != nil {
		return false, err.Error()
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, obj); err != nil {
		return false, err.Error()
	}
	got := buf.String()
	obs := fmt.Sprintf("%s %s = %q", id, q.JSONPath, got)
	switch {
	case q.Equals != nil:
		return got == *q.Equals, obs
	case q.Matches != "":
		return w.Regexp(q.Matches).MatchString(got), obs
	}
	return true, obs
}
