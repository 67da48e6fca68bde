package kind

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/constants"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/infra/nodeops"
	"github.com/gameday-sre/gameday/infra/operator"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// Network is the Docker network kind puts its nodes on.
const Network = "kind"

// readyWait bounds the wait for the nodes to get pod CIDRs and then to
// be Ready.
const readyWait = 5 * time.Minute

// Provider is what the backend needs of kind's cluster.Provider.
type Provider interface {
	Create(name string, options ...cluster.CreateOption) error
	Delete(name, explicitKubeconfigPath string) error
	List() ([]string, error)
	ListNodes(name string) ([]nodes.Node, error)
	KubeConfig(name string, internal bool) (string, error)
}

// NewProvider returns kind's Docker provider, logging to log (nil
// discards).
func NewProvider(log *slog.Logger) Provider {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindLogger{log}))
}

// Check fails, before anything is created, when this machine cannot run
// kind clusters: no Docker engine answers, or no docker command (kind's
// Docker provider drives the engine through it).
func Check(ctx context.Context) error {
	if err := CheckEngine(ctx); err != nil {
		return err
	}
	_, err := appBinary() // before a cluster is made for nothing
	return err
}

// CheckEngine fails when no Docker engine answers or there is no docker
// command: what finding and deleting kind clusters needs (Check adds
// what creating one needs).
func CheckEngine(ctx context.Context) error {
	if err := dockerhost.Check(ctx); err != nil {
		return err
	}
	return dockerhost.CheckCLI()
}

// Name is the backend's name (--infra kind).
const Name = "kind"

func init() {
	environment.Register(Name, environment.Backend{Check: Check, Requires: "Docker", Start: startBackend, Network: true})
}

// Env is a scenario's cluster on kind: its nodes pull the scenario's
// images from gameday's registry through containerd, and the registry
// tells them apart by the pull's source address.
type Env struct {
	// Name is the kind cluster's name.
	Name string
	// AdminKubeconfig is gameday's own kubeconfig (kind's admin).
	AdminKubeconfig string
	// Resolver maps pull source addresses to nodes.
	Resolver *Resolver

	dir, runID         string
	log                *slog.Logger
	eng                engine
	nodes              []nodes.Node
	admin              *rest.Config
	client             kubernetes.Interface
	operatorKubeconfig string
	auditLog           string
	// standIn builds the stand-in for a public image the host cannot
	// get (see standInImage); set by RegistryOptions.
	standIn func(ref string) (v1.Image, error)
	// ready is when the parts were ready, since start began.
	ready map[string]time.Duration
}

// StartTimes implements environment.Timed: "control plane" when kind
// had created the cluster and joined its nodes, "nodes" when the pod
// network was in and every node Ready.
func (e *Env) StartTimes() map[string]time.Duration { return e.ready }

// startBackend provisions the kind cluster (every node group's nodes,
// see Config), the operator's kubeconfig, and the audit log streamed into
// the run directory. The returned stop function is never nil; it deletes
// the cluster and stops everything, on every path.
func startBackend(ctx context.Context, p environment.Params) (environment.Cluster, func(context.Context) error, error) {
	stops := &cloud.Stops{}
	if p.MetricsServer {
		return nil, stops.Stop, errkind.Errorf(errkind.Invalid, "the metrics-server add-on is not available on --infra kind yet; use --infra embedded")
	}
	if err := Check(ctx); err != nil {
		return nil, stops.Stop, err
	}
	eng, err := dockerhost.Connect()
	if err != nil {
		return nil, stops.Stop, errkind.E(errkind.Infra, err)
	}
	stops.Add(func(context.Context) error { return eng.Close() })
	e, err := start(ctx, p, NewProvider(p.Log), eng, stops, hostSteps{privileged: EnsurePrivileged, network: installCNI})
	if err != nil {
		return nil, stops.Stop, err
	}
	return e, stops.Stop, nil
}

