package scenarios

import (
	"context"
	"encoding/json"
	"time"
)

func init() { RegisterStep("restartRollout", func() StepAction { return &RestartRollout{} }) }

// RestartedAtAnnotation is the pod template annotation that `kubectl
// rollout restart` sets to the time, so that the Deployment rolls out
// new pods of the same spec.
const RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"

// RestartRollout restarts a Deployment's rollout, like `kubectl rollout
// restart deployment`: new pods of the same spec replace the old ones,
// by the Deployment's strategy.
type RestartRollout struct {
	// Namespace of the Deployment. Required.
	Namespace string `yaml:"namespace"`
	// Deployment is the Deployment's name. Required.
	Deployment string `yaml:"deployment"`
}

// Check implements StepAction.
func (a *RestartRollout) Check(c *Checker, p string) {
	c.deployment(p, a.Namespace, a.Deployment, "deployment")
}

// Run implements StepAction: the strategic merge patch kubectl sends.
func (a *RestartRollout) Run(ctx context.Context, env StepEnv) error {
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"template": map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{RestartedAtAnnotation: time.Now().Format(time.RFC3339)}}}}})
	target := ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: a.Namespace, Name: a.Deployment}
	return env.Objects.PatchObject(ctx, target, PatchStrategic, patch)
}
