package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the node root's setup script
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// Offline node images. kind's own node images come from a registry; on
// a host that cannot pull, `gameday images --node` builds the same thing
// from Debian packages and Go modules:
//
//   - NodeBaseImage: a debootstrapped Debian (NodeSuite) with systemd,
//     iptables, and Debian's containerd, runc and CNI plugins, turned
//     into kind's base image by nodeimage_setup.sh with the files of
//     kind's images/base;
//   - BuiltNodeImage: that base with kubelet, kubeadm and kubectl, and the
//     control-plane images (BuildComponentImages) imported into the
//     node's containerd, as kind's node image builder does.
const (
	// NodeSuite is the Debian release the node image is made of, the one
	// kind's base image starts from.
	NodeSuite = "trixie"
	// NodeBaseImage is the offline kind base image.
	NodeBaseImage = dockerhost.BuiltHere + "kind-base:" + NodeSuite
	// BuiltNodeImage is the offline kind node image, at the version of the
	// embedded control plane.
	BuiltNodeImage = dockerhost.BuiltHere + "kind-node:" + KubernetesVersion
	// KubernetesVersion is the version the node image's binaries are built
	// at (k8s.io/kubernetes in infra/images/nodeimage/go.mod).
	KubernetesVersion = "v1.37.2"
	// NodeEntrypoint is the offline node image's entrypoint. In a node
	// container that is not --privileged (see DockerShim) it makes the
	// cgroup mounts writable and, without CAP_SYS_RESOURCE, has containerd
	// restrict OOM scores; then it runs kind's entrypoint.
	NodeEntrypoint = "/usr/local/bin/gameday-node-entrypoint"
)

// nodePackages are the Debian packages of the node root: those of kind's
// base image, less the network storage ones, plus Debian's containerd,
// runc and CNI plugins.
var nodePackages = []string{
	"systemd", "systemd-sysv", "conntrack", "iptables", "nftables", "iproute2", "ethtool",
	"util-linux", "mount", "kmod", "libseccomp2", "pigz", "e2fsprogs", "bash",
	"ca-certificates", "curl", "jq", "procps",
	"containerd", "runc", "containernetworking-plugins",
}

// nodeSetup turns the debootstrapped root into kind's base image.
//
//go:embed nodeimage_setup.sh
var nodeSetup []byte

// nodeEntrypoint is NodeEntrypoint.
const nodeEntrypoint = `#!/bin/sh
# gameday: a node container that is not --privileged gets its cgroup v1
# hierarchies read-only; systemd and the kubelet write them. Make them
# writable (the container has CAP_SYS_ADMIN), then run kind's entrypoint.
for d in /sys/fs/cgroup/*/; do
  if grep -q " ${d%/} cgroup ro," /proc/mounts 2>/dev/null; then
    mount -o remount,bind,rw "$d" || echo "gameday: cannot make $d writable" >&2
  fi
done
# Without CAP_SYS_RESOURCE a process cannot lower its oom_score_adj, and
# runc fails every pod ("can't get final child's PID from pipe") when
# containerd asks for the kubelet's -998: have containerd keep the
# scores at or above its own, as kind does for rootless nodes.
capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
if [ $(( (0x$capeff >> 24) & 1 )) -eq 0 ]; then
  sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml
fi
exec "$@"
`

// NodeBits are the binaries a node image is made of, in one directory
// (`make kind-images` builds them from infra/images/nodeimage/go.mod):
// kubelet, kubeadm, kubectl, the control plane's kube-apiserver,
// kube-controller-manager, kube-scheduler and etcd, and gameday-pause.
var NodeBits = []string{"kubelet", "kubeadm", "kubectl", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "gameday-pause"}

// nodeOptions are BuildNodeImage's.
type nodeOptions struct {
	buildOptions
	mirror  string
	sandbox string // containerd's sandbox image in kind's config
}

