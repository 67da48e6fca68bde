// Package kind is the full-fidelity backend for Docker hosts: a kind
// cluster per run, whose nodes pull from gameday's ECR registry through
// containerd, with node identity taken from the pull's source address.
// The images it runs where nothing can be pulled come from the offline
// image factory, package images.
//
// This file holds the parts that need no Docker engine: the kind cluster
// configuration for a scenario, the containerd registry configuration,
// and the source-address → node group resolution.
package kind

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/internal/domain/eks"
)

// NodeImage is the kind node image gameday creates clusters from.
const NodeImage = "kindest/node:v1.37.0"

// PendingTaint keeps a deferred node group's nodes out of use until its
// createNodeGroup step: kind cannot add nodes to a running cluster, so
// every group exists from the start.
const PendingTaint = "gameday.dev/pending-node-group"

// auditPolicyDir is where the control-plane node sees the host
// directory holding the audit policy.
const auditPolicyDir = "/etc/kubernetes/gameday-audit"

// auditLogDir is where, inside the control-plane node, the API server
// writes the audit log. It stays in the node (the API server runs as root
// and writes the file 0600); gameday streams it out (see streamAudit).
const auditLogDir = "/var/log/kubernetes/gameday-audit"

// AuditLogPath is the audit log's path inside the control-plane node.
const AuditLogPath = auditLogDir + "/audit.log"

// ClusterName is the kind cluster name of a run.
func ClusterName(runID string) string { return "gameday-" + runID }

// Config returns the kind configuration for a scenario's node groups in
// region: one control-plane node, and Capacity workers for every node
// group (kind cannot add nodes to a running cluster, so they all exist
// from the start), labelled as EKS labels its nodes. Nodes not in
// service at the start (a group's beyond its Size, all of a group the
// fault creates) are tainted with PendingTaint. The API server writes an
// audit log of the operator's requests, with the policy read from
// hostAudit (a host directory holding audit-policy.yaml).
//
// The cluster has no default CNI: gameday installs its own (InstallCNI),
// the same on every node image. The kubelet starts on cgroup v1 hosts
// too (failCgroupV1: false). WithoutAddons leaves out kube-proxy and
// cluster DNS, for a node image that does not carry their images.
func Config(groups []eks.NodeGroup, region, runID, hostAudit string, opts ...ConfigOption) *v1alpha4.Cluster {
	var o configOptions
	for _, opt := range opts {
		opt(&o)
	}
	cp := v1alpha4.Node{
		Role:   v1alpha4.ControlPlaneRole,
		Labels: map[string]string{eks.RunIDLabel: runID},
		ExtraMounts: []v1alpha4.Mount{{
			HostPath: hostAudit, ContainerPath: auditPolicyDir, Readonly: true,
		}},
	}
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     ClusterName(runID),
		Nodes:    []v1alpha4.Node{cp},
		KubeadmConfigPatches: []string{fmt.Sprintf(`kind: ClusterConfiguration
apiServer:
  extraArgs:
    - name: audit-policy-file
      value: %[1]s/audit-policy.yaml
    - name: audit-log-path
      value: %[2]s
    - name: audit-log-format
      value: json
    - name: audit-log-mode
      value: blocking
  extraVolumes:
    - name: gameday-audit-policy
      hostPath: %[1]s
      mountPath: %[1]s
      readOnly: true
      pathType: Directory
    - name: gameday-audit-log
      hostPath: %[3]s
      mountPath: %[3]s
      readOnly: false
      pathType: DirectoryOrCreate
`, auditPolicyDir, AuditLogPath, auditLogDir), KubeletPatch},
		ContainerdConfigPatches: []string{RegistryConfigPatch},
	}
	cfg.Networking.DisableDefaultCNI = true
	if o.timings != nil {
		cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches, TimingsPatches(*o.timings)...)
	}
	if o.noAddons {
		cfg.Networking.KubeProxyMode = "none" // kind accepts it; v1alpha4 has no constant for it
		cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches, NoDNSPatch)
	}
	for _, ng := range groups {
		for i := range max(ng.Capacity, ng.Size) {
			n := v1alpha4.Node{Role: v1alpha4.WorkerRole, Labels: Labels(ng, region, runID)}
			var taints []string
			for _, t := range ng.Taints {
				taints = append(taints, fmt.Sprintf("    - {key: %q, value: %q, effect: %s}\n", t.Key, t.Value, t.Effect))
			}
			if i >= ng.Size {
				taints = append(taints, fmt.Sprintf("    - {key: %q, value: %q, effect: NoSchedule}\n", PendingTaint, ng.Name))
			}
			if len(taints) > 0 {
				n.KubeadmConfigPatches = []string{"kind: JoinConfiguration\nnodeRegistration:\n  taints:\n" + strings.Join(taints, "")}
			}
			cfg.Nodes = append(cfg.Nodes, n)
		}
	}
	return cfg
}

// RegistryConfigPatch has containerd read a registry host's
// configuration from /etc/containerd/certs.d/<host>/hosts.toml
// (HostsTOMLPath). kind's containerd configuration does not set
// config_path, and without it containerd ignores hosts.toml and goes to
// the real registry host.
const RegistryConfigPatch = `[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
`

