package kind

import (
	"encoding/json"
	"fmt"
	"path"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// standInImage is what runs on kind for a public image that the host
// can neither find in its Docker engine nor pull: gameday's app binary
// on the app base, with the default behaviour (it runs, logs and serves
// HTTP on realapp.DefaultPort), under ref's name. A public image runs
// with the default behaviour on the embedded backend too, so both
// backends execute the same description of it.
func standInImage(ref string, base v1.Image, app []byte) (v1.Image, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return nil, fmt.Errorf("image name %q: %w", ref, err)
	}
	spec, err := json.Marshal(behaviour.App{Name: path.Base(tag.RepositoryStr())})
	if err != nil {
		return nil, err
	}
	return ecr.BuildImage(tag.RepositoryStr(), tag.TagStr(), 1, ecr.WithBase(base), ecr.WithApp(app), ecr.WithSpec(spec))
}