// BuildNodeImage builds NodeBaseImage (unless the engine has it from the
// same inputs) and BuiltNodeImage from bits (a directory holding
// NodeBits) and kindFiles (kind's images/base/files), and returns what
// became of each. It needs root (debootstrap, chroot), debootstrap, and
// the docker CLI.
func BuildNodeImage(ctx context.Context, eng nodeEngine, bits, kindFiles string, opts ...BuildOption) ([]Built, error) {
	o := nodeOptions{buildOptions: buildOptions{log: slog.New(slog.DiscardHandler)}, mirror: debianMirror()}
	for _, opt := range opts {
		opt(&o.buildOptions)
	}
	if err := checkNodeTools(); err != nil {
		return nil, err
	}
	if err := o.ensureCacheDir(); err != nil {
		return nil, err
	}
	for _, b := range NodeBits {
		if _, err := os.Stat(filepath.Join(bits, b)); err != nil {
			return nil, errkind.Errorf(errkind.Invalid, "node binaries: %s has no %s (`make kind-images` builds them)", bits, b)
		}
	}
	if _, err := os.Stat(filepath.Join(kindFiles, "usr", "local", "bin", "entrypoint")); err != nil {
		return nil, errkind.Errorf(errkind.Invalid, "kind's base image files: %s has no usr/local/bin/entrypoint (pass the kind module's images/base/files)", kindFiles)
	}
	sandbox, err := sandboxImage(filepath.Join(kindFiles, "etc", "containerd", "config.toml"))
	if err != nil {
		return nil, err
	}
	o.sandbox = sandbox
	base, err := buildNodeBase(ctx, eng, kindFiles, o)
	if err != nil {
		return nil, err
	}
	node, err := buildNode(ctx, eng, base, bits, o)
	if err != nil {
		return []Built{base}, err
	}
	return []Built{base, node}, nil
}

// nodeEngine is what the node image build needs of the engine.
type nodeEngine interface {
	Store
	Import(ctx context.Context, rootfs io.Reader, ref string, changes ...string) error
}

func checkNodeTools() error {
	if os.Geteuid() != 0 {
		return errkind.Errorf(errkind.Invalid, "images made of a Debian root need root (debootstrap and chroot): run `sudo make kind-images`")
	}
	for _, tool := range []string{"debootstrap", "chroot", "docker"} {
		if _, err := exec.LookPath(tool); err != nil {
			hint := "apt-get install debootstrap"
			if tool == "docker" {
				hint = "install the docker CLI"
			}
			return errkind.Errorf(errkind.Invalid, "images made of a Debian root need %s on PATH: %s", tool, hint)
		}
	}
	return nil
}

// debootstrapScript is debootstrap's script for suite: its own when this
// debootstrap knows the suite, else sid's, which every Debian release
// newer than the host's debootstrap uses (bookworm's has no forky).
func debootstrapScript(suite string) string {
	own := filepath.Join(debootstrapScripts, suite)
	if _, err := os.Stat(own); err == nil {
		return own
	}
	return filepath.Join(debootstrapScripts, "sid")
}

// debootstrapScripts is where Debian's debootstrap keeps its scripts.
const debootstrapScripts = "/usr/share/debootstrap/scripts"

func debianMirror() string {
	if v := os.Getenv("GAMEDAY_DEBIAN_MIRROR"); v != "" {
		return v
	}
	return "http://deb.debian.org/debian"
}

// rootImage is an image made of a debootstrapped Debian root.
type rootImage struct {
	ref, from string
	// suite is the Debian release; default NodeSuite.
	suite    string
	packages []string
	// inputs are digested with the suite, mirror, packages and setup.
	inputs []string
	// prepare runs on the root before setup (copying files in).
	prepare func(root string) error
	// setup is a script run in the root (chroot) after prepare.
	setup []byte
	// changes are `docker import` instructions (ENTRYPOINT…).
	changes []string
}

// buildRootImage debootstraps ri.suite with ri's packages, prepares and
// sets the root up, and imports it as ri.ref, unless the engine has it
// from the same inputs.
func buildRootImage(ctx context.Context, eng nodeEngine, ri rootImage, o nodeOptions) (Built, error) {
	if ri.suite == "" {
		ri.suite = NodeSuite
	}
	inputs := digestOf(append([]string{ri.suite, o.mirror, strings.Join(ri.packages, ","), string(ri.setup)}, ri.inputs...)...)
	if b, ok, err := kept(ctx, eng, ri.ref, inputs, ri.from, o.buildOptions); ok || err != nil {
		return b, err
	}
	root, err := os.MkdirTemp(o.cacheDir, "root-")
	if err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	defer os.RemoveAll(root)
	o.log.Info("debootstrap: downloading and installing Debian packages (a few minutes)", "image", ri.ref, "suite", ri.suite, "packages", strings.Join(ri.packages, " "))
	t0 := time.Now()
	if err := run(ctx, o, "debootstrap", "--variant=minbase", "--include="+strings.Join(ri.packages, ","), ri.suite, root, o.mirror, debootstrapScript(ri.suite)); err != nil {
		return Built{}, err
	}
	o.log.Info("debootstrap done", "image", ri.ref, "elapsed", time.Since(t0).Round(time.Second))
	if ri.prepare != nil {
		if err := ri.prepare(root); err != nil {
			return Built{}, errkind.E(errkind.Infra, err)
		}
	}
	script := filepath.Join(root, "tmp", "gameday-setup.sh")
	if err := os.WriteFile(script, ri.setup, 0o755); err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	if err := run(ctx, o, "chroot", root, "/bin/sh", "/tmp/gameday-setup.sh"); err != nil {
		return Built{}, err
	}
	if err := os.Remove(script); err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	o.log.Info("importing the root into the Docker engine", "image", ri.ref)
	changes := append(slices.Clone(ri.changes), "LABEL "+InputsLabel+"="+inputs,
		`LABEL org.opencontainers.image.description="built offline by gameday from `+ri.from+`"`)
	if err := importTree(ctx, eng, root, ri.ref, changes...); err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	return loaded(ctx, eng, ri.ref, ri.from, o.buildOptions)
}