// engine is what the backend needs of the Docker engine.
type engine interface {
	// Gateway is the host's address on a Docker network.
	Gateway(ctx context.Context, network string) (netip.Addr, error)
	imageSource
}

// hostSteps are what start does on the Docker host and in the cluster
// beyond kind's provider; the tests on the embedded stand-in cluster,
// which has neither node containers nor a pod network, replace them.
type hostSteps struct {
	// privileged readies the engine for kind's --privileged node
	// containers of an image (EnsurePrivileged).
	privileged func(ctx context.Context, image string, log *slog.Logger) error
	// network gives the nodes a pod network (installCNI).
	network podNetwork
}

// start creates and connects the cluster: see startBackend.
func start(ctx context.Context, p environment.Params, prov Provider, eng engine, stops *cloud.Stops, host hostSteps) (*Env, error) {
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Env{
		Name:               ClusterName(p.RunID),
		AdminKubeconfig:    filepath.Join(p.Dir, "admin.kubeconfig"),
		Resolver:           NewResolver(),
		dir:                p.Dir,
		runID:              p.RunID,
		log:                log,
		eng:                eng,
		operatorKubeconfig: filepath.Join(p.Dir, "operator.kubeconfig"),
		auditLog:           filepath.Join(p.Dir, "audit.log"),
	}
	t0 := time.Now()
	e.ready = map[string]time.Duration{}
	if err := e.createCluster(ctx, prov, stops, p.NodeGroups, p.Region, p.Timings, host.privileged); err != nil {
		return nil, err
	}
	e.ready["control plane"] = time.Since(t0)
	ns, err := e.connect(ctx, prov, host.network)
	if err != nil {
		return nil, err
	}
	e.ready["nodes"] = time.Since(t0)
	e.nodes = ns
	if err := operator.Bind(ctx, e.client, p.RunID, "cluster-admin"); err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	if err := operator.IssueKubeconfig(ctx, e.client, e.admin, p.RunID, e.Name, operator.User, e.operatorKubeconfig); err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	cp, err := controlPlane(ns)
	if err != nil {
		return nil, err
	}
	stopAudit, err := streamAudit(ctx, cp, e.auditLog)
	stops.Add(stopAudit)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// createCluster creates the kind cluster (Config) with the audit policy
// mounted; stops deletes it, even when creation fails half-way.
func (e *Env) createCluster(ctx context.Context, p Provider, stops *cloud.Stops, groups []eks.NodeGroup, region string, t environment.Timings, privileged func(context.Context, string, *slog.Logger) error) error {
	policyDir := filepath.Join(e.dir, "audit-policy")
	if err := writeAuditPolicy(policyDir); err != nil {
		return err
	}
	image := NodeImageRef()
	opts := []ConfigOption{WithTimings(t)}
	if OfflineImage(image) {
		opts = append(opts, WithoutAddons())
	}
	cfg := Config(groups, region, e.runID, policyDir, opts...)
	if err := privileged(ctx, image, e.log); err != nil {
		return err
	}
	e.log.Info("creating kind cluster", "name", e.Name, "image", image, "nodes", len(cfg.Nodes))
	t0 := time.Now()
	stops.Add(func(context.Context) error {
		if err := p.Delete(e.Name, e.AdminKubeconfig); err != nil {
			return fmt.Errorf("delete kind cluster %s: %w", e.Name, err)
		}
		return nil
	})
	err := p.Create(e.Name,
		cluster.CreateWithV1Alpha4Config(cfg),
		cluster.CreateWithNodeImage(image),
		// Nodes are Ready once gameday's CNI is in (connect).
		cluster.CreateWithWaitForReady(0),
		cluster.CreateWithKubeconfigPath(e.AdminKubeconfig),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		return errkind.E(errkind.Infra, fmt.Errorf("create kind cluster %s: %w", e.Name, err))
	}
	e.log.Info("kind cluster created", "name", e.Name, "elapsed", time.Since(t0).Round(time.Second))
	return nil
}

// podNetwork gives the cluster's nodes a pod network and waits for them
// to be Ready (installCNI).
type podNetwork func(ctx context.Context, cs kubernetes.Interface, ns []nodes.Node, timeout time.Duration) error

// connect builds gameday's client from kind's admin kubeconfig and pairs
// the node containers with their nodes (Resolver).
func (e *Env) connect(ctx context.Context, p Provider, network podNetwork) ([]nodes.Node, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", e.AdminKubeconfig)
	if err != nil {
		return nil, errkind.E(errkind.Infra, fmt.Errorf("kind admin kubeconfig: %w", err))
	}
	e.admin = cfg
	if e.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	ns, err := p.ListNodes(e.Name)
	if err != nil {
		return nil, errkind.E(errkind.Infra, fmt.Errorf("list kind nodes: %w", err))
	}
	t0 := time.Now()
	if err := network(ctx, e.client, ns, readyWait); err != nil {
		return nil, err
	}
	e.log.Info("pod network in, nodes Ready", "nodes", len(ns), "elapsed", time.Since(t0).Round(time.Second))
	addrs, err := nodeAddrs(ctx, e.client, ns)
	if err != nil {
		return nil, err
	}
	e.Resolver.Set(addrs...)
	return ns, nil
}

// RegistryOptions implements environment.NetworkPuller: the registry
// listens on the kind network's gateway and tells nodes apart by source
// address, and the scenario's images are built on the app base so that
// they run.
func (e *Env) RegistryOptions(ctx context.Context) ([]ecr.Option, []ecr.BuildOption, error) {
	base, err := appBase(ctx, e.eng, AppBaseRef(), e.dir)
	if err != nil {
		return nil, nil, err
	}
	gateway, err := e.eng.Gateway(ctx, Network)
	if err != nil {
		return nil, nil, errkind.E(errkind.Infra, err)
	}
	// A Docker Desktop engine's gateway is not an address of this host.
	e.log.Info("registry on the kind network's gateway (needs a Linux Docker engine)", "gateway", gateway)
	app, err := appBinary()
	if err != nil {
		return nil, nil, err
	}
	e.standIn = func(ref string) (v1.Image, error) { return standInImage(ref, base, app) }
	return []ecr.Option{ecr.WithAddr(net.JoinHostPort(gateway.String(), "0")), ecr.WithIdentity(e.Resolver.Identity)},
		[]ecr.BuildOption{ecr.WithBase(base), ecr.WithApp(app)}, nil
}

// UseRegistry implements environment.NetworkPuller: every node's
// containerd is sent to the registry for the ECR host, and the scenario's
// public images are loaded into the workers from the local engine, or
// their stand-ins where the engine cannot get them (see preload).
func (e *Env) UseRegistry(ctx context.Context, reg *ecr.Server, images []string) error {
	if err := configureNodes(ctx, e.nodes, HostsTOMLPath(reg.Host), HostsTOML(reg.Host, reg.URL)); err != nil {
		return err
	}
	e.log.Info("nodes pull from gameday's registry", "host", reg.Host, "registry", reg.URL)
	return preload(ctx, e.eng, workers(e.nodes), images, reg.Host, e.dir, e.standIn, e.log)
}

// writeAuditPolicy writes the audit policy for the control-plane node to
// mount, readable by the node's root.
func writeAuditPolicy(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("audit policy: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "audit-policy.yaml"), []byte(operator.AuditPolicy), 0o644); err != nil {
		return fmt.Errorf("audit policy: %w", err)
	}
	return nil
}

// nodeAddrs pairs kind's worker containers with their Kubernetes nodes:
// the container's address on the kind network (what the registry sees a
// pull come from) and the node's node group label.
func nodeAddrs(ctx context.Context, cs kubernetes.Interface, ns []nodes.Node) ([]NodeAddr, error) {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, errkind.E(errkind.Infra, fmt.Errorf("list nodes: %w", err))
	}
	group := map[string]string{}
	for _, n := range list.Items {
		group[n.Name] = n.Labels[eks.NodeGroupLabel]
	}
	var out []NodeAddr
	// The control plane is tainted NoSchedule by kubeadm: it runs no
	// workloads and pulls no scenario images.
	for _, n := range workers(ns) {
		g, ok := group[n.String()]
		if !ok {
			return nil, errkind.Errorf(errkind.Infra, "kind node %s has not registered with the API server", n.String())
		}
		v4, _, err := n.IP()
		if err != nil {
			return nil, errkind.E(errkind.Infra, fmt.Errorf("address of %s: %w", n.String(), err))
		}
		ip, err := netip.ParseAddr(v4)
		if err != nil {
			return nil, errkind.Errorf(errkind.Infra, "address of %s: %q: %v", n.String(), v4, err)
		}
		out = append(out, NodeAddr{Name: n.String(), Group: g, IP: ip})
	}
	return out, nil
}

