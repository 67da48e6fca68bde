package scenarios

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// bellStep is a throw-away step kind, defined here and nowhere else: it
// proves that a new kind needs one file and no edit of any switch.
type bellStep struct {
	// Times is how often to ring. Default 1.
	Times int `yaml:"times"`
	// NodeGroup is rung at. Required.
	NodeGroup string `yaml:"nodeGroup"`
}

func (a *bellStep) Default() {
	if a.Times == 0 {
		a.Times = 1
	}
}

func (a *bellStep) Check(c *Checker, p string) {
	c.NodeGroup(p+".nodeGroup", a.NodeGroup)
	if a.Times > 3 {
		c.Errorf(p+".times", "at most 3, got %d", a.Times)
	}
}

func (a *bellStep) Run(ctx context.Context, env StepEnv) error {
	for range a.Times {
		if err := env.NodeGroups.CordonNodeGroup(ctx, a.NodeGroup, true); err != nil {
			return err
		}
	}
	return nil
}

// bellEnv records the cordons a step asks for.
type bellEnv struct {
	NodeGroupOps // only CordonNodeGroup is called
	cordons      []string
}

func (e *bellEnv) CordonNodeGroup(_ context.Context, name string, _ bool) error {
	e.cordons = append(e.cordons, name)
	return nil
}

// withSteps is the minimal scenario with steps added.
func withSteps(t *testing.T, steps string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/valid/minimal/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.Replace(string(b), "  symptoms:\n", "  steps:\n"+steps+"  symptoms:\n", 1))
}

func TestThrowAwayStepKind(t *testing.T) {
	stepKinds.registerForTest(t, "ringBell", func() StepAction { return &bellStep{} })
	tests := []struct {
		name    string
		steps   string
		errs    []string // substrings of the load error, in order; none: loads
		cordons []string // what running every step asks for
	}{
		{
			name:    "defaults and runs",
			steps:   "    - name: ring\n      ringBell: {nodeGroup: ng-a}\n    - name: ring twice\n      ringBell: {nodeGroup: ng-a, times: 2}\n",
			cordons: []string{"ng-a", "ng-a", "ng-a"},
		},
		{
			name:  "checked with positions and cross-references",
			steps: "    - name: ring\n      ringBell: {nodeGroup: ng-b, times: 9}\n",
			errs: []string{
				`test.yaml:36:29: spec.steps[0].ringBell.nodeGroup: unknown node group "ng-b" (did you mean "ng-a"?)`,
				`test.yaml:36:42: spec.steps[0].ringBell.times: at most 3, got 9`,
			},
		},
		{
			name:  "an unknown field of the kind is refused",
			steps: "    - name: ring\n      ringBell: {nodeGroup: ng-a, tims: 2}\n",
			errs:  []string{`spec.steps[0].ringBell.tims: unknown field "tims" (did you mean "times"?)`},
		},
		{
			name:  "a misspelt kind is refused with a suggestion",
			steps: "    - name: ring\n      ringBel: {nodeGroup: ng-a}\n",
			errs:  []string{`spec.steps[0].ringBel: unknown field "ringBel" (did you mean "ringBell"?)`},
		},
		{
			name:  "beside another action",
			steps: "    - name: ring\n      ringBell: {nodeGroup: ng-a}\n      cordonNodeGroup: {nodeGroup: ng-a}\n",
			errs:  []string{`spec.steps[0]: several actions (cordonNodeGroup, ringBell): set exactly one per step`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Parse(withSteps(t, tt.steps), "test.yaml", fstest.MapFS{}, ".")
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatal("loaded; want errors")
				}
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("error %T %v is not a list of problems", err, err)
				}
				list := ve.Errors
				if len(list) != len(tt.errs) {
					t.Fatalf("%d problems, want %d:\n%v", len(list), len(tt.errs), err)
				}
				for i, want := range tt.errs {
					if got := list[i].Error(); !strings.Contains(got, want) {
						t.Errorf("problem %d = %q, want %q", i, got, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			env := &bellEnv{}
			for _, st := range s.Spec.Steps {
				if st.Kind != "ringBell" {
					t.Errorf("step %q has kind %q", st.Name, st.Kind)
				}
				if err := st.Action.Run(context.Background(), StepEnv{NodeGroups: env}); err != nil {
					t.Fatal(err)
				}
			}
			if strings.Join(env.cordons, ",") != strings.Join(tt.cordons, ",") {
				t.Errorf("cordons %v, want %v", env.cordons, tt.cordons)
			}
		})
	}
}