// KubeletPatch lets the kubelet start on a cgroup v1 host: from
// Kubernetes 1.35 on it refuses to unless told otherwise.
const KubeletPatch = `kind: KubeletConfiguration
failCgroupV1: false
`

// NoDNSPatch leaves CoreDNS out (kubeadm's v1beta4 dns.disabled).
const NoDNSPatch = `kind: ClusterConfiguration
dns:
  disabled: true
`

// configOptions are Config's options.
type configOptions struct {
	noAddons bool
	timings  *environment.Timings
}

// ConfigOption configures Config.
type ConfigOption func(*configOptions)

// WithoutAddons leaves kube-proxy and CoreDNS out of the cluster: the
// offline node image (images.BuiltNodeImage) does not carry their images.
func WithoutAddons() ConfigOption { return func(o *configOptions) { o.noAddons = true } }

// WithTimings sets the controller manager's and the kubelets' periods
// (TimingsPatches); without it they are kubeadm's defaults.
func WithTimings(t environment.Timings) ConfigOption {
	return func(o *configOptions) { o.timings = &t }
}

// TimingsPatches are the kubeadm patches that set a scenario's timings:
// the controller manager's flags, on the control-plane node, and the
// kubelets' configuration, on every node. (metrics-server's resolution
// is the add-on's.)
func TimingsPatches(t environment.Timings) []string {
	return []string{fmt.Sprintf(`kind: ClusterConfiguration
controllerManager:
  extraArgs:
    - name: horizontal-pod-autoscaler-sync-period
      value: %s
    - name: node-monitor-grace-period
      value: %s
`, t.HPASyncPeriod, t.NodeMonitorGracePeriod), fmt.Sprintf(`kind: KubeletConfiguration
evictionPressureTransitionPeriod: %s
volumeStatsAggPeriod: %s
crashLoopBackOff:
  maxContainerRestartPeriod: %s
`, t.EvictionPressureTransitionPeriod, t.VolumeStatsAggPeriod, t.CrashLoopBackOffMax)}
}

// Labels are a node group's node labels, as EKS sets them (the same on
// every backend: eks.NodeLabels).
func Labels(ng eks.NodeGroup, region, runID string) map[string]string {
	return eks.NodeLabels(ng, region, map[string]string{eks.RunIDLabel: runID})
}

// HostsTOML is the containerd registry configuration that sends pulls of
// registryHost (the ECR host name) to gameday's registry at mirror
// (http://<gateway>:<port>), written to
// /etc/containerd/certs.d/<registryHost>/hosts.toml on every node. Every
// host it names is gameday's registry: containerd takes a 401 from a
// [host] entry as "try the next host", and a server entry other than the
// registry would send the pull on to the real ECR on the internet. The
// [host] table is there because containerd 1.7 rejects a hosts.toml
// without one ("invalid `host` tree") and then ignores the file; so a
// refused pull asks the registry twice, and the error is the server
// entry's, the same registry's answer.
func HostsTOML(registryHost, mirror string) string {
	return fmt.Sprintf(`# Written by gameday: pulls of %[1]s go to gameday's registry only.
server = "%[2]s"
capabilities = ["pull", "resolve"]

[host."%[2]s"]
  capabilities = ["pull", "resolve"]
`, registryHost, mirror)
}

// HostsTOMLPath is where HostsTOML goes on a node.
func HostsTOMLPath(registryHost string) string {
	return "/etc/containerd/certs.d/" + registryHost + "/hosts.toml"
}

// NodeAddr is a node's container address and node group.
type NodeAddr struct {
	Name  string
	Group string
	IP    netip.Addr
}

// Resolver maps a pull's source address to the pulling node, for the
// registry's identity function.
type Resolver struct {
	mu   sync.RWMutex
	byIP map[netip.Addr]NodeAddr
}

// NewResolver indexes nodes by address.
func NewResolver(nodes ...NodeAddr) *Resolver {
	r := &Resolver{byIP: map[netip.Addr]NodeAddr{}}
	r.Set(nodes...)
	return r
}

// Set replaces the known nodes.
func (r *Resolver) Set(nodes ...NodeAddr) {
	m := make(map[netip.Addr]NodeAddr, len(nodes))
	for _, n := range nodes {
		m[n.IP.Unmap()] = n
	}
	r.mu.Lock()
	r.byIP = m
	r.mu.Unlock()
}

// Node returns the node at addr ("ip:port" or "ip").
func (r *Resolver) Node(addr string) (NodeAddr, bool) {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return NodeAddr{}, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	n, ok := r.byIP[ip.Unmap()]
	return n, ok
}

// Identity is the registry's identity function: the name of the node a
// request comes from, or "" for anyone else.
func (r *Resolver) Identity(req *http.Request) string {
	n, ok := r.Node(req.RemoteAddr)
	if !ok {
		return ""
	}
	return n.Name
}

// ByName returns the known node called name.
func (r *Resolver) ByName(name string) (NodeAddr, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, n := range r.byIP {
		if n.Name == name {
			return n, true
		}
	}
	return NodeAddr{}, false
}

// Groups returns the node → node group map of the known nodes.
func (r *Resolver) Groups() map[string]string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[string]string, len(r.byIP))
	for _, n := range r.byIP {
		out[n.Name] = n.Group
	}
	return out
}
