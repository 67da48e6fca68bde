package scenarios

import (
	"context"
	"testing"
)

func TestSetConfigRun(t *testing.T) {
	tests := []struct {
		name     string
		step     SetConfig
		wantKind string
		wantName string
		want     string
	}{
		{"a ConfigMap key", SetConfig{Namespace: "prod", ConfigMap: "inventory", Key: "TIMEOUT_MS", Value: "3s"},
			"ConfigMap", "inventory", `{"data":{"TIMEOUT_MS":"3s"}}`},
		{"a Secret key, in plain text", SetConfig{Namespace: "prod", Secret: "db", Key: "password", Value: "hunter2"},
			"Secret", "db", `{"stringData":{"password":"hunter2"}}`},
		{"an empty value", SetConfig{Namespace: "prod", ConfigMap: "inventory", Key: "LOG_LEVEL"},
			"ConfigMap", "inventory", `{"data":{"LOG_LEVEL":""}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &patchEnv{}
			if err := tt.step.Run(context.Background(), StepEnv{Objects: env}); err != nil {
				t.Fatal(err)
			}
			want := ObjectRef{APIVersion: "v1", Kind: tt.wantKind, Namespace: "prod", Name: tt.wantName}
			if env.target != want || env.patchType != PatchMerge || env.body != tt.want {
				t.Errorf("patched %+v (%s) with %s; want %+v (merge) with %s", env.target, env.patchType, env.body, want, tt.want)
			}
		})
	}
}
