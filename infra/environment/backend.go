package environment

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// Timings are the periods of the cluster's components that a scenario
// sets (scenarios.Timings), as a backend applies them.
type Timings struct {
	// HPASyncPeriod is kube-controller-manager's
	// --horizontal-pod-autoscaler-sync-period.
	HPASyncPeriod time.Duration
	// MetricsResolution is metrics-server's --metric-resolution: the
	// window of each figure of the metrics API.
	MetricsResolution time.Duration
	// NodeMonitorGracePeriod is kube-controller-manager's
	// --node-monitor-grace-period.
	NodeMonitorGracePeriod time.Duration
	// EvictionPressureTransitionPeriod, CrashLoopBackOffMax and
	// VolumeStatsAggPeriod are the kubelet's evictionPressureTransitionPeriod,
	// crashLoopBackOff.maxContainerRestartPeriod and volumeStatsAggPeriod.
	EvictionPressureTransitionPeriod, CrashLoopBackOffMax, VolumeStatsAggPeriod time.Duration
}

// Params are what a backend's Start gets.
type Params struct {
	// Dir is the run directory (kubeconfigs, audit log, component logs).
	Dir string
	// RunID labels everything the backend creates (eks.RunIDLabel).
	RunID string
	// Region is the AWS region the nodes are in.
	Region string
	// Log receives progress.
	Log *slog.Logger
	// NodeGroups are every node group of the scenario.
	NodeGroups []eks.NodeGroup
	// Behaviours say how the scenario's images behave, by image
	// reference; an image not here runs the default behaviour.
	Behaviours map[string]behaviour.App
	// MetricsServer asks for the metrics-server add-on.
	MetricsServer bool
	// Timings are the control-plane and kubelet periods, each already
	// defaulted and within what real clusters run with.
	Timings Timings
	// Webhooks, for a backend that takes them, point the API server at
	// EKS's token authenticator and access-policy authorizer.
	Webhooks *Webhooks
	// OIDCIssuer, with Webhooks, is the issuer of the API server's
	// service-account tokens, as EKS names it
	// (https://oidc.eks.REGION.amazonaws.com/id/ID): DescribeCluster
	// shows it, and IRSA trust policies name it.
	OIDCIssuer string
	// Pull pulls an image from the ECR registry as a node, for backends
	// whose nodes pull in process: it returns the image's size. It waits
	// for nothing: before the registry serves, it fails.
	Pull func(ctx context.Context, node, image string) (uint64, error)
}

// Cluster is a running backend: the Kubernetes side of an environment.
// Everything else (the AWS plane, the registry, EKS bookkeeping, cordon
// and drain, the operator's environment) is composed once, in Start.
type Cluster interface {
	// Admin is gameday's own Kubernetes identity.
	Admin() *rest.Config
	// OperatorKubeconfig is the path of the operator's kubeconfig.
	OperatorKubeconfig() string
	// IssueKubeconfig writes to path a kubeconfig for user, a named
	// responder, in the operators' group: the operator's rights, and
	// audited under the responder's own name.
	IssueKubeconfig(ctx context.Context, user, path string) error
	// AuditLog is the path of the API server's audit log.
	AuditLog() string
	// NodeGroupOf says which node group a node is in.
	NodeGroupOf(node string) (string, bool)
	// SetNodeGroupSize puts size nodes of group g in service, creating
	// the group or taking nodes out (drained first) as needed.
	SetNodeGroupSize(ctx context.Context, g eks.NodeGroup, size int) error
}

// NetworkPuller is implemented by the clusters of a Network backend,
// whose nodes pull from the registry over a network (a container
// runtime), not in process.
type NetworkPuller interface {
	// RegistryOptions are how the registry must serve for the nodes to
	// reach it, and how images must be built for the nodes to run them.
	RegistryOptions(ctx context.Context) ([]ecr.Option, []ecr.BuildOption, error)
	// UseRegistry points the nodes at the running registry and preloads
	// the scenario's public images.
	UseRegistry(ctx context.Context, reg *ecr.Server, publicImages []string) error
}

// NodeFaults is implemented by clusters that can fail one node, by name:
// stop and start its kubelet or container runtime (scenarios.NodeKubelet,
// scenarios.NodeRuntime), and fill its root volume.
type NodeFaults interface {
	// StopNode stops a node's kubelet or runtime.
	StopNode(ctx context.Context, node, component string) error
	// StartNode starts it again.
	StartNode(ctx context.Context, node, component string) error
	// FillNodeDisk writes bytes to the node's root volume, replacing an
	// earlier fill; 0 frees it.
	FillNodeDisk(ctx context.Context, node string, bytes int64) error
}

// Timed is implemented by clusters that say when their parts were ready,
// since their Start began ("control plane", "nodes").
type Timed interface {
	StartTimes() map[string]time.Duration
}

// Backend starts clusters of one kind.
type Backend struct {
	// Check fails, before anything is created, when the backend cannot
	// run on this machine; nil means it always can.
	Check func(ctx context.Context) error
	// Requires names what Check looks for ("Docker"), for messages.
	Requires string
	// Start starts a cluster. The returned stop function is never nil
	// and undoes everything, on every path.
	Start func(ctx context.Context, p Params) (Cluster, func(context.Context) error, error)
	// Network says the nodes pull over a network: the registry then
	// starts once the cluster is up, as its NetworkPuller says. Otherwise
	// the registry starts beside the cluster and nodes pull through
	// Params.Pull.
	Network bool
	// Webhooks says the backend's API server takes EKS's webhooks
	// (Params.Webhooks): callers then authenticate through IAM, as on
	// EKS, beside gameday's client certificates.
	Webhooks bool
}

var (
	backendsMu sync.RWMutex
	backends   = map[string]Backend{}
)

// Register makes a backend known by name (--infra name). It panics when
// the name is taken or Start is nil.
func Register(name string, b Backend) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	if _, dup := backends[name]; dup || b.Start == nil {
		panic(fmt.Sprintf("environment: backend %q registered twice or without Start", name))
	}
	backends[name] = b
}

// Backends lists the registered backends' names.
func Backends() []string {
	backendsMu.RLock()
	defer backendsMu.RUnlock()
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lookup finds a backend by name.
func lookup(name string) (Backend, error) {
	backendsMu.RLock()
	b, ok := backends[name]
	backendsMu.RUnlock()
	if !ok {
		return Backend{}, errkind.Errorf(errkind.Invalid, "unknown backend %q (have %s)", name, strings.Join(Backends(), ", "))
	}
	return b, nil
}

// Check fails when the named backend cannot run on this machine, saying
// what it needs ("needs Docker: ...").
func Check(ctx context.Context, name string) error {
	b, err := lookup(name)
	if err != nil {
		return err
	}
	if b.Check == nil {
		return nil
	}
	if err := b.Check(ctx); err != nil {
		if b.Requires != "" {
			return fmt.Errorf("needs %s: %w", b.Requires, err)
		}
		return fmt.Errorf("cannot run here: %w", err)
	}
	return nil
}
