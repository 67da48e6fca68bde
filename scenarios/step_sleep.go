package scenarios

import (
	"context"
	"time"
)

func init() { RegisterStep("sleep", func() StepAction { return &Sleep{} }) }

// Sleep pauses for a duration, written as the action's value
// ("sleep: 30s").
type Sleep struct {
	Duration
}

// Check implements StepAction.
func (a *Sleep) Check(c *Checker, p string) {
	if a.IsZero() {
		c.errs.add(p, "must be a positive duration")
	}
}

// Run implements StepAction.
func (a *Sleep) Run(ctx context.Context, _ StepEnv) error {
	t := time.NewTimer(a.Duration.Duration)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
