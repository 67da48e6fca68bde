package iampolicy

import (
	"encoding/json"
	"strings"
)

// WebIdentity is a request to assume a role with a web identity token
// (sts:AssumeRoleWithWebIdentity), as a role's trust policy sees it.
type WebIdentity struct {
	// Provider is the ARN of the IAM OIDC provider of the token's issuer
	// (arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH).
	Provider string
	// Keys are the condition keys the request carries and their values,
	// such as "oidc.eks.REGION.amazonaws.com/id/ID:sub".
	Keys map[string][]string
}

// TrustsWebIdentity says whether a role's trust policy lets req assume
// the role, as IAM decides it: some Allow statement for
// sts:AssumeRoleWithWebIdentity names the provider as its Federated
// principal and all its conditions hold, and no such Deny statement
// applies. The string operators (StringEquals, StringLike, their Not and
// IgnoreCase forms, IfExists, ForAnyValue and ForAllValues) are
// evaluated; a statement with any other operator never applies, so an
// Allow fails closed.
func TrustsWebIdentity(doc Document, req WebIdentity) bool {
	allowed := false
	for _, st := range doc.Statement {
		if !matchesAction(st, "sts:AssumeRoleWithWebIdentity") || !federated(st.Principal, req.Provider) || !conditionsHold(st.Condition, req.Keys) {
			continue
		}
		switch st.Effect {
		case "Deny":
			return false
		case "Allow":
			allowed = true
		}
	}
	return allowed
}

// federated says a statement's principal names provider as Federated.
func federated(principal json.RawMessage, provider string) bool {
	var any string
	if json.Unmarshal(principal, &any) == nil {
		return any == "*"
	}
	var p map[string]List
	if json.Unmarshal(principal, &p) != nil {
		return false
	}
	for _, f := range p["Federated"] {
		if f == provider || f == "*" {
			return true
		}
	}
	return false
}

// conditionsHold evaluates a Condition block against the request's keys.
func conditionsHold(cond json.RawMessage, keys map[string][]string) bool {
	if len(cond) == 0 || string(cond) == "null" {
		return true
	}
	var block map[string]map[string]List
	if json.Unmarshal(cond, &block) != nil {
		return false
	}
	for op, tests := range block {
		for key, want := range tests {
			if !holds(op, lookup(keys, key), want) {
				return false
			}
		}
	}
	return true
}

// lookup finds a condition key's values; keys are case-insensitive.
func lookup(keys map[string][]string, key string) []string {
	for k, v := range keys {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// holds applies one condition operator to a key's values.
func holds(op string, have []string, want List) bool {
	set, op := "", op
	if s, rest, ok := strings.Cut(op, ":"); ok && (s == "ForAnyValue" || s == "ForAllValues") {
		set, op = s, rest
	}
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	var one func(string) bool
	negate := false
	switch op {
	case "StringEquals", "StringNotEquals":
		one = func(v string) bool { return contains(want, v, false) }
		negate = op == "StringNotEquals"
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		one = func(v string) bool { return contains(want, v, true) }
		negate = op == "StringNotEqualsIgnoreCase"
	case "StringLike", "StringNotLike":
		one = func(v string) bool { return anyMatch(want, v, false) }
		negate = op == "StringNotLike"
	default:
		return false
	}
	if len(have) == 0 {
		// A missing key: IfExists and the negated operators hold, as
		// does ForAllValues over an empty set.
		return ifExists || negate || set == "ForAllValues"
	}
	match := func(v string) bool { return one(v) != negate }
	if set == "ForAllValues" {
		for _, v := range have {
			if !match(v) {
				return false
			}
		}
		return true
	}
	for _, v := range have {
		if match(v) {
			return true
		}
	}
	return false
}

func contains(list []string, v string, fold bool) bool {
	for _, w := range list {
		if w == v || (fold && strings.EqualFold(w, v)) {
			return true
		}
	}
	return false
}
