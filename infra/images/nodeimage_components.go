package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// componentRecipe names how BuildComponentImages lays out its images;
// it is part of the node image's inputs, so a change rebuilds it.
const componentRecipe = "components/1: one layer, the static binary in /usr/local/bin"

// componentBits maps the repository of an image kubeadm asks for
// (its last path element) to the binary in the node bits that image runs.
var componentBits = map[string]string{
	"kube-apiserver":          "kube-apiserver",
	"kube-controller-manager": "kube-controller-manager",
	"kube-scheduler":          "kube-scheduler",
	"etcd":                    "etcd",
	"pause":                   "gameday-pause",
}

// Skipped images: kubeadm lists them, the offline node image does not
// carry them (and the cluster is configured without them, see Config).
var componentSkipped = map[string]string{
	"kube-proxy": "no iptables image can be built offline; gameday's clusters run without kube-proxy",
	"coredns":    "CoreDNS is not built; gameday's clusters run without cluster DNS",
}

// BuildComponentImages writes to out, as one `docker save` archive, the
// control-plane images kubeadm (bits/kubeadm) asks for at
// KubernetesVersion, each built from the static binary in bits, plus the
// extra tags of the pause image (the containerd sandbox image). It
// returns the image names.
func BuildComponentImages(ctx context.Context, bits, out string, pauseTags ...string) ([]string, error) {
	list, err := exec.CommandContext(ctx, filepath.Join(bits, "kubeadm"), "config", "images", "list", "--kubernetes-version", KubernetesVersion).Output()
	if err != nil {
		return nil, errkind.Errorf(errkind.Infra, "kubeadm config images list: %v", err)
	}
	refs := map[name.Reference]v1.Image{}
	var names []string
	add := func(ref string, img v1.Image) error {
		tag, err := name.NewTag(ref)
		if err != nil {
			return fmt.Errorf("image name %s: %w", ref, err)
		}
		refs[tag] = img
		names = append(names, ref)
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(list))
	var pause v1.Image
	for sc.Scan() {
		ref := strings.TrimSpace(sc.Text())
		if ref == "" {
			continue
		}
		repo := path.Base(strings.SplitN(ref, ":", 2)[0])
		bin, ok := componentBits[repo]
		if !ok {
			if _, skip := componentSkipped[repo]; skip {
				continue
			}
			return nil, errkind.Errorf(errkind.Infra, "kubeadm asks for %s, which the offline node image does not know how to build", ref)
		}
		img, err := componentImage(filepath.Join(bits, bin), repo)
		if err != nil {
			return nil, errkind.E(errkind.Infra, err)
		}
		if repo == "pause" {
			pause = img
		}
		if err := add(ref, img); err != nil {
			return nil, errkind.E(errkind.Infra, err)
		}
	}
	if pause == nil {
		return nil, errkind.Errorf(errkind.Infra, "kubeadm config images list names no pause image: %q", strings.TrimSpace(string(list)))
	}
	for _, t := range pauseTags {
		if err := add(t, pause); err != nil {
			return nil, errkind.E(errkind.Infra, err)
		}
	}
	if err := tarball.MultiRefWriteToFile(out, refs); err != nil {
		return nil, errkind.E(errkind.Infra, fmt.Errorf("write the control-plane images: %w", err))
	}
	return names, nil
}

// componentImage is one layer holding bin as /usr/local/bin/<repo> (and
// as /pause for the pause image, where the runtime starts it), with that
// as the entrypoint.
func componentImage(bin, repo string) (v1.Image, error) {
	body, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	epoch := time.Unix(0, 0)
	target := "/usr/local/bin/" + repo
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	for _, h := range []tar.Header{
		{Name: "usr/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "usr/local/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "usr/local/bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: strings.TrimPrefix(target, "/"), Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(body))},
	} {
		h.ModTime = epoch
		if err := tw.WriteHeader(&h); err != nil {
			return nil, fmt.Errorf("%s layer: %w", repo, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(body); err != nil {
				return nil, fmt.Errorf("%s layer: %w", repo, err)
			}
		}
	}
	if repo == "pause" {
		if err := tw.WriteHeader(&tar.Header{Name: "pause", Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777, ModTime: epoch}); err != nil {
			return nil, fmt.Errorf("%s layer: %w", repo, err)
		}
		target = "/pause"
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("%s layer: %w", repo, err)
	}
	b := raw.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("%s layer: %w", repo, err)
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:     layer,
		History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "gameday: " + repo + " built from Go modules"},
		MediaType: types.OCILayer,
	})
	if err != nil {
		return nil, fmt.Errorf("%s image: %w", repo, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s image: %w", repo, err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = "linux", runtime.GOARCH, v1.Time{Time: epoch}
	cfg.Config.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	cfg.Config.Entrypoint = []string{target}
	return mutate.ConfigFile(img, cfg)
}
