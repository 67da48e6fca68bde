package scenarios

import "context"

func init() { RegisterStep("detachRolePolicy", func() StepAction { return &DetachRolePolicy{} }) }

// DetachRolePolicy detaches a managed policy from a role.
type DetachRolePolicy struct {
	// Role is the role name. Required.
	Role string `yaml:"role"`
	// Policy is a managed policy ARN or AWS managed policy name. Required.
	Policy string `yaml:"policy"`
}

// Default implements Defaulter: a bare AWS managed policy name becomes
// its ARN.
func (a *DetachRolePolicy) Default() { a.Policy = PolicyARN(a.Policy) }

// Check implements StepAction.
func (a *DetachRolePolicy) Check(c *Checker, p string) { c.rolePolicy(p, a.Role, a.Policy) }

// Run implements StepAction.
func (a *DetachRolePolicy) Run(ctx context.Context, env StepEnv) error {
	return env.IAM.DetachRolePolicy(ctx, a.Role, a.Policy)
}