// buildNodeBase makes NodeBaseImage: debootstrap, kind's files, the setup
// script (nodeimage_setup.sh), NodeEntrypoint.
func buildNodeBase(ctx context.Context, eng nodeEngine, kindFiles string, o nodeOptions) (Built, error) {
	filesSum, err := treeDigest(kindFiles)
	if err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	return buildRootImage(ctx, eng, rootImage{
		ref:      NodeBaseImage,
		from:     "Debian " + NodeSuite + " (" + o.mirror + ") and kind's base files",
		packages: nodePackages,
		inputs:   []string{filesSum, nodeEntrypoint},
		prepare: func(root string) error {
			if err := copyTree(kindFiles, filepath.Join(root, "tmp", "kind-base-files")); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(root, strings.TrimPrefix(NodeEntrypoint, "/")), []byte(nodeEntrypoint), 0o755)
		},
		setup: nodeSetup,
		changes: []string{
			`ENTRYPOINT ["` + NodeEntrypoint + `", "/usr/local/bin/entrypoint", "/sbin/init"]`,
			"ENV container=docker",
		},
	}, o)
}

// buildNode makes BuiltNodeImage: the base with the Kubernetes binaries
// and, in its containerd, the control-plane images; built in a container
// and committed, as kind's node image builder does.
func buildNode(ctx context.Context, eng nodeEngine, base Built, bits string, o nodeOptions) (Built, error) {
	var sums []string
	for _, b := range NodeBits {
		s, err := fileDigest(filepath.Join(bits, b))
		if err != nil {
			return Built{}, errkind.E(errkind.Infra, err)
		}
		sums = append(sums, b+"="+s)
	}
	from := "Kubernetes " + KubernetesVersion + " built from Go modules, on " + NodeBaseImage
	inputs := digestOf(append([]string{base.ID, componentRecipe}, sums...)...)
	if b, ok, err := kept(ctx, eng, BuiltNodeImage, inputs, from, o.buildOptions); ok || err != nil {
		return b, err
	}
	work, err := os.MkdirTemp(o.cacheDir, "node-build-")
	if err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	defer os.RemoveAll(work)
	images := filepath.Join(work, "images.tar")
	names, err := BuildComponentImages(ctx, bits, images, o.sandbox)
	if err != nil {
		return Built{}, err
	}
	o.log.Info("control-plane images built", "images", strings.Join(names, " "))

	name := "gameday-node-build-" + fmt.Sprint(time.Now().UnixNano())
	// A plain container with CAP_SYS_ADMIN is enough to run containerd for
	// an import without unpacking: no --privileged (some engines cannot
	// grant it, see DockerShim).
	if err := run(ctx, o, "docker", "run", "-d", "--name", name, "--label", "dev.gameday.build=node-image",
		"--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"--tmpfs", "/run", "--entrypoint", "sleep", NodeBaseImage, "infinity"); err != nil {
		return Built{}, err
	}
	defer func() {
		// A fresh context: the build's may be cancelled.
		_ = exec.CommandContext(context.WithoutCancel(ctx), "docker", "rm", "-f", "-v", name).Run()
	}()
	for _, b := range []string{"kubelet", "kubeadm", "kubectl"} {
		if err := run(ctx, o, "docker", "cp", filepath.Join(bits, b), name+":/usr/bin/"+b); err != nil {
			return Built{}, err
		}
	}
	if err := run(ctx, o, "docker", "cp", images, name+":/kind/images.tar"); err != nil {
		return Built{}, err
	}
	o.log.Info("importing the control-plane images into the node's containerd")
	script := `set -eu
echo ` + KubernetesVersion + ` > /kind/version
chown root:root /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl
chmod 0755 /usr/bin/kubelet /usr/bin/kubeadm /usr/bin/kubectl
containerd >/tmp/containerd.log 2>&1 &
cpid=$!
i=0; until ctr version >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ] || { cat /tmp/containerd.log; exit 1; }; sleep 0.1; done
ctr --namespace=k8s.io images import --all-platforms --no-unpack /kind/images.tar
ctr --namespace=k8s.io images ls -q
kill $cpid; wait $cpid || true
rm -f /kind/images.tar /tmp/containerd.log
`
	if err := run(ctx, o, "docker", "exec", name, "sh", "-c", script); err != nil {
		return Built{}, err
	}
	if err := run(ctx, o, "docker", "commit",
		"--change", `ENTRYPOINT ["`+NodeEntrypoint+`", "/usr/local/bin/entrypoint", "/sbin/init"]`,
		"--change", "LABEL "+InputsLabel+"="+inputs,
		"--change", `LABEL org.opencontainers.image.description="kind node image built offline by gameday: `+from+`"`,
		name, BuiltNodeImage); err != nil {
		return Built{}, err
	}
	return loaded(ctx, eng, BuiltNodeImage, from, o.buildOptions)
}

