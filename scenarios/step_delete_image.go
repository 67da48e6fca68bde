package scenarios

import "context"

func init() { RegisterStep("deleteImage", func() StepAction { return &DeleteImage{} }) }

// DeleteImage deletes an image tag from a repository.
type DeleteImage struct {
	// Repository is the repository name. Required.
	Repository string `yaml:"repository"`
	// Tag is the image tag. Required.
	Tag string `yaml:"tag"`
}

// Check implements StepAction.
func (a *DeleteImage) Check(c *Checker, p string) { c.imageRef(p, a.Repository, a.Tag) }

// Run implements StepAction.
func (a *DeleteImage) Run(ctx context.Context, env StepEnv) error {
	return env.Images.DeleteImage(ctx, a.Repository, a.Tag)
}
