package scenarios

import "context"

func init() { RegisterStep("wait", func() StepAction { return &Wait{} }) }

// Wait blocks until a condition holds.
type Wait struct {
	// For is the condition to wait for.
	For Condition `yaml:"for"`
	// Timeout bounds the wait. Default 2m.
	Timeout Duration `yaml:"timeout"`
}

// Default implements Defaulter.
func (a *Wait) Default() {
	if a.Timeout.IsZero() {
		a.Timeout.Duration = DefaultStepTimeout
	}
}

// Check implements StepAction.
func (a *Wait) Check(c *Checker, p string) { c.condition(p+".for", &a.For, condCtx{}) }

// Run implements StepAction.
func (a *Wait) Run(ctx context.Context, env StepEnv) error {
	return env.Conditions.Wait(ctx, &a.For, a.Timeout.Duration)
}

// conditions lists the conditions the action holds, for defaults.
func (a *Wait) conditions() []*Condition { return []*Condition{&a.For} }
