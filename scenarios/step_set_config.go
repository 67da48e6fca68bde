package scenarios

import (
	"context"
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

func init() { RegisterStep("setConfig", func() StepAction { return &SetConfig{} }) }

// SetConfig sets one key of a ConfigMap or a Secret, as `kubectl edit`
// or a config pipeline would: the other keys stay. Pods that mount it see
// the new file within the kubelet's sync period; those that read it as an
// environment variable only after a restart.
type SetConfig struct {
	// Namespace of the ConfigMap or Secret. Required.
	Namespace string `yaml:"namespace"`
	// ConfigMap names the ConfigMap; set exactly one of configMap and
	// secret.
	ConfigMap string `yaml:"configMap"`
	// Secret names the Secret.
	Secret string `yaml:"secret"`
	// Key is the key to set. Required.
	Key string `yaml:"key"`
	// Value is its new value (plain text, also for a Secret).
	Value string `yaml:"value"`
}

// Check implements StepAction.
func (a *SetConfig) Check(c *Checker, p string) {
	c.namespace(p+".namespace", a.Namespace)
	if (a.ConfigMap == "") == (a.Secret == "") {
		c.errs.add(p, "set exactly one of configMap and secret")
	}
	if c.required(p+".key", a.Key) {
		if problems := validation.IsConfigMapKey(a.Key); len(problems) > 0 {
			c.errs.add(p+".key", "%s", strings.Join(problems, "; "))
		}
	}
}

// Run implements StepAction.
func (a *SetConfig) Run(ctx context.Context, env StepEnv) error {
	target := ObjectRef{APIVersion: "v1", Kind: "ConfigMap", Namespace: a.Namespace, Name: a.ConfigMap}
	field := "data"
	if a.Secret != "" {
		// stringData is merged into data by the API server.
		target.Kind, target.Name, field = "Secret", a.Secret, "stringData"
	}
	body, err := json.Marshal(map[string]any{field: map[string]string{a.Key: a.Value}})
	if err != nil {
		return err
	}
	return env.Objects.PatchObject(ctx, target, PatchMerge, body)
}
