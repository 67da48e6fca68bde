package scenarios

import (
	"context"
	"fmt"
)

func init() { RegisterCondition("exec", func() ConditionKind { return &ExecCondition{} }) }

// ExecCondition runs a command and checks its exit code (escape hatch).
type ExecCondition struct {
	// Command is the argv. Scenario variables are expanded. Required.
	Command []string `yaml:"command"`
	// ExitCode is the exit code that makes the condition hold. Default 0.
	ExitCode int `yaml:"exitCode"`
	// Timeout bounds one run. Default 10s.
	Timeout Duration `yaml:"timeout"`
}

// Default implements Defaulter.
func (q *ExecCondition) Default() {
	if q.Timeout.IsZero() {
		q.Timeout.Duration = DefaultCheckTimeout
	}
}

// Check implements ConditionKind.
func (q *ExecCondition) Check(c *Checker, p string) { c.command(p+".command", q.Command) }

// Eval implements ConditionKind.
func (q *ExecCondition) Eval(ctx context.Context, w World) (bool, string) {
	code := w.Run(ctx, q.Command, q.Timeout.Duration)
	return code == q.ExitCode, fmt.Sprintf("%s exited %d", q.Command[0], code)
}
