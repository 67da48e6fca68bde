package scenarios

import (
	"context"
	"encoding/json"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
)

func init() { RegisterStep("setImage", func() StepAction { return &SetImage{} }) }

// SetImage changes a container image in a Deployment, like
// `kubectl set image` (a deploy).
type SetImage struct {
	// Namespace of the Deployment. Required.
	Namespace string `yaml:"namespace"`
	// Deployment is the Deployment's name. Required.
	Deployment string `yaml:"deployment"`
	// Container is the container's name. Required.
	Container string `yaml:"container"`
	// Image is the new image reference; scenario variables are expanded.
	// Required.
	Image string `yaml:"image"`
}

// Check implements StepAction.
func (a *SetImage) Check(c *Checker, p string) {
	c.required(p+".container", a.Container)
	if c.required(p+".image", a.Image) {
		c.expands(p+".image", a.Image)
	}
	d := c.deployment(p, a.Namespace, a.Deployment, "deployment")
	if d == nil || a.Container == "" {
		return
	}
	if dep, ok := d.typed.(*appsv1.Deployment); ok {
		var names []string
		for _, ct := range dep.Spec.Template.Spec.Containers {
			names = append(names, ct.Name)
		}
		if !slices.Contains(names, a.Container) {
			c.ref(p+".container", "container", a.Container, names)
		}
	}
}

// Run implements StepAction: a strategic merge patch of the pod
// template's container, as kubectl set image sends.
func (a *SetImage) Run(ctx context.Context, env StepEnv) error {
	image, err := env.Vars.Expand(a.Image)
	if err != nil {
		return err
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
		"containers": []map[string]string{{"name": a.Container, "image": image}}}}}})
	target := ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: a.Namespace, Name: a.Deployment}
	return env.Objects.PatchObject(ctx, target, PatchStrategic, patch)
}

// images lists the image the step deploys, for the image inventory.
func (a *SetImage) images(s *Scenario) []string {
	if img, err := s.Expand(a.Image); err == nil {
		return []string{img}
	}
	return nil
}
