package embedded

import (
	"context"
	"time"

	cadvisorapi "github.com/google/cadvisor/lib/model"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/kubelet/cm"
)

// A node's root volume, as an EKS managed node group makes it (20 GiB
// gp3), with what the AMI, the kubelet and the preloaded images take.
const (
	rootVolumeBytes = 20 << 30
	rootBaseUsed    = 5 << 30
	rootDevice      = "/dev/nvme0n1p1"
	// containerdRoot is where the image filesystem lives: on the root
	// volume, as on EKS (no dedicated image filesystem).
	containerdRoot = "/var/lib/containerd"
	// statsInterval is the spacing of the two root cgroup samples the
	// kubelet's summary needs to compute CPU use.
	statsInterval = 10 * time.Second
)

// Eviction settings, as the EKS AMI's kubelet configuration has them.
var evictionHard = map[string]string{
	"memory.available":  "100Mi",
	"nodefs.available":  "10%",
	"imagefs.available": "15%",
}

// fsInfo is the root volume with what the node's containers have
// written (their models' disk use).
func (m *machine) fsInfo() cadvisorapi.FsInfo {
	used := uint64(rootBaseUsed) + uint64(m.filled.Load())
	if m.diskUsed != nil {
		used += uint64(m.diskUsed())
	}
	if used > rootVolumeBytes {
		used = rootVolumeBytes
	}
	inodes, free := uint64(1310720), uint64(1100000)
	return cadvisorapi.FsInfo{
		Timestamp: time.Now(), Device: rootDevice, Mountpoint: "/",
		Capacity: rootVolumeBytes, Usage: used, Available: rootVolumeBytes - used,
		Inodes: &inodes, InodesFree: &free,
	}
}

// RootFsInfo reports the root volume.
func (m *machine) RootFsInfo() (cadvisorapi.FsInfo, error) { return m.fsInfo(), nil }

// ImagesFsInfo reports the root volume: images live on it.
func (m *machine) ImagesFsInfo(context.Context) (cadvisorapi.FsInfo, error) { return m.fsInfo(), nil }

// ContainerFsInfo reports the root volume: writable layers live on it.
func (m *machine) ContainerFsInfo(context.Context) (cadvisorapi.FsInfo, error) {
	return m.fsInfo(), nil
}

// GetDirFsInfo reports the root volume for every directory.
func (m *machine) GetDirFsInfo(string) (cadvisorapi.FsInfo, error) { return m.fsInfo(), nil }

// ContainerInfoV2 reports the root cgroup, with two samples so that the
// kubelet can compute CPU use: its summary (and the eviction manager
// that reads it) fails without.
func (m *machine) ContainerInfoV2(name string, _ cadvisorapi.RequestOptions) (map[string]cadvisorapi.ContainerInfo, error) {
	if name != "/" {
		return map[string]cadvisorapi.ContainerInfo{}, nil
	}
	now := time.Now()
	sample := func(at time.Time) *cadvisorapi.ContainerStats {
		cores := uint64(nodeSystemCPU) * 1_000_000 // ns of CPU per second
		return &cadvisorapi.ContainerStats{
			Timestamp: at,
			Cpu:       &cadvisorapi.CpuStats{Usage: cadvisorapi.CpuUsage{Total: uint64(at.Unix()) * cores}},
			Memory:    &cadvisorapi.MemoryStats{Usage: nodeSystemMemory, WorkingSet: nodeSystemMemory},
		}
	}
	return map[string]cadvisorapi.ContainerInfo{"/": {
		ContainerReference: cadvisorapi.ContainerReference{Name: "/"},
		Spec:               cadvisorapi.ContainerSpec{HasCpu: true, HasMemory: true, Memory: cadvisorapi.MemorySpec{Limit: m.shape.memory}},
		Stats:              []*cadvisorapi.ContainerStats{sample(now.Add(-statsInterval)), sample(now)},
	}}, nil
}