// configureNodes writes the containerd registry configuration into every
// node. containerd reads hosts.toml at each pull: no restart needed.
func configureNodes(ctx context.Context, ns []nodes.Node, path, content string) error {
	for _, n := range ns {
		cmd := n.CommandContext(ctx, "sh", "-c", `mkdir -p "$(dirname "$1")" && cat > "$1"`, "sh", path)
		cmd.SetStdin(strings.NewReader(content))
		if err := cmd.Run(); err != nil {
			return errkind.E(errkind.Infra, fmt.Errorf("write %s on %s: %w", path, n.String(), err))
		}
	}
	return nil
}

// isControlPlane reports whether kind made n a control-plane node.
func isControlPlane(n nodes.Node) bool {
	r, err := n.Role()
	return err == nil && r == constants.ControlPlaneNodeRoleValue
}

// workers returns the nodes that are not the control plane.
func workers(ns []nodes.Node) []nodes.Node {
	var out []nodes.Node
	for _, n := range ns {
		if !isControlPlane(n) {
			out = append(out, n)
		}
	}
	return out
}

// controlPlane returns the control-plane node.
func controlPlane(ns []nodes.Node) (nodes.Node, error) {
	for _, n := range ns {
		if isControlPlane(n) {
			return n, nil
		}
	}
	return nil, errkind.Errorf(errkind.Infra, "the kind cluster has no control-plane node")
}