// sandboxImage reads sandbox_image from kind's containerd config: the
// pause image containerd starts every pod with, which the node image
// must carry under that name.
func sandboxImage(config string) (string, error) {
	b, err := os.ReadFile(config)
	if err != nil {
		return "", errkind.E(errkind.Invalid, fmt.Errorf("kind's containerd config: %w", err))
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if ok && strings.TrimSpace(k) == "sandbox_image" {
			return strings.Trim(strings.TrimSpace(v), `"`), nil
		}
	}
	return "", errkind.Errorf(errkind.Invalid, "kind's containerd config %s sets no sandbox_image", config)
}

// kept reports whether the engine has ref built from inputs (and so the
// build is skipped), unless the build is forced.
func kept(ctx context.Context, eng Store, ref, inputs, from string, o buildOptions) (Built, bool, error) {
	if o.force {
		return Built{}, false, nil
	}
	id, labels, err := eng.Labels(ctx, ref)
	if err != nil {
		return Built{}, false, errkind.E(errkind.Infra, err)
	}
	if id == "" || labels[InputsLabel] != inputs {
		o.log.Info("building an image", "image", ref, "from", from)
		return Built{}, false, nil
	}
	o.log.Info("image is up to date", "image", ref, "from", from)
	return Built{Ref: ref, ID: id, Kept: true, From: from}, true, nil
}

// loaded is what became of an image just built.
func loaded(ctx context.Context, eng Store, ref, from string, o buildOptions) (Built, error) {
	id, _, err := eng.Labels(ctx, ref)
	if err != nil {
		return Built{}, errkind.E(errkind.Infra, err)
	}
	if id == "" {
		return Built{}, errkind.Errorf(errkind.Infra, "the engine has no %s after building it", ref)
	}
	o.log.Info("image loaded into the Docker engine", "image", ref, "id", id)
	return Built{Ref: ref, ID: id, From: from}, nil
}

// run runs a build command, its output narrated on the build log line by
// line, and fails with its last line.
func run(ctx context.Context, o nodeOptions, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	w := &lineLog{log: o.log, prefix: filepath.Base(name)}
	cmd.Stdout, cmd.Stderr = w, w
	err := cmd.Run()
	w.flush()
	if err != nil {
		return errkind.Errorf(errkind.Infra, "%s %s: %v: %s", name, firstWord(args), err, w.last)
	}
	return nil
}

func firstWord(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// importTree streams dir as a tarball into `docker import`.
func importTree(ctx context.Context, eng nodeEngine, dir, ref string, changes ...string) error {
	cmd := exec.CommandContext(ctx, "tar", "-C", dir, "--numeric-owner", "-c", ".")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	ierr := eng.Import(ctx, out, ref, changes...)
	_, _ = io.Copy(io.Discard, out)
	if werr := cmd.Wait(); werr != nil {
		return errors.Join(ierr, fmt.Errorf("tar %s: %w: %s", dir, werr, strings.TrimSpace(stderr.String())))
	}
	return ierr
}

// digestOf is the sha256 of the parts, each length-prefixed.
func digestOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func fileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// treeDigest digests every regular file's path, mode and content under dir.
func treeDigest(dir string) (string, error) {
	var parts []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s, err := fileDigest(p)
		if err != nil {
			return err
		}
		parts = append(parts, rel+"="+s)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", dir, err)
	}
	slices.Sort(parts)
	return digestOf(parts...), nil
}

// copyTree copies the regular files and directories under src to dst
// (modes are set by the setup script).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, 0o644)
		}
		return nil
	})
}

// lineLog narrates a command's output on the build log, a line at a
// time, and remembers the last line for the error.
type lineLog struct {
	log    interface{ Info(string, ...any) }
	prefix string
	buf    []byte
	last   string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.line(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
}

func (l *lineLog) flush() {
	if len(l.buf) > 0 {
		l.line(string(l.buf))
		l.buf = nil
	}
}

func (l *lineLog) line(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	l.last = s
	l.log.Info(l.prefix + ": " + s)
}
