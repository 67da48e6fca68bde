package scenarios

import (
	"context"
	"testing"
)

// patchEnv records the patches a step asks for.
type patchEnv struct {
	ObjectOps // only PatchObject is called
	target    ObjectRef
	patchType string
	body      string
}

func (e *patchEnv) PatchObject(_ context.Context, target ObjectRef, patchType string, body []byte) error {
	e.target, e.patchType, e.body = target, patchType, string(body)
	return nil
}

func TestSetLoadRun(t *testing.T) {
	tests := []struct {
		name string
		rps  float64
		want string
	}{
		{"whole requests a second", 400, `{"metadata":{"annotations":{"gameday.dev/load":"400"}}}`},
		{"a fraction", 2.5, `{"metadata":{"annotations":{"gameday.dev/load":"2.5"}}}`},
		{"zero takes the load away", 0, `{"metadata":{"annotations":{"gameday.dev/load":"0"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := &patchEnv{}
			a := &SetLoad{Namespace: "prod", Service: "checkout", RPS: tt.rps}
			if err := a.Run(context.Background(), StepEnv{Objects: env}); err != nil {
				t.Fatal(err)
			}
			want := ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: "prod", Name: "checkout"}
			if env.target != want || env.patchType != PatchMerge || env.body != tt.want {
				t.Errorf("patched %+v (%s) with %s; want %+v (merge) with %s", env.target, env.patchType, env.body, want, tt.want)
			}
		})
	}
}
