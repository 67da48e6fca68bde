package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/kubelet/pkg/types"

	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// execTick is how often a running container's model advances: new log
// lines, and an exit.
const execTick = 250 * time.Millisecond

// executor runs each started container's behaviour model: the embedded
// executor. A container's logs go to its CRI log file; when the model
// exits, the container becomes EXITED with the exit code and reason, and
// the real kubelet restarts it with its back-off (CrashLoopBackOff).
type executor struct {
	rt *runtime
	// behaviours say how images behave, by reference; an image not here
	// runs the default behaviour.
	behaviours map[string]behaviour.App
	// load is the load a pod serves (namespace, name); nil is none.
	load func(namespace, pod string) float64

	mu      sync.Mutex
	configs map[string]*runtimeapi.ContainerConfig // container id → how it was created
	runs    map[string]context.CancelFunc          // container id → its model's loop
	live    map[string]running                     // container id → its running model
}

// container returns a running container's model.
func (x *executor) container(id string) (running, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	c, ok := x.live[id]
	return c, ok
}

// byPod returns the running containers' models by pod UID and container
// name.
func (x *executor) byPod() map[string]map[string]running {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := map[string]map[string]running{}
	for _, c := range x.live {
		labels := c.config.GetLabels()
		uid := labels[types.KubernetesPodUIDLabel]
		if out[uid] == nil {
			out[uid] = map[string]running{}
		}
		out[uid][labels[types.KubernetesContainerNameLabel]] = c
	}
	return out
}

// diskUsed is what the running containers have written, by their
// models, in bytes: to their writable layers and their emptyDirs alike,
// which all live on the node's root volume.
func (x *executor) diskUsed() int64 { return x.written(func(running) bool { return true }) }

// volumeUsed is what the running containers have written to the
// emptyDir volume at a host directory, by their models, in bytes.
func (x *executor) volumeUsed(dir string) int64 {
	dir = filepath.Clean(dir)
	return x.written(func(c running) bool { return c.volume == dir })
}

// written sums what the running containers that match have written.
func (x *executor) written(match func(running) bool) int64 {
	x.mu.Lock()
	var live []running
	for _, c := range x.live {
		if c.app.Resources.DiskPerMinute > 0 && match(c) {
			live = append(live, c)
		}
	}
	x.mu.Unlock()
	var total int64
	now := time.Now()
	for _, c := range live {
		total += c.app.StateAt(c.in, now.Sub(c.t0)).Disk
	}
	return total
}

// stopped is how a container ends when the kubelet stops it with a
// grace period: as its app's shutdown says when it drains in time, else
// killed (137), as containerd reports a container it had to SIGKILL.
func (x *executor) stopped(id string, grace time.Duration) (code int, reason string, ok bool) {
	c, ok := x.container(id)
	if !ok {
		return 0, "", false
	}
	sd := c.app.Shutdown
	switch {
	case sd.Drain > grace:
		return killedExitCode, behaviour.ReasonError, true
	case sd.ExitCode != 0:
		return sd.ExitCode, behaviour.ReasonError, true
	}
	return 0, behaviour.ReasonCompleted, true
}

// listening returns the running container of a pod sandbox that serves
// HTTP on port.
func (x *executor) listening(sandboxID string, port int) (running, bool) {
	x.rt.FakeRuntimeService.Lock()
	var ids []string
	for id, c := range x.rt.FakeRuntimeService.Containers {
		if c.SandboxID == sandboxID {
			ids = append(ids, id)
		}
	}
	x.rt.FakeRuntimeService.Unlock()
	for _, id := range ids {
		if c, ok := x.container(id); ok && c.serves(port) {
			return c, true
		}
	}
	return running{}, false
}

// created records how a container was created, for its start.
func (x *executor) created(id string, config *runtimeapi.ContainerConfig) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.configs[id] = config
}

// start runs a container's model from now on.
func (x *executor) start(id string) error {
	x.rt.FakeRuntimeService.Lock()
	c := x.rt.FakeRuntimeService.Containers[id]
	var logPath, name, image, sandbox string
	if c != nil {
		logPath, name, image, sandbox = c.LogPath, c.GetMetadata().GetName(), c.GetImage().GetImage(), c.SandboxID
	}
	x.rt.FakeRuntimeService.Unlock()
	x.mu.Lock()
	config := x.configs[id]
	x.mu.Unlock()
	if c == nil || logPath == "" || config == nil {
		return nil
	}
	app, ok := x.behaviours[image]
	if app.Name == "" {
		app.Name = name
	}
	in := inputs(app, config)
	in.Load = x.loadOf(config)
	app = app.Under(in) // where it writes, for the node's disk
	t0 := time.Now()
	x.mu.Lock()
	x.live[id] = running{app: app, in: in, config: config, ports: x.rt.ports(sandbox), t0: t0,
		volume: emptyDirOf(config.GetMounts(), app.Resources.DiskPath)}
	x.mu.Unlock()
	lines, st := app.Run(in, -1, 0)
	if err := appendCRILog(logPath, t0, lines); err != nil {
		return err
	}
	if !ok && st.Exit == nil {
		return nil // the default behaviour: one start line, then it stays up
	}
	ctx, cancel := context.WithCancel(context.Background())
	x.mu.Lock()
	if old := x.runs[id]; old != nil {
		old()
	}
	x.runs[id] = cancel
	x.mu.Unlock()
	go x.run(ctx, id, app, in, logPath, t0, st)
	return nil
}

