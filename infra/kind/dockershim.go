package kind

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// kind runs its node containers with --privileged, which asks the engine
// for every capability the kernel knows. An engine whose own bounding
// set lacks one (a sandboxed or nested engine; gameday's CI machines lack
// CAP_SYS_RESOURCE) cannot grant that, and every node fails with "unable
// to apply caps: operation not permitted". kind has no option for its run
// flags and runs the docker CLI by name, so on such an engine gameday
// puts a docker shim first on PATH: it turns --privileged into what
// --privileged gives, less the capabilities the engine lacks: every
// other capability, every device, unconfined system paths, and /dev/kmsg
// and /dev/fuse. The cgroup hierarchies stay read-only in such a
// container; the offline node image's entrypoint (NodeEntrypoint) makes
// them writable.

// capNames are the kernel's capability names by number, as Docker spells
// them.
var capNames = []string{
	"CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW",
	"IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT",
	"SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD",
	"LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG",
	"WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF", "CHECKPOINT_RESTORE",
}

// missingCaps names the capabilities up to lastCap that the bounding set
// bnd (hex, as /proc/self/status's CapBnd) lacks.
func missingCaps(bnd string, lastCap int) ([]string, error) {
	set, err := strconv.ParseUint(strings.TrimSpace(bnd), 16, 64)
	if err != nil {
		return nil, fmt.Errorf("capability bounding set %q: %w", bnd, err)
	}
	var out []string
	for i := 0; i <= lastCap && i < len(capNames); i++ {
		if set&(1<<i) == 0 {
			out = append(out, capNames[i])
		}
	}
	return out, nil
}

// hostMissingCaps reads this process's bounding set: a local engine
// runs in the same sandbox.
func hostMissingCaps() ([]string, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil, err
	}
	last := len(capNames) - 1
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return missingCaps(v, last)
		}
	}
	return nil, fmt.Errorf("/proc/self/status has no CapBnd")
}

// DockerShim is the shim script for the docker CLI at real: `run` and
// `create` get, instead of --privileged, every capability but drop, every
// device, and unconfined system paths; `exec` loses --privileged (the
// process gets the container's capabilities). Everything else passes
// through.
func DockerShim(real string, drop []string, devices []string) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by gameday (infra/kind/dockershim.go): this Docker engine cannot\n# grant --privileged; see DockerShim.\n")
	fmt.Fprintf(&b, "real=%s\n", shellQuote(real))
	b.WriteString(`sub=""
for a do
  case "$a" in -*) ;; *) sub="$a"; break ;; esac
done
case "$sub" in run|create|exec) ;; *) exec "$real" "$@" ;; esac
for a do
  shift
  if [ "$a" = --privileged ]; then
    [ "$sub" = exec ] && continue
    set -- "$@" --cap-add=ALL`)
	for _, c := range drop {
		fmt.Fprintf(&b, " --cap-drop=%s", c)
	}
	b.WriteString(` "--device-cgroup-rule=a *:* rwm" --security-opt=systempaths=unconfined`)
	for _, d := range devices {
		fmt.Fprintf(&b, " --device=%s", d)
	}
	b.WriteString(`
  else
    set -- "$@" "$a"
  fi
done
exec "$real" "$@"
`)
	return b.String()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

var shimOnce struct {
	sync.Mutex
	dir string
}

// EnsurePrivileged checks that the engine runs a --privileged container
// of image; when it cannot grant every capability, it puts DockerShim
// first on this process's PATH (once), so that kind's node containers
// start. Any other failure is returned.
func EnsurePrivileged(ctx context.Context, image string, log *slog.Logger) error {
	shimOnce.Lock()
	defer shimOnce.Unlock()
	if shimOnce.dir != "" {
		return nil
	}
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--pull=never", "--privileged", "--entrypoint", "/bin/true", image).CombinedOutput()
	if err == nil {
		return nil
	}
	if strings.Contains(string(out), "No such image") {
		return errkind.Errorf(errkind.Infra, "the node image %s is not in the local Docker engine: `%s` builds gameday's offline one (or `docker pull %s`)", image, dockerhost.BuildCommand, NodeImage)
	}
	if !strings.Contains(string(out), "apply caps") {
		return errkind.Errorf(errkind.Infra, "docker run --privileged %s: %v: %s", image, err, strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0])
	}
	drop, err := hostMissingCaps()
	if err != nil {
		return errkind.E(errkind.Infra, fmt.Errorf("this Docker engine cannot run --privileged containers, and its capabilities cannot be read: %w", err))
	}
	real, err := exec.LookPath("docker")
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	var devices []string
	for _, d := range []string{"/dev/kmsg", "/dev/fuse"} {
		if _, err := os.Stat(d); err == nil {
			devices = append(devices, d)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	dir := filepath.Join(cache, "gameday", "docker-shim")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(DockerShim(real, drop, devices)), 0o755); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	if err := os.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	shimOnce.dir = dir
	log.Warn("this Docker engine cannot grant every capability to a --privileged container; kind's nodes run with all but these instead",
		"missing", strings.Join(drop, ","), "shim", filepath.Join(dir, "docker"))
	return nil
}
