package scenarios

import "context"

func init() { RegisterStep("deleteRolePolicy", func() StepAction { return &DeleteRolePolicy{} }) }

// DeleteRolePolicy removes an inline policy from a role.
type DeleteRolePolicy struct {
	// Role is the role name. Required.
	Role string `yaml:"role"`
	// Name is the inline policy name. Required.
	Name string `yaml:"name"`
}

// Check implements StepAction.
func (a *DeleteRolePolicy) Check(c *Checker, p string) {
	c.role(p+".role", a.Role)
	c.required(p+".name", a.Name)
}

// Run implements StepAction.
func (a *DeleteRolePolicy) Run(ctx context.Context, env StepEnv) error {
	return env.IAM.DeleteRolePolicy(ctx, a.Role, a.Name)
}
