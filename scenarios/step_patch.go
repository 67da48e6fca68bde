package scenarios

import (
	"context"
	"fmt"

	"sigs.k8s.io/yaml"
)

func init() { RegisterStep("patch", func() StepAction { return &Patch{} }) }

// Patch patches one Kubernetes object.
type Patch struct {
	// Target is the object to patch.
	Target ObjectRef `yaml:"target"`
	// Type is strategic, merge or json. Default strategic.
	Type string `yaml:"type"`
	// Patch is the patch body as YAML or JSON text. Scenario variables are
	// expanded.
	Patch string `yaml:"patch"`
}

// Default implements Defaulter.
func (a *Patch) Default() {
	if a.Type == "" {
		a.Type = PatchStrategic
	}
}

// Check implements StepAction.
func (a *Patch) Check(c *Checker, p string) {
	c.objectRef(p+".target", a.Target)
	c.oneOf(p+".type", a.Type, []string{PatchStrategic, PatchMerge, PatchJSON})
	if c.required(p+".patch", a.Patch) {
		c.expands(p+".patch", a.Patch)
	}
}

// Run implements StepAction.
func (a *Patch) Run(ctx context.Context, env StepEnv) error {
	body, err := env.Vars.Expand(a.Patch)
	if err != nil {
		return err
	}
	data, err := yaml.YAMLToJSON([]byte(body))
	if err != nil {
		return fmt.Errorf("patch body: %w", err)
	}
	return env.Objects.PatchObject(ctx, a.Target, a.Type, data)
}