// imageFilesystems is what the runtime reports of its image filesystem.
func imageFilesystems() []*runtimeapi.FilesystemUsage {
	return []*runtimeapi.FilesystemUsage{{
		Timestamp: time.Now().UnixNano(),
		FsId:      &runtimeapi.FilesystemIdentifier{Mountpoint: containerdRoot},
		UsedBytes: &runtimeapi.UInt64Value{Value: 2 << 30},
	}}
}

// ListContainerStats reports every container's use from its model: CPU,
// memory, and what it has written to its writable layer (what it writes
// to an emptyDir is the volume's: emptyDirPlugin), so that the eviction
// manager ranks pods under disk pressure by what they wrote.
func (r *runtime) ListContainerStats(_ context.Context, filter *runtimeapi.ContainerStatsFilter) ([]*runtimeapi.ContainerStats, error) {
	r.FakeRuntimeService.Lock()
	var cs []*runtimeapi.Container
	for _, c := range r.FakeRuntimeService.Containers {
		if filter != nil && filter.Id != "" && c.Id != filter.Id {
			continue
		}
		if filter != nil && filter.PodSandboxId != "" && c.SandboxID != filter.PodSandboxId {
			continue
		}
		cs = append(cs, &runtimeapi.Container{Id: c.Id, Metadata: c.Metadata, Labels: c.Labels, Annotations: c.Annotations})
	}
	r.FakeRuntimeService.Unlock()
	now := time.Now()
	out := make([]*runtimeapi.ContainerStats, 0, len(cs))
	for _, c := range cs {
		var cpu, mem, disk int64
		if m, ok := r.exec.container(c.Id); ok {
			st := m.app.StateAt(m.in, now.Sub(m.t0))
			cpu, mem = st.CPU, st.Memory
			if m.volume == "" { // what it writes to an emptyDir is the volume's
				disk = st.Disk
			}
		}
		out = append(out, &runtimeapi.ContainerStats{
			Attributes: &runtimeapi.ContainerAttributes{Id: c.Id, Metadata: c.Metadata, Labels: c.Labels, Annotations: c.Annotations},
			Cpu: &runtimeapi.CpuUsage{Timestamp: now.UnixNano(), UsageNanoCores: &runtimeapi.UInt64Value{Value: uint64(cpu) * 1_000_000},
				UsageCoreNanoSeconds: &runtimeapi.UInt64Value{Value: uint64(cpu) * 1_000_000 * uint64(now.Unix())}},
			Memory: &runtimeapi.MemoryUsage{Timestamp: now.UnixNano(), WorkingSetBytes: &runtimeapi.UInt64Value{Value: uint64(mem)}},
			WritableLayer: &runtimeapi.FilesystemUsage{Timestamp: now.UnixNano(), FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: containerdRoot},
				UsedBytes: &runtimeapi.UInt64Value{Value: uint64(disk)}},
		})
	}
	return out, nil
}

// kubeReservedStorage is the ephemeral storage the EKS AMI reserves for
// the system (kubeReserved ephemeral-storage).
const kubeReservedStorage = 1 << 30

// containerManager is the stub container manager with the node's root
// volume as its ephemeral-storage capacity (the stub's is 0, so that no
// pod with an ephemeral-storage request would fit), and the EKS AMI's
// reservation of it: kubeReserved and the nodefs hard eviction
// threshold, so that a 20 GiB node offers 17 GiB.
type containerManager struct{ cm.ContainerManager }

// GetCapacity is the root volume, as ephemeral storage.
func (containerManager) GetCapacity(_ klog.Logger, localStorageCapacityIsolation bool) corev1.ResourceList {
	if !localStorageCapacityIsolation {
		return corev1.ResourceList{}
	}
	return corev1.ResourceList{corev1.ResourceEphemeralStorage: *resource.NewQuantity(rootVolumeBytes, resource.BinarySI)}
}

// GetNodeAllocatableReservation is what the system keeps of the root
// volume.
func (containerManager) GetNodeAllocatableReservation() corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceEphemeralStorage: *resource.NewQuantity(kubeReservedStorage+rootVolumeBytes/10, resource.BinarySI)}
}
