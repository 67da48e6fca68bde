package cli

// The backends register themselves with infra/environment by name; these
// imports link them in, so that --infra embedded and --infra kind are a
// lookup.
import (
	_ "github.com/gameday-sre/gameday/infra/embedded"
	_ "github.com/gameday-sre/gameday/infra/kind"
)
