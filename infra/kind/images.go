package kind

import (
	"os"
	"strings"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/images"
)

// NodeImageRef is the node image a cluster is created from:
// GAMEDAY_KIND_NODE_IMAGE when set; else kind's own NodeImage when the
// local Docker engine has it; else images.BuiltNodeImage, which
// `make kind-images` builds offline.
func NodeImageRef() string {
	if v := os.Getenv("GAMEDAY_KIND_NODE_IMAGE"); v != "" {
		return v
	}
	if dockerhost.Has(NodeImage) {
		return NodeImage
	}
	return images.BuiltNodeImage
}

// OfflineImage reports whether ref is one gameday built itself: the
// offline node image carries no kube-proxy or CoreDNS image.
func OfflineImage(ref string) bool { return strings.HasPrefix(ref, dockerhost.BuiltHere) }

// AppBaseRef is the base of the scenario's ECR images:
// GAMEDAY_APP_BASE_IMAGE when set, else images.AppBaseImage.
func AppBaseRef() string { return envOr("GAMEDAY_APP_BASE_IMAGE", images.AppBaseImage) }

// LocalImages lists the images a kind run needs in the local Docker
// engine on a host that cannot pull: the node image and the base of the
// scenario's ECR images. The scenario's public images are not needed:
// where the engine can neither find nor pull one, the nodes run a
// stand-in (see preload).
func LocalImages() []string {
	return []string{NodeImageRef(), AppBaseRef()}
}

// publicImages drops the images served by gameday's registry at ecrHost:
// they are never loaded into nodes, as their pulls are the incident.
func publicImages(images []string, ecrHost string) []string {
	var out []string
	for _, img := range images {
		if !strings.HasPrefix(img, ecrHost+"/") {
			out = append(out, img)
		}
	}
	return out
}

func envOr(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}