// streamAudit copies the audit log out of the control-plane node into dst
// as the API server writes it, until stopped.
func streamAudit(ctx context.Context, cp nodes.Node, dst string) (func(context.Context) error, error) {
	noop := func(context.Context) error { return nil }
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return noop, fmt.Errorf("audit log: %w", err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cmd := cp.CommandContext(ctx, "tail", "-n", "+1", "-F", AuditLogPath)
	cmd.SetStdout(f)
	cmd.SetStderr(io.Discard)
	done := make(chan error, 1)
	go func() { done <- cmd.Run() }()
	var once sync.Once
	return func(context.Context) error {
		var err error
		once.Do(func() {
			cancel()
			<-done // the command ends with its context; its error is the cancellation
			err = f.Close()
		})
		return err
	}, nil
}

// Admin implements environment.Cluster.
func (e *Env) Admin() *rest.Config { return rest.CopyConfig(e.admin) }

// IssueKubeconfig implements environment.Cluster: a responder's
// certificate from the cluster's signer, through the CSR API.
func (e *Env) IssueKubeconfig(ctx context.Context, user, path string) error {
	return operator.IssueKubeconfig(ctx, e.client, e.admin, e.runID, e.Name, user, path)
}

// OperatorKubeconfig implements environment.Cluster.
func (e *Env) OperatorKubeconfig() string { return e.operatorKubeconfig }

// AuditLog implements environment.Cluster: the host copy of the API
// server's audit log.
func (e *Env) AuditLog() string { return e.auditLog }

// NodeGroupOf implements environment.Cluster.
func (e *Env) NodeGroupOf(node string) (string, bool) {
	n, ok := e.Resolver.ByName(node)
	return n.Group, ok && n.Group != ""
}

// SetNodeGroupSize implements environment.Cluster: kind cannot add or
// remove nodes, so the first size nodes of the group (created with the
// cluster, see Config) are put in service and the rest drained,
// cordoned and tainted.
func (e *Env) SetNodeGroupSize(ctx context.Context, g eks.NodeGroup, size int) error {
	return setInService(ctx, e.client, g.Name, size, nodeops.DrainTimeout, e.log)
}

// setInService makes the first size nodes of a group (by name) usable and
// takes the rest out: drained, cordoned and tainted with PendingTaint.
func setInService(ctx context.Context, cs kubernetes.Interface, group string, size int, drainTimeout time.Duration, log *slog.Logger) error {
	ns, err := nodeops.Nodes(ctx, cs, group)
	if err != nil {
		return err
	}
	if err := checkCapacity(group, size, len(ns)); err != nil {
		return err
	}
	for i := range ns {
		n := &ns[i]
		if i < size {
			if err := setPending(ctx, cs, n, group, false); err != nil {
				return err
			}
			continue
		}
		if nodeops.HasTaint(n, PendingTaint) {
			continue
		}
		if err := nodeops.Retire(ctx, cs, n.Name, drainTimeout, log); err != nil {
			return err
		}
		if err := setPending(ctx, cs, n, group, true); err != nil {
			return err
		}
	}
	return nil
}

// checkCapacity refuses more nodes than the cluster was created with.
func checkCapacity(group string, size, have int) error {
	if size > have {
		return errkind.Errorf(errkind.Invalid, "node group %s: %d nodes asked for, the kind cluster has %d (kind cannot add nodes)", group, size, have)
	}
	return nil
}

// setPending adds or removes PendingTaint, and (un)cordons to match.
func setPending(ctx context.Context, cs kubernetes.Interface, n *corev1.Node, group string, pending bool) error {
	// The node lifecycle controller taints a node as it is cordoned, so
	// the copy in hand may be stale: on a conflict, read it again.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if nodeops.HasTaint(n, PendingTaint) == pending && n.Spec.Unschedulable == pending {
			return nil
		}
		var taints []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != PendingTaint {
				taints = append(taints, t)
			}
		}
		if pending {
			taints = append(taints, corev1.Taint{Key: PendingTaint, Value: group, Effect: corev1.TaintEffectNoSchedule})
		}
		u := n.DeepCopy()
		u.Spec.Taints = taints
		u.Spec.Unschedulable = pending
		_, err := cs.CoreV1().Nodes().Update(ctx, u, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			if fresh, gerr := cs.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{}); gerr == nil {
				n = fresh
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("update node %s: %w", n.Name, err)
	}
	return nil
}

