package ecr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Puller pulls images the way a node's container runtime does: images on
// the ECR host come from the registry (authorised as the node), others
// are treated as public and succeed. Failures read exactly like
// containerd's, so the kubelet reports them as on a real node.
type Puller struct {
	// Server is the registry serving the ECR host.
	Server *Server
	// Public decides pulls of images from other registries. Nil means
	// every such pull succeeds with a nominal size.
	Public func(ctx context.Context, image string) (uint64, error)
}

// Pull pulls image as node and returns the bytes transferred.
func (p *Puller) Pull(ctx context.Context, node, image string) (uint64, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return 0, fmt.Errorf("failed to pull and unpack image %q: failed to resolve reference %q: %w", image, image, err)
	}
	display := ref.Name()
	if ref.Context().RegistryStr() != p.Server.Host {
		if p.Public != nil {
			return p.Public(ctx, display)
		}
		return 24 << 20, nil
	}
	local, err := name.ParseReference(strings.TrimPrefix(p.Server.URL, "http://")+"/"+ref.Context().RepositoryStr()+refSuffix(ref), name.Insecure)
	if err != nil {
		return 0, err
	}
	rt := &nodeTransport{node: node, next: http.DefaultTransport}
	img, err := remote.Image(local, remote.WithContext(ctx), remote.WithAuth(authn.Anonymous), remote.WithTransport(rt))
	if err != nil {
		return 0, containerdError(display, p.Server.Host, ref, err)
	}
	size, err := pullAll(img)
	if err != nil {
		return 0, fmt.Errorf("failed to pull and unpack image %q: %w", display, err)
	}
	return size, nil
}

func refSuffix(ref name.Reference) string {
	if d, ok := ref.(name.Digest); ok {
		return "@" + d.DigestStr()
	}
	return ":" + ref.Identifier()
}

// pullAll reads the config and every layer blob, as a runtime does, and
// returns the bytes transferred.
func pullAll(img v1.Image) (uint64, error) {
	cfg, err := img.RawConfigFile()
	if err != nil {
		return 0, err
	}
	total := uint64(len(cfg))
	layers, err := img.Layers()
	if err != nil {
		return 0, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return 0, err
		}
		n, err := io.Copy(io.Discard, rc) // the layer verifies its digest at EOF
		rc.Close()
		if err != nil {
			return 0, err
		}
		total += uint64(n)
	}
	return total, nil
}

// containerdError words a registry failure as containerd 2.x does.
func containerdError(display, host string, ref name.Reference, err error) error {
	prefix := fmt.Sprintf("failed to pull and unpack image %q: failed to resolve reference %q: ", display, display)
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized:
			return errors.New(prefix + "pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials")
		case http.StatusForbidden:
			return fmt.Errorf("%sunexpected status from HEAD request to https://%s/v2/%s/manifests/%s: 403 Forbidden",
				prefix, host, ref.Context().RepositoryStr(), ref.Identifier())
		case http.StatusNotFound:
			return errors.New(prefix + display + ": not found")
		}
	}
	return errors.New(prefix + err.Error())
}

// nodeTransport identifies the pulling node to the registry.
type nodeTransport struct {
	node string
	next http.RoundTripper
}

func (t *nodeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(NodeHeader, t.node)
	return t.next.RoundTrip(r)
}