// loadOf is the load the container's pod serves now.
func (x *executor) loadOf(config *runtimeapi.ContainerConfig) float64 {
	if x.load == nil {
		return 0
	}
	l := config.GetLabels()
	return x.load(l[types.KubernetesPodNamespaceLabel], l[types.KubernetesPodNameLabel])
}

// setLoad records the load a running container serves, for its answers.
func (x *executor) setLoad(id string, load float64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if c, ok := x.live[id]; ok {
		c.in.Load = load
		x.live[id] = c
	}
}

// run advances a container's model every execTick, with the load its pod
// serves then, until it exits or the container is stopped.
func (x *executor) run(ctx context.Context, id string, app behaviour.App, in behaviour.Inputs, logPath string, t0 time.Time, st behaviour.State) {
	defer x.forget(id)
	last := time.Duration(0)
	tick := time.NewTicker(execTick)
	defer tick.Stop()
	for st.Exit == nil {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			var lines []behaviour.Line
			to := now.Sub(t0)
			if c, ok := x.container(id); ok {
				if load := x.loadOf(c.config); load != in.Load {
					in.Load = load
					x.setLoad(id, load)
				}
			}
			lines, st = app.Run(in, last, to)
			last = to
			_ = appendCRILog(logPath, t0, lines) // a removed container's file may be gone
		}
	}
	x.exited(id, t0.Add(st.Exit.At), st.Exit)
}

// exited marks a container EXITED as its model says.
func (x *executor) exited(id string, at time.Time, e *behaviour.Exit) {
	x.mu.Lock()
	delete(x.live, id)
	x.mu.Unlock()
	x.rt.FakeRuntimeService.Lock()
	defer x.rt.FakeRuntimeService.Unlock()
	c := x.rt.FakeRuntimeService.Containers[id]
	if c == nil || c.State != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return
	}
	c.State = runtimeapi.ContainerState_CONTAINER_EXITED
	c.FinishedAt = at.UnixNano()
	c.ExitCode = int32(e.Code)
	c.Reason = e.Reason
}

// stop ends a container's model (the kubelet stopped or removed it).
func (x *executor) stop(id string) {
	x.mu.Lock()
	cancel := x.runs[id]
	delete(x.live, id)
	x.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// forget drops a container's model loop.
func (x *executor) forget(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.runs, id)
}

// removed drops everything about a container.
func (x *executor) removed(id string) {
	x.stop(id)
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.configs, id)
}

// inputs are what the app reads of its container: the environment, and
// the files it declares, read from the host paths the kubelet mounts
// (ConfigMap and Secret volumes are real files in the pod's volume
// directories).
func inputs(app behaviour.App, config *runtimeapi.ContainerConfig) behaviour.Inputs {
	in := behaviour.Inputs{Env: map[string]string{}, Files: map[string]string{}}
	// The kubelet turns the container's limits into cgroup settings: a
	// CPU quota per period, and a memory limit.
	if r := config.GetLinux().GetResources(); r != nil {
		if r.GetCpuQuota() > 0 && r.GetCpuPeriod() > 0 {
			in.CPULimit = r.GetCpuQuota() * 1000 / r.GetCpuPeriod()
		}
		in.MemoryLimit = r.GetMemoryLimitInBytes()
	}
	for _, kv := range config.GetEnvs() {
		in.Env[kv.GetKey()] = string(kv.GetValue())
	}
	for _, file := range app.Files() {
		if host, ok := hostPath(config.GetMounts(), file); ok {
			if b, err := os.ReadFile(host); err == nil {
				in.Files[file] = string(b)
			}
		}
	}
	return in
}

// hostPath finds where a container path is on the host, through the
// deepest mount that holds it.
func hostPath(mounts []*runtimeapi.Mount, path string) (string, bool) {
	best, host := -1, ""
	for _, m := range mounts {
		cp := strings.TrimSuffix(m.GetContainerPath(), "/")
		switch {
		case path == cp:
			if len(cp) > best {
				best, host = len(cp), m.GetHostPath()
			}
		case strings.HasPrefix(path, cp+"/"):
			if len(cp) > best {
				best, host = len(cp), filepath.Join(m.GetHostPath(), strings.TrimPrefix(path, cp+"/"))
			}
		}
	}
	return host, best >= 0
}

// emptyDirOf is the host directory of the emptyDir volume that holds a
// container path, or "" when the path is in no emptyDir (the writable
// layer).
func emptyDirOf(mounts []*runtimeapi.Mount, path string) string {
	if path == "" {
		return ""
	}
	best, dir := -1, ""
	for _, m := range mounts {
		cp := strings.TrimSuffix(m.GetContainerPath(), "/")
		if (path == cp || strings.HasPrefix(path, cp+"/")) && len(cp) > best {
			best, dir = len(cp), m.GetHostPath()
		}
	}
	if !strings.Contains(dir, "/volumes/"+emptyDirPluginDir+"/") {
		return ""
	}
	return filepath.Clean(dir)
}

// appendCRILog appends lines, written start+line.At, to a container log
// in the CRI format the kubelet reads: "<RFC 3339 time> <stream> F
// <text>".
func appendCRILog(path string, start time.Time, lines []behaviour.Line) error {
	if len(lines) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("container log: %w", err)
	}
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "%s %s F %s\n", start.Add(l.At).UTC().Format(time.RFC3339Nano), l.Stream, l.Text)
	}
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