// kindLogger sends kind's progress to slog: V(0) is what kind tells a
// user, higher levels are debug.
type kindLogger struct{ log *slog.Logger }

func (l kindLogger) Warn(msg string) { l.log.Warn("kind: " + msg) }
func (l kindLogger) Warnf(format string, args ...any) {
	l.log.Warn("kind: " + fmt.Sprintf(format, args...))
}
func (l kindLogger) Error(msg string) { l.log.Error("kind: " + msg) }
func (l kindLogger) Errorf(format string, args ...any) {
	l.log.Error("kind: " + fmt.Sprintf(format, args...))
}
func (l kindLogger) V(v kindlog.Level) kindlog.InfoLogger {
	if v == 0 {
		return kindInfo{log: l.log, level: slog.LevelInfo}
	}
	return kindInfo{log: l.log, level: slog.LevelDebug}
}

type kindInfo struct {
	log   *slog.Logger
	level slog.Level
}

func (i kindInfo) Info(msg string) {
	if msg = strings.TrimSpace(msg); msg != "" {
		i.log.Log(context.Background(), i.level, "kind: "+msg)
	}
}
func (i kindInfo) Infof(format string, args ...any) { i.Info(fmt.Sprintf(format, args...)) }
func (i kindInfo) Enabled() bool                    { return i.log.Enabled(context.Background(), i.level) }
