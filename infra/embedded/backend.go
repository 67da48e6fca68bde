package embedded

import (
	"context"

	"github.com/gameday-sre/gameday/infra/environment"
)

// Name is the backend's name (--infra embedded).
const Name = "embedded"

func init() {
	environment.Register(Name, environment.Backend{Start: startBackend, Webhooks: true})
}

// startBackend is Start as the environment's registry takes it.
func startBackend(ctx context.Context, p environment.Params) (environment.Cluster, func(context.Context) error, error) {
	e, stop, err := Start(ctx, p)
	if err != nil {
		return nil, stop, err // not a typed nil in the interface
	}
	return e, stop, nil
}

var (
	_ environment.Cluster    = (*Env)(nil)
	_ environment.NodeFaults = (*Env)(nil)
	_ environment.Timed      = (*Env)(nil)
)
