package scenarios

import "context"

func init() { RegisterStep("attachRolePolicy", func() StepAction { return &AttachRolePolicy{} }) }

// AttachRolePolicy attaches a managed policy to a role.
type AttachRolePolicy struct {
	// Role is the role name. Required.
	Role string `yaml:"role"`
	// Policy is a managed policy ARN or AWS managed policy name. Required.
	Policy string `yaml:"policy"`
}

// Default implements Defaulter: a bare AWS managed policy name becomes
// its ARN.
func (a *AttachRolePolicy) Default() { a.Policy = PolicyARN(a.Policy) }

// Check implements StepAction.
func (a *AttachRolePolicy) Check(c *Checker, p string) { c.rolePolicy(p, a.Role, a.Policy) }

// Run implements StepAction.
func (a *AttachRolePolicy) Run(ctx context.Context, env StepEnv) error {
	return env.IAM.AttachRolePolicy(ctx, a.Role, a.Policy)
}
