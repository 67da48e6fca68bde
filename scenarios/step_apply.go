package scenarios

import "context"

func init() { RegisterStep("apply", func() StepAction { return &Apply{} }) }

// Apply applies a deferred workload.
type Apply struct {
	// Workload is the workload's name; it must be deferred. Required.
	Workload string `yaml:"workload"`
}

// Check implements StepAction.
func (a *Apply) Check(c *Checker, p string) {
	p += ".workload"
	if !c.required(p, a.Workload) {
		return
	}
	w := c.workloads[a.Workload]
	switch {
	case w == nil:
		c.ref(p, "workload", a.Workload, keys(c.workloads))
	case !w.Deferred:
		c.errs.add(p, "workload %q is applied at setup already; mark it deferred: true", w.Name)
	}
	c.applied[a.Workload] = true
}

// Run implements StepAction.
func (a *Apply) Run(ctx context.Context, env StepEnv) error {
	return env.Objects.ApplyWorkload(ctx, a.Workload)
}
