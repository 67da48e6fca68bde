package scenarios

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

func init() { RegisterStep("setLoad", func() StepAction { return &SetLoad{} }) }

// SetLoad sets the traffic a Service gets, in requests a second: the
// load spreads over the Service's ready pods, and each app's CPU follows
// it (its cpuPerLoad), so that scaling out lowers each pod's CPU. Zero
// takes the traffic away.
type SetLoad struct {
	// Namespace of the Service. Required.
	Namespace string `yaml:"namespace"`
	// Service name. Required.
	Service string `yaml:"service"`
	// RPS is the load in requests a second.
	RPS float64 `yaml:"rps"`
}

// Check implements StepAction.
func (a *SetLoad) Check(c *Checker, p string) {
	c.service(p, a.Namespace, a.Service)
	if a.RPS < 0 {
		c.errs.add(p+".rps", "must not be negative, got %v", a.RPS)
	}
}

// Run implements StepAction.
func (a *SetLoad) Run(ctx context.Context, env StepEnv) error {
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		behaviour.LoadAnnotation: strconv.FormatFloat(a.RPS, 'f', -1, 64),
	}}})
	if err != nil {
		return err
	}
	target := ObjectRef{APIVersion: "v1", Kind: "Service", Namespace: a.Namespace, Name: a.Service}
	return env.Objects.PatchObject(ctx, target, PatchMerge, body)
}
