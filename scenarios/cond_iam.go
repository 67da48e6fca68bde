package scenarios

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gameday-sre/gameday/internal/domain/iampolicy"
)

func init() { RegisterCondition("iam", func() ConditionKind { return &IAMCondition{} }) }

// IAMCondition checks an IAM role. Every set predicate must hold.
type IAMCondition struct {
	// Role name. Required.
	Role string `yaml:"role"`
	// HasPolicy: this managed policy (ARN or AWS managed name) is attached.
	HasPolicy string `yaml:"hasPolicy"`
	// HasAnyPolicy: at least one of these managed policies is attached.
	HasAnyPolicy []string `yaml:"hasAnyPolicy"`
	// Allows: the role's attached and inline policies allow every listed
	// action on Resource (explicit deny wins), and its permissions
	// boundary, if it has one, allows them too.
	Allows *Permission `yaml:"allows"`
	// GrantsWildcard: some Allow statement of the role lists this action
	// pattern literally (for example "ecr:*" or "*").
	GrantsWildcard string `yaml:"grantsWildcard"`
	// Boundary: the role's permissions boundary is this policy (by name),
	// or "none": the role has no boundary.
	Boundary string `yaml:"boundary"`
}

// Default implements Defaulter: bare AWS managed policy names become
// ARNs, and allows checks every resource unless told otherwise.
func (q *IAMCondition) Default() {
	q.HasPolicy = expandPolicy(q.HasPolicy)
	for i, p := range q.HasAnyPolicy {
		q.HasAnyPolicy[i] = PolicyARN(p)
	}
	if q.Allows != nil && q.Allows.Resource == "" {
		q.Allows.Resource = "*"
	}
}

// Check implements ConditionKind.
func (q *IAMCondition) Check(c *Checker, p string) {
	c.role(p+".role", q.Role)
	n := 0
	if q.HasPolicy != "" {
		n++
		c.policyARN(p+".hasPolicy", q.HasPolicy)
	}
	if len(q.HasAnyPolicy) > 0 {
		n++
		for i, pol := range q.HasAnyPolicy {
			c.policyARN(fmt.Sprintf("%s.hasAnyPolicy[%d]", p, i), pol)
		}
	}
	if q.Allows != nil {
		n++
		if len(q.Allows.Actions) == 0 {
			c.errs.add(p+".allows.actions", "at least one action required")
		}
		if strings.Contains(q.Allows.Resource, "${") {
			c.errs.add(p+".allows.resource", "scenario variables are not expanded here: write the ARN out (%q)", q.Allows.Resource)
		}
		for i, a := range q.Allows.Actions {
			if !actionRE.MatchString(a) || strings.ContainsAny(a, "*?") {
				c.errs.add(fmt.Sprintf("%s.allows.actions[%d]", p, i), "must be a concrete IAM action such as ecr:BatchGetImage, got %q", a)
			}
		}
	}
	if q.GrantsWildcard != "" {
		n++
		if !actionRE.MatchString(q.GrantsWildcard) {
			c.errs.add(p+".grantsWildcard", "not an IAM action pattern: %q", q.GrantsWildcard)
		}
	}
	if q.Boundary != "" {
		n++
		if q.Boundary != "none" && !policyNameRE.MatchString(q.Boundary) {
			c.errs.add(p+".boundary", "want a policy name or none, got %q", q.Boundary)
		}
	}
	if n == 0 {
		c.errs.add(p, "set at least one of hasPolicy, hasAnyPolicy, allows, grantsWildcard, boundary")
	}
}

// Eval implements ConditionKind.
func (q *IAMCondition) Eval(ctx context.Context, w World) (bool, string) {
	attached, docs, err := w.RolePolicies(ctx, q.Role)
	if err != nil {
		return false, "role " + q.Role + ": " + err.Error()
	}
	obs := fmt.Sprintf("role %s has %s", q.Role, strings.Join(shortARNs(attached), ", "))
	if q.HasPolicy != "" && !slices.Contains(attached, q.HasPolicy) {
		return false, obs
	}
	if len(q.HasAnyPolicy) > 0 && !slices.ContainsFunc(q.HasAnyPolicy, func(p string) bool { return slices.Contains(attached, p) }) {
		return false, obs
	}
	if q.Allows != nil && !iampolicy.Allows(docs, q.Allows.Resource, q.Allows.Actions...) {
		return false, obs + "; it does not allow " + strings.Join(q.Allows.Actions, ", ")
	}
	if q.GrantsWildcard != "" && !iampolicy.GrantsLiterally(docs, q.GrantsWildcard) {
		return false, obs + "; no statement grants " + q.GrantsWildcard
	}
	if q.Boundary != "" {
		b := boundaryName(docs)
		if b != q.Boundary {
			return false, obs + "; its permissions boundary is " + b
		}
		obs += "; its permissions boundary is " + b
	}
	return true, obs
}

// boundaryName is the name of the role's permissions boundary among its
// documents, or "none".
func boundaryName(docs []iampolicy.Named) string {
	for _, d := range docs {
		if d.Boundary {
			return d.Name[strings.LastIndex(d.Name, "/")+1:]
		}
	}
	return "none"
}

// shortARNs are policy names without their ARN prefix.
func shortARNs(arns []string) []string {
	out := make([]string, len(arns))
	for i, a := range arns {
		out[i] = a[strings.LastIndex(a, "/")+1:]
	}
	if len(out) == 0 {
		return []string{"no managed policies"}
	}
	return out
}
