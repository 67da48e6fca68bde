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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/constants"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/infra/eks"
	"github.com/gameday-sre/gameday/infra/nodeops"
	"github.com/gameday-sre/gameday/infra/operator"
	"github.com/gameday-sre/gameday/internal/errkind"
	"github.com/gameday-sre/gameday/scenarios"
)

// Network is the Docker network kind puts its nodes on.
const Network = "kind"

// readyWait bounds kind's wait for the control plane to be Ready.
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
	if err := dockerhost.Check(ctx); err != nil {
		return err
	}
	return dockerhost.CheckCLI()
}

// Env is a scenario's environment on kind: a kind cluster whose nodes
// pull the scenario's images from gameday's registry through containerd,
// beside the AWS plane.
type Env struct {
	*cloud.Cloud
	// Name is the kind cluster's name.
	Name string
	// AdminKubeconfig is gameday's own kubeconfig (kind's admin).
	AdminKubeconfig string
	// OperatorKubeconfig is the operator's kubeconfig.
	OperatorKubeconfig string
	// Resolver maps pull source addresses to nodes.
	Resolver *Resolver

	admin    *rest.Config
	client   kubernetes.Interface
	auditLog string
}

// Start provisions the scenario's environment on kind: the AWS plane,
// the kind cluster (every node group's nodes, see Config), the registry
// on the kind network's gateway with each node's containerd sent to it,
// the operator's kubeconfig, and the audit log streamed into the run
// directory. The returned stop function is never nil; it deletes the
// cluster and stops everything, on every path.
func Start(ctx context.Context, s *scenarios.Scenario, opts ...cloud.Option) (*Env, func(context.Context) error, error) {
	stops := &cloud.Stops{}
	if err := Check(ctx); err != nil {
		return nil, stops.Stop, err
	}
	c, stopCloud, err := cloud.Start(ctx, s, opts...)
	stops.Add(stopCloud)
	if err != nil {
		return nil, stops.Stop, err
	}
	eng, err := dockerhost.Connect()
	if err != nil {
		return nil, stops.Stop, errkind.E(errkind.Infra, err)
	}
	stops.Add(func(context.Context) error { return eng.Close() })
	e, err := start(ctx, c, NewProvider(c.Log), eng, stops)
	return e, stops.Stop, err
}

// engine is what the backend needs of the Docker engine.
type engine interface {
	// Gateway is the host's address on a Docker network.
	Gateway(ctx context.Context, network string) (netip.Addr, error)
	imageSaver
}

