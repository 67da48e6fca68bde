// Package iampolicy evaluates IAM identity policies the way AWS does for a
// single principal: an explicit Deny wins, otherwise an Allow is needed,
// otherwise the request is implicitly denied; where the principal has a
// permissions boundary, the boundary must allow the request too. It
// supports Action, NotAction, Resource and NotResource with * and ?
// wildcards. Conditions are out of scope; statements with a Condition are
// reported so callers can say so.
//
// gameday uses it where the AWS emulator does not enforce IAM (LocalStack
// free tier) and to judge scenario conditions such as "this role allows
// ecr:BatchGetImage".
package iampolicy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Effect is the outcome of an evaluation.
type Effect int

const (
	// ImplicitDeny: no statement allows the request.
	ImplicitDeny Effect = iota
	// Allow: a statement allows it and none denies it.
	Allow
	// ExplicitDeny: a statement denies it.
	ExplicitDeny
)

// String names the effect.
func (e Effect) String() string {
	switch e {
	case Allow:
		return "allow"
	case ExplicitDeny:
		return "explicit deny"
	default:
		return "implicit deny"
	}
}

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy.
type Statement struct {
	Sid         string          `json:"Sid,omitempty"`
	Effect      string          `json:"Effect"`
	Principal   json.RawMessage `json:"Principal,omitempty"`
	Action      List            `json:"Action,omitempty"`
	NotAction   List            `json:"NotAction,omitempty"`
	Resource    List            `json:"Resource,omitempty"`
	NotResource List            `json:"NotResource,omitempty"`
	Condition   json.RawMessage `json:"Condition,omitempty"`
}

// List is a JSON string or list of strings.
type List []string

// UnmarshalJSON accepts a string or a list of strings.
func (l *List) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = List{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*l = many
	return nil
}

// Parse decodes a policy document as AWS returns it: JSON, possibly
// URL-encoded (as IAM's GetPolicyVersion and GetRolePolicy return it).
func Parse(text string) (Document, error) {
	if t := strings.TrimSpace(text); !strings.HasPrefix(t, "{") {
		if dec, err := url.QueryUnescape(t); err == nil {
			text = dec
		}
	}
	var d Document
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		// A single statement may be written as an object.
		var raw struct {
			Version   string    `json:"Version"`
			Statement Statement `json:"Statement"`
		}
		if err2 := json.Unmarshal([]byte(text), &raw); err2 != nil {
			return Document{}, fmt.Errorf("parse policy: %w", err)
		}
		d = Document{Version: raw.Version, Statement: []Statement{raw.Statement}}
	}
	return d, nil
}

// Request is what is evaluated: an action on a resource.
type Request struct {
	Action   string
	Resource string
}

// Result explains an evaluation.
type Result struct {
	Effect Effect
	// Policy and Sid name the deciding statement ("" for implicit deny).
	Policy, Sid string
	// Conditional is true if a statement that would have matched has a
	// Condition, which this evaluator does not check (it then ignores that
	// statement for Allow and applies it for Deny, the safe side).
	Conditional bool
	// Boundary is true when the permissions boundary decided: it denies
	// the request explicitly, or it does not allow what the identity
	// policies allow.
	Boundary bool
}

// Named is a policy document with a name for explanations.
type Named struct {
	Name     string
	Document Document
	// Boundary marks the principal's permissions boundary: it grants
	// nothing itself, it caps what the other policies grant.
	Boundary bool
}

// Evaluate decides a request against a principal's policies and its
// permissions boundary, if any of them is marked as one.
func Evaluate(policies []Named, req Request) Result {
	var identity, boundary []Named
	for _, p := range policies {
		if p.Boundary {
			boundary = append(boundary, p)
		} else {
			identity = append(identity, p)
		}
	}
	res := evaluate(identity, req)
	if len(boundary) == 0 || res.Effect == ExplicitDeny {
		return res
	}
	b := evaluate(boundary, req)
	switch {
	case b.Effect == ExplicitDeny:
		b.Boundary = true
		return b
	case res.Effect == Allow && b.Effect != Allow:
		return Result{Effect: ImplicitDeny, Policy: boundary[0].Name, Boundary: true, Conditional: b.Conditional}
	}
	return res
}

// evaluate decides a request against one set of policies.
func evaluate(policies []Named, req Request) Result {
	res := Result{Effect: ImplicitDeny}
	for _, p := range policies {
		for _, st := range p.Document.Statement {
			if !matchesAction(st, req.Action) || !matchesResource(st, req.Resource) {
				continue
			}
			conditional := len(st.Condition) > 0 && string(st.Condition) != "{}" && string(st.Condition) != "null"
			switch {
			case strings.EqualFold(st.Effect, "Deny"):
				return Result{Effect: ExplicitDeny, Policy: p.Name, Sid: st.Sid, Conditional: conditional}
			case strings.EqualFold(st.Effect, "Allow") && conditional:
				res.Conditional = true
			case strings.EqualFold(st.Effect, "Allow") && res.Effect != Allow:
				res = Result{Effect: Allow, Policy: p.Name, Sid: st.Sid, Conditional: res.Conditional}
			}
		}
	}
	return res
}

// Allows reports whether every action is allowed on resource.
func Allows(policies []Named, resource string, actions ...string) bool {
	for _, a := range actions {
		if Evaluate(policies, Request{Action: a, Resource: resource}).Effect != Allow {
			return false
		}
	}
	return len(actions) > 0
}

// GrantsLiterally reports whether some Allow statement of the identity
// policies (not the boundary) lists pattern literally in its Action
// (case-insensitive), for example "ecr:*".
func GrantsLiterally(policies []Named, pattern string) bool {
	for _, p := range policies {
		if p.Boundary {
			continue
		}
		for _, st := range p.Document.Statement {
			if !strings.EqualFold(st.Effect, "Allow") {
				continue
			}
			for _, a := range st.Action {
				if strings.EqualFold(a, pattern) {
					return true
				}
			}
		}
	}
	return false
}

func matchesAction(st Statement, action string) bool {
	if len(st.NotAction) > 0 {
		return !anyMatch(st.NotAction, action, true)
	}
	return anyMatch(st.Action, action, true)
}

func matchesResource(st Statement, resource string) bool {
	if len(st.NotResource) > 0 {
		return !anyMatch(st.NotResource, resource, false)
	}
	if len(st.Resource) == 0 {
		return true // identity policies without Resource are invalid in AWS; be lenient
	}
	return anyMatch(st.Resource, resource, false)
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if Match(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if Match(p, s) {
			return true
		}
	}
	return false
}

// Match reports whether s matches pattern, where * matches any run of
// characters and ? any one character (IAM's wildcard syntax).
func Match(pattern, s string) bool {
	// Iterative glob match with backtracking on the last star.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
