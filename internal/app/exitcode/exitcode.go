// Package exitcode decides gameday's process exit codes, in one place:
// the code of every error kind (errkind), and the meaning of each code.
package exitcode

import (
	"context"
	"errors"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// Exit codes. They are part of gameday's interface: scripts and CI branch
// on them, so they never change meaning.
const (
	OK            = 0   // success
	Internal      = 1   // a bug or an unclassified error
	Invalid       = 2   // bad input: flags, arguments, scenario files, journals
	Infra         = 3   // the environment could not be built or failed
	NotReproduced = 4   // the scenario's symptoms never appeared
	Failed        = 5   // the run finished and its outcome is a failure (headless: not detected)
	OverBudget    = 6   // headless: detected, but later than --detection-budget
	Aborted       = 130 // interrupted (Ctrl-C, SIGTERM)
)

// Of maps an error to the process exit code.
func Of(err error) int {
	if err == nil {
		return OK
	}
	// The root context is cancelled only by a signal: whatever the work
	// interrupted reports, the run was interrupted.
	if errors.Is(err, context.Canceled) {
		return Aborted
	}
	switch errkind.Of(err) {
	case errkind.Invalid:
		return Invalid
	case errkind.Infra:
		return Infra
	case errkind.NotReproduced:
		return NotReproduced
	case errkind.Failed:
		return Failed
	case errkind.OverBudget:
		return OverBudget
	case errkind.Aborted:
		return Aborted
	}
	return Internal
}
