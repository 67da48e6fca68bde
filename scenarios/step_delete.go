package scenarios

import "context"

func init() { RegisterStep("delete", func() StepAction { return &Delete{} }) }

// Delete deletes one Kubernetes object.
type Delete struct {
	// APIVersion is the object's API version, for example apps/v1.
	// Required.
	APIVersion string `yaml:"apiVersion"`
	// Kind is the object's kind, for example Deployment. Required.
	Kind string `yaml:"kind"`
	// Namespace is empty for cluster-scoped objects.
	Namespace string `yaml:"namespace"`
	// Name is the object's name. Required.
	Name string `yaml:"name"`
}

func (a *Delete) ref() ObjectRef {
	return ObjectRef{APIVersion: a.APIVersion, Kind: a.Kind, Namespace: a.Namespace, Name: a.Name}
}

// Check implements StepAction.
func (a *Delete) Check(c *Checker, p string) { c.objectRef(p, a.ref()) }

// Run implements StepAction.
func (a *Delete) Run(ctx context.Context, env StepEnv) error {
	return env.Objects.DeleteObject(ctx, a.ref())
}
