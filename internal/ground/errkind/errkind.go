// Package errkind classifies gameday's errors into the few kinds that
// callers branch on and that the CLI maps to exit codes.
//
// A library wraps an error with its kind once, at the place that knows
// (the loader knows input is invalid, a backend knows infrastructure failed);
// everything above only adds context with fmt.Errorf("...: %w", err).
package errkind

import (
	"errors"
	"fmt"
)

// Kind is the class of an error.
type Kind int

// The kinds, in order of how the CLI reports them.
const (
	// Internal is a bug in gameday or an unclassified failure.
	Internal Kind = iota
	// Invalid is bad input: a scenario, a flag, a journal.
	Invalid
	// Infra is a failure of the environment gameday builds (cluster, AWS
	// emulator, registry, a missing tool).
	Infra
	// NotReproduced means the scenario's fault did not produce its symptoms.
	NotReproduced
	// Aborted means the user or a signal stopped the run.
	Aborted
	// Failed means the run completed but its outcome is a failure (for
	// example objectives missed, or a detector did not detect); it is not
	// a malfunction.
	Failed
	// OverBudget means a detector detected the incident, but later than
	// its detection budget.
	OverBudget
)

// String returns the kind's lowercase name.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Infra:
		return "infra"
	case NotReproduced:
		return "not reproduced"
	case Aborted:
		return "aborted"
	case Failed:
		return "failed"
	case OverBudget:
		return "over budget"
	default:
		return "internal"
	}
}

// Error is an error with a kind.
type Error struct {
	Kind Kind
	Err  error
}

// Error returns the wrapped error's text.
func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// E wraps err with kind k. A nil err stays nil.
func E(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// Errorf formats an error of kind k, like fmt.Errorf.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// Of returns the kind of the outermost *Error in err's chain, or Internal
// when there is none.
func Of(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
