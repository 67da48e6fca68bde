package embedded

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/kubernetes/pkg/volume"
)

// The emptyDir volume plugin, by name and as its directory under a pod's
// volumes directory.
const (
	emptyDirPluginName = "kubernetes.io/empty-dir"
	emptyDirPluginDir  = "kubernetes.io~empty-dir"
)

// killedExitCode is a container's exit code when it did not stop within
// its grace period and was killed (128 + SIGKILL).
const killedExitCode = 137

// modelEmptyDirs replaces the emptyDir plugin among a kubelet's volume
// plugins with one whose volumes also count what the apps wrote into
// them (their models), so that the kubelet's volume stats, its summary
// and its eviction manager (sizeLimit, ephemeral-storage limits, ranking
// under DiskPressure) see the writes that the simulated containers never
// make on disk.
func modelEmptyDirs(plugins []volume.VolumePlugin, used func(dir string) int64, node func() (capacity, available int64)) []volume.VolumePlugin {
	out := make([]volume.VolumePlugin, len(plugins))
	for i, p := range plugins {
		out[i] = p
		if p.GetPluginName() == emptyDirPluginName {
			out[i] = &emptyDirPlugin{VolumePlugin: p, used: used, node: node}
		}
	}
	return out
}

// emptyDirPlugin is the real emptyDir plugin whose mounters report the
// models' writes.
type emptyDirPlugin struct {
	volume.VolumePlugin
	used func(dir string) int64
	node func() (capacity, available int64)
}

// NewMounter wraps the plugin's mounter.
func (p *emptyDirPlugin) NewMounter(spec *volume.Spec, pod *corev1.Pod) (volume.Mounter, error) {
	m, err := p.VolumePlugin.NewMounter(spec, pod)
	if err != nil {
		return nil, err
	}
	return &emptyDirMounter{Mounter: m, plugin: p}, nil
}

// emptyDirMounter is an emptyDir volume whose metrics add the models'
// writes to what is on disk, on the node's root volume.
type emptyDirMounter struct {
	volume.Mounter
	plugin *emptyDirPlugin
}

// GetMetrics is the volume's real usage plus what the apps wrote to it,
// with the node's root volume as its capacity.
func (m *emptyDirMounter) GetMetrics() (*volume.Metrics, error) {
	met, err := m.Mounter.GetMetrics()
	if err != nil || met == nil {
		return met, err
	}
	used := m.plugin.used(m.GetPath())
	if met.Used != nil {
		used += met.Used.Value()
	}
	capacity, available := m.plugin.node()
	met.Used = resource.NewQuantity(used, resource.BinarySI)
	met.Capacity = resource.NewQuantity(capacity, resource.BinarySI)
	met.Available = resource.NewQuantity(available, resource.BinarySI)
	return met, nil
}