// start does everything after the AWS plane is up: see Start.
func start(ctx context.Context, c *cloud.Cloud, p Provider, eng engine, stops *cloud.Stops) (*Env, error) {
	e := &Env{
		Cloud:              c,
		Name:               ClusterName(c.RunID),
		AdminKubeconfig:    filepath.Join(c.Dir, "admin.kubeconfig"),
		OperatorKubeconfig: filepath.Join(c.Dir, "operator.kubeconfig"),
		auditLog:           filepath.Join(c.Dir, "audit.log"),
		Resolver:           NewResolver(),
	}
	if err := e.createCluster(p, stops); err != nil {
		return nil, err
	}
	ns, err := e.connect(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := e.serveImages(ctx, eng, ns); err != nil {
		return nil, err
	}
	if err := operator.Bind(ctx, e.client, c.RunID, "cluster-admin"); err != nil {
		return nil, errkind.E(errkind.Infra, err)
	}
	if err := operator.IssueKubeconfig(ctx, e.client, e.admin, c.RunID, e.Name, e.OperatorKubeconfig); err != nil {
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
func (e *Env) createCluster(p Provider, stops *cloud.Stops) error {
	policyDir := filepath.Join(e.Dir, "audit-policy")
	if err := writeAuditPolicy(policyDir); err != nil {
		return err
	}
	image := NodeImageRef()
	cfg := Config(e.Scenario, e.RunID, policyDir)
	e.Log.Info("creating kind cluster", "name", e.Name, "image", image, "nodes", len(cfg.Nodes))
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
		cluster.CreateWithWaitForReady(readyWait),
		cluster.CreateWithKubeconfigPath(e.AdminKubeconfig),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	if err != nil {
		return errkind.E(errkind.Infra, fmt.Errorf("create kind cluster %s: %w", e.Name, err))
	}
	e.Log.Info("kind cluster created", "name", e.Name, "elapsed", time.Since(t0).Round(time.Second))
	return nil
}

// connect builds gameday's client from kind's admin kubeconfig and pairs
// the node containers with their nodes (Resolver).
func (e *Env) connect(ctx context.Context, p Provider) ([]nodes.Node, error) {
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
	addrs, err := nodeAddrs(ctx, e.client, ns)
	if err != nil {
		return nil, err
	}
	e.Resolver.Set(addrs...)
	return ns, nil
}

// serveImages starts the registry on the kind network's gateway with the
// scenario's images built on the base (so that they run), sends every
// node's containerd to it for the ECR host, and loads the scenario's
// public images into the workers from the local engine.
func (e *Env) serveImages(ctx context.Context, eng engine, ns []nodes.Node) error {
	base, err := appBase(ctx, eng, AppBaseRef(), e.Dir)
	if err != nil {
		return err
	}
	e.ImageOptions = append(e.ImageOptions, ecr.WithBase(base))
	gateway, err := eng.Gateway(ctx, Network)
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	groupOf := func(node string) (string, bool) {
		n, ok := e.Resolver.ByName(node)
		return n.Group, ok && n.Group != ""
	}
	if err := e.ServeRegistry(ctx, groupOf, ecr.WithAddr(net.JoinHostPort(gateway.String(), "0")), ecr.WithIdentity(e.Resolver.Identity)); err != nil {
		return fmt.Errorf("registry on the kind network's gateway %s (needs a Linux Docker engine; Docker Desktop is not supported): %w", gateway, err)
	}
	host, mirror := e.Registry.Host, e.Registry.URL
	if err := configureNodes(ctx, ns, HostsTOMLPath(host), HostsTOML(host, mirror)); err != nil {
		return err
	}
	e.Log.Info("nodes pull from gameday's registry", "host", host, "registry", mirror)
	return preload(ctx, eng, workers(ns), e.Scenario.Images(), host, e.Dir, e.Log)
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

// Admin returns gameday's own Kubernetes client config.
func (e *Env) Admin() *rest.Config { return rest.CopyConfig(e.admin) }

// OperatorEnv returns the environment that points kubectl and the aws CLI
// at the environment as the operator.
func (e *Env) OperatorEnv() []string {
	return append([]string{"KUBECONFIG=" + e.OperatorKubeconfig}, e.AWS.OperatorEnv()...)
}

// AuditLog returns the host copy of the API server's audit log.
func (e *Env) AuditLog() string { return e.auditLog }

// CreateNodeGroup creates a deferred node group in EKS and brings its
// nodes (created with the cluster, tainted) into service.
func (e *Env) CreateNodeGroup(ctx context.Context, name string) error {
	ng, err := e.NodeGroup(name)
	if err != nil {
		return err
	}
	if err := e.Account.CreateNodegroup(ctx, ng); err != nil {
		return err
	}
	return setInService(ctx, e.client, name, ng.Size, time.Minute, e.Log)
}

// ScaleNodeGroup changes a node group's size in EKS and puts that many of
// its nodes in service (kind cannot add nodes: Capacity made enough).
func (e *Env) ScaleNodeGroup(ctx context.Context, name string, size int) error {
	ns, err := nodeops.Nodes(ctx, e.client, name)
	if err != nil {
		return err
	}
	if err := checkCapacity(name, size, len(ns)); err != nil {
		return err // before EKS is told anything
	}
	if err := e.Account.ScaleNodegroup(ctx, name, size); err != nil {
		return err
	}
	return setInService(ctx, e.client, name, size, 5*time.Minute, e.Log)
}

// DeleteNodeGroup drains a node group's nodes, takes them out of service
// and deletes the group from EKS. kind cannot remove nodes: they stay,
// cordoned and tainted.
func (e *Env) DeleteNodeGroup(ctx context.Context, name string) error {
	if err := setInService(ctx, e.client, name, 0, 5*time.Minute, e.Log); err != nil {
		return err
	}
	return e.Account.DeleteNodegroup(ctx, name)
}

// CordonNodeGroup (un)cordons a node group's nodes.
func (e *Env) CordonNodeGroup(ctx context.Context, name string, unschedulable bool) error {
	return nodeops.Cordon(ctx, e.client, name, unschedulable)
}

// DrainNodeGroup drains a node group's nodes.
func (e *Env) DrainNodeGroup(ctx context.Context, name string, timeout time.Duration) error {
	return nodeops.Drain(ctx, e.client, name, timeout, e.Log)
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
		if err := nodeops.DrainNode(ctx, cs, n.Name, drainTimeout, log); err != nil {
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
	n = n.DeepCopy()
	n.Spec.Taints = taints
	n.Spec.Unschedulable = pending
	if _, err := cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
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
