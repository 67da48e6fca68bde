package scenarios

import "context"

func init() { RegisterStep("exec", func() StepAction { return &Exec{} }) }

// Exec runs a command (escape hatch); a non-zero exit fails the step.
type Exec struct {
	// Command is the argv; the first element is looked up on PATH.
	// Scenario variables are expanded in every element. Required.
	Command []string `yaml:"command"`
	// Timeout bounds the command. Default 1m.
	Timeout Duration `yaml:"timeout"`
}

// Default implements Defaulter.
func (a *Exec) Default() {
	if a.Timeout.IsZero() {
		a.Timeout.Duration = DefaultExecTimeout
	}
}

// Check implements StepAction.
func (a *Exec) Check(c *Checker, p string) { c.command(p+".command", a.Command) }

// Run implements StepAction.
func (a *Exec) Run(ctx context.Context, env StepEnv) error {
	argv := make([]string, len(a.Command))
	for i, arg := range a.Command {
		var err error
		if argv[i], err = env.Vars.Expand(arg); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, a.Timeout.Duration)
	defer cancel()
	return env.Shell.Command(ctx, argv)
}
