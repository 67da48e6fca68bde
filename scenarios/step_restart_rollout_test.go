package scenarios

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// TestRestartRolloutRun: the patch kubectl rollout restart sends, with
// the time now.
func TestRestartRolloutRun(t *testing.T) {
	env := &patchEnv{}
	before := time.Now().Truncate(time.Second)
	if err := (&RestartRollout{Namespace: "prod", Deployment: "storefront"}).Run(context.Background(), StepEnv{Objects: env}); err != nil {
		t.Fatal(err)
	}
	want := ObjectRef{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "prod", Name: "storefront"}
	if env.target != want || env.patchType != PatchStrategic {
		t.Fatalf("patched %+v (%s), want %+v (strategic)", env.target, env.patchType, want)
	}
	var body struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(env.body), &body); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, body.Spec.Template.Metadata.Annotations[RestartedAtAnnotation])
	if err != nil || at.Before(before) || at.After(time.Now()) {
		t.Errorf("restartedAt %v (%v) in %s, want now", at, err, env.body)
	}
}
