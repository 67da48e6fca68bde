package scenarios

import "context"

func init() { RegisterStep("pushImage", func() StepAction { return &PushImage{} }) }

// PushImage pushes a new image tag to a repository.
type PushImage struct {
	// Repository is the repository name. Required.
	Repository string `yaml:"repository"`
	// Tag is the image tag. Required.
	Tag string `yaml:"tag"`
}

// Check implements StepAction.
func (a *PushImage) Check(c *Checker, p string) { c.imageRef(p, a.Repository, a.Tag) }

// Run implements StepAction.
func (a *PushImage) Run(ctx context.Context, env StepEnv) error {
	return env.Images.PushImage(ctx, a.Repository, a.Tag, DefaultImageLayers)
}
