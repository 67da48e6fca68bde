package dockerhost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
)

// Container is a container gameday found by label.
type Container struct {
	// ID is the container id.
	ID string
	// Name is the container name, without Docker's leading slash.
	Name string
	// Image is the image the container runs.
	Image string
	// State is Docker's state word (running, exited…).
	State string
	// Labels are the container's labels.
	Labels map[string]string
}

// Engine is a connection to the Docker engine at Host.
type Engine struct {
	c *client.Client
}

// Connect returns a client of the engine at Host. It does not contact
// the engine; call Check first for a clear error when none answers.
func Connect() (*Engine, error) {
	c, err := client.NewClientWithOpts(client.WithHost(Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return &Engine{c: c}, nil
}

// Close releases the client.
func (e *Engine) Close() error { return e.c.Close() }

// Labelled lists the containers, running or not, that carry label.
func (e *Engine) Labelled(ctx context.Context, label string) ([]Container, error) {
	list, err := e.c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return nil, fmt.Errorf("list containers labelled %s: %w", label, err)
	}
	out := make([]Container, 0, len(list))
	for _, c := range list {
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, Container{ID: c.ID, Name: name, Image: c.Image, State: c.State, Labels: c.Labels})
	}
	return out, nil
}

// Remove force-removes a container and its anonymous volumes.
func (e *Engine) Remove(ctx context.Context, id string) error {
	if err := e.c.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
		return fmt.Errorf("remove container %s: %w", id, err)
	}
	return nil
}

// Gateway returns the IPv4 gateway of a Docker network: the host's
// address on it, which the network's containers can reach.
func (e *Engine) Gateway(ctx context.Context, name string) (netip.Addr, error) {
	n, err := e.c.NetworkInspect(ctx, name, network.InspectOptions{})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("inspect network %s: %w", name, err)
	}
	for _, c := range n.IPAM.Config {
		a, err := netip.ParseAddr(c.Gateway)
		if err == nil && a.Is4() {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("network %s has no IPv4 gateway", name)
}

// Save streams an image from the engine's image store in `docker save`
// form. The caller closes the stream.
func (e *Engine) Save(ctx context.Context, ref string) (io.ReadCloser, error) {
	rc, err := e.c.ImageSave(ctx, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("save image %s from the Docker engine: %w", ref, err)
	}
	return rc, nil
}

// Missing returns those of refs that the engine's image store lacks, in
// the order given. The engine is asked by name only: nothing is pulled.
func (e *Engine) Missing(ctx context.Context, refs ...string) ([]string, error) {
	var missing []string
	for _, ref := range refs {
		id, _, err := e.Labels(ctx, ref)
		if err != nil {
			return nil, err
		}
		if id == "" {
			missing = append(missing, ref)
		}
	}
	return missing, nil
}

// Labels returns the id and labels of an image in the engine's store,
// or an empty id when the store lacks it. Nothing is pulled.
func (e *Engine) Labels(ctx context.Context, ref string) (string, map[string]string, error) {
	img, err := e.c.ImageInspect(ctx, ref)
	switch {
	case cerrdefs.IsNotFound(err):
		return "", nil, nil
	case err != nil:
		return "", nil, fmt.Errorf("inspect image %s: %w", ref, err)
	}
	var labels map[string]string
	if img.Config != nil {
		labels = img.Config.Labels
	}
	return img.ID, labels, nil
}

// Load reads images in `docker save` form from r into the engine's
// store, as `docker load` does, and returns the engine's error if the
// load failed part way.
func (e *Engine) Load(ctx context.Context, r io.Reader) error {
	resp, err := e.c.ImageLoad(ctx, r, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load images: %w", err)
	}
	defer resp.Body.Close()
	return drain(resp.Body, "load images")
}

// Import creates the image ref from a root filesystem tarball, as
// `docker import` does; changes are Dockerfile instructions applied to
// its configuration (ENTRYPOINT, ENV, LABEL…).
func (e *Engine) Import(ctx context.Context, rootfs io.Reader, ref string, changes ...string) error {
	rc, err := e.c.ImageImport(ctx, image.ImportSource{Source: rootfs, SourceName: "-"}, ref, image.ImportOptions{Changes: changes})
	if err != nil {
		return fmt.Errorf("import image %s: %w", ref, err)
	}
	defer rc.Close()
	return drain(rc, "import image "+ref)
}

// Pull fetches ref from its registry into the engine's store, as
// `docker pull` does.
func (e *Engine) Pull(ctx context.Context, ref string) error {
	rc, err := e.c.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("pull image %s: %w", ref, err)
	}
	defer rc.Close()
	return drain(rc, "pull image "+ref)
}

// drain reads the engine's progress messages to the end and returns the
// first error one of them carries; what is the context of errors.
func drain(r io.Reader, what string) error {
	dec := json.NewDecoder(r)
	for {
		var msg jsonmessage.JSONMessage
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: read the engine's answer: %w", what, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("%s: %s", what, msg.Error.Message)
		}
	}
}

// Has reports whether the engine at Host has the image ref; no engine,
// or one that does not answer within five seconds, is a no. Nothing is
// pulled.
func Has(ref string) bool {
	eng, err := Connect()
	if err != nil {
		return false
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, _, err := eng.Labels(ctx, ref)
	return err == nil && id != ""
}
