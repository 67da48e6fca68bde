package scenarios

import "context"

func init() { RegisterStep("putRolePolicy", func() StepAction { return &PutRolePolicy{} }) }

// PutRolePolicy adds or replaces an inline policy on a role.
type PutRolePolicy struct {
	// Role is the role name. Required.
	Role string `yaml:"role"`
	// Name is the inline policy name. Required.
	Name string `yaml:"name"`
	// Document is the policy document.
	Document PolicyDocument `yaml:"document"`
}

// Default implements Defaulter.
func (a *PutRolePolicy) Default() { defaultPolicy(&a.Document) }

// Check implements StepAction.
func (a *PutRolePolicy) Check(c *Checker, p string) {
	c.role(p+".role", a.Role)
	c.required(p+".name", a.Name)
	c.policyDocument(p+".document", &a.Document)
}

// Run implements StepAction.
func (a *PutRolePolicy) Run(ctx context.Context, env StepEnv) error {
	return env.IAM.PutRolePolicy(ctx, a.Role, a.Name, a.Document)
}
