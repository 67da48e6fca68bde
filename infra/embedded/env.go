package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/infra/nodeops"
	"github.com/gameday-sre/gameday/infra/operator"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/rundir"
)

// OperatorUser is the Kubernetes user of the operator's kubeconfig.
const OperatorUser = operator.User

// uninitializedTaint is set by a kubelet with an external cloud provider
// until the cloud controller has initialised the node.
const uninitializedTaint = "node.cloudprovider.kubernetes.io/uninitialized"

// operatorRole is the ClusterRole bound to the operator.
const operatorRole = "cluster-admin"

// nodeReadyTimeout bounds how long Start and a group's scale-up wait
// for nodes to become Ready.
const nodeReadyTimeout = 60 * time.Second

// checkGroup refuses a node group the backend cannot build.
func checkGroup(g eks.NodeGroup) error {
	sizeErr := eks.CheckSize(g.Size, 0)
	switch {
	case g.Name == "":
		return errkind.Errorf(errkind.Invalid, "node group: name required")
	case sizeErr != nil:
		return errkind.Errorf(errkind.Invalid, "node group %s: %v", g.Name, sizeErr)
	}
	if err := eks.CheckSubnet(g.Subnet); err != nil {
		return errkind.Errorf(errkind.Invalid, "node group %s: subnet %v", g.Name, err)
	}
	return nil
}

// withDefaults checks p and fills in what it leaves out: a new run id,
// us-east-1, a logger that discards, a scenario's default timings.
func withDefaults(p environment.Params) (environment.Params, error) {
	if p.Dir != "" {
		if fi, err := os.Stat(p.Dir); err != nil || !fi.IsDir() {
			return p, errkind.Errorf(errkind.Invalid, "run directory %s: not a directory", p.Dir)
		}
	}
	if p.RunID == "" {
		p.RunID = rundir.NewID()
	}
	if strings.ContainsAny(p.RunID, "/ ") {
		return p, errkind.Errorf(errkind.Invalid, "run id %q: must be without spaces or slashes", p.RunID)
	}
	if p.Region == "" {
		p.Region = "us-east-1"
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Timings == (environment.Timings{}) {
		p.Timings = environment.DefaultTimings()
	}
	for _, g := range p.NodeGroups {
		if err := checkGroup(g); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Env is a running embedded environment: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and hollow kubelets in this
// process.
type Env struct {
	// RunID labels everything the environment creates.
	RunID string
	// Dir is the run directory.
	Dir string
	// Server is the API server URL (https://127.0.0.1:<port>).
	Server string
	// AdminKubeconfig is gameday's own kubeconfig (system:masters).
	AdminKubeconfig string

	// operatorKubeconfig, auditLog and componentLog are files in Dir:
	// the operator's kubeconfig, the API server's audit log of the
	// operator's requests (JSON lines), and the components' klog and
	// etcd output.
	operatorKubeconfig, auditLog, componentLog string
	// ready says how long after Start began the control plane (API
	// server, controller manager, scheduler) and the initial nodes were
	// ready.
	ready struct{ controlPlane, nodes time.Duration }

	p      environment.Params
	puller imagePuller
	router *kubeletRouter
	loads  *loadBook
	admin  *rest.Config
	client kubernetes.Interface
	pki    *pki
	tmp    string

	mu      sync.Mutex
	groups  map[string]*group
	nodeSeq atomic.Int64 // names node root directories

	ccmCancel context.CancelFunc
	ccmDone   chan struct{}
	// life is cancelled by stop; long-running goroutines derive from it.
	life context.Context
}

type group struct {
	spec  eks.NodeGroup
	nodes []*hollowNode
	// ips hands out the subnet's addresses to nodes and pods alike, as
	// the VPC CNI gives pods addresses from their node's subnet.
	ips *ipPool
	ami string
}

// Client returns an admin clientset.
func (e *Env) Client() kubernetes.Interface { return e.client }

// Start brings up the environment with p's node groups that are in
// service at start (Size > 0), and waits until their nodes are Ready.
// The returned stop function is never nil and must be called, on a
// fresh context, even when Start fails: it stops everything that was
// started and removes temporary files. Without p.Dir, the run directory
// is a temporary one that stop removes; without p.Pull, every pull
// succeeds.
func Start(ctx context.Context, p environment.Params) (env *Env, stop func(context.Context) error, err error) {
	began := time.Now()
	p, err = withDefaults(p)
	if err != nil {
		return nil, func(context.Context) error { return nil }, err
	}
	log := p.Log
	tolerateDuplicateCollectors()
	cleanups := &undoStack{}
	var stopping atomic.Bool
	stop = func(context.Context) error {
		stopping.Store(true)
		return cleanups.run()
	}
	// ctx bounds start-up; the components live until stop.
	life, endLife := context.WithCancel(context.WithoutCancel(ctx))
	cleanups.push(func() error { endLife(); return nil })
	// A component's fatal error (fatal.go) ends start-up with that error;
	// later, it is logged, unless the environment is stopping anyway.
	caller := ctx
	ctx, failStart := context.WithCancelCause(ctx)
	unsubscribe := fatals.subscribe(func(ferr error) {
		failStart(ferr)
		if !stopping.Load() {
			log.Error(ferr.Error())
		}
	})
	cleanups.push(func() error { unsubscribe(); return nil })
	defer func() {
		failStart(nil)
		if err == nil {
			return
		}
		if cause := context.Cause(ctx); caller.Err() == nil && cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause // a fatal error, not the caller's cancellation
		}
		err = errkind.E(errkind.Infra, fmt.Errorf("start embedded environment: %w", err))
	}()

	e, err := newEnv(p, life, cleanups)
	if err != nil {
		return nil, stop, err
	}
	p = e.p
	log.Info("starting control plane", "dir", p.Dir)
	t0 := time.Now()

	saKey, err := e.startAPIServer(ctx, cleanups)
	if err != nil {
		return nil, stop, err
	}
	log.Info("kube-apiserver ready", "server", e.Server, "elapsed", time.Since(t0).Round(time.Millisecond))

	if err := e.startControllers(ctx, cleanups, saKey); err != nil {
		return nil, stop, err
	}
	e.ready.controlPlane = time.Since(began)
	if p.MetricsServer {
		m, err := e.startMetrics(ctx)
		if err != nil {
			return nil, stop, err
		}
		cleanups.push(func() error { m.stop(); return nil })
		log.Info("metrics-server add-on installed")
	}

	for _, g := range p.NodeGroups {
		if g.Size == 0 {
			continue
		}
		if err := e.addGroup(ctx, g); err != nil {
			return nil, stop, err
		}
	}
	if err := e.waitNodesReady(ctx, nodeReadyTimeout); err != nil {
		return nil, stop, err
	}
	e.ready.nodes = time.Since(began)
	log.Info("environment ready", "nodes", len(e.nodeNames()), "elapsed", time.Since(t0).Round(time.Millisecond))
	return e, stop, nil
}

// newEnv makes the run's temporary directory (and the run directory,
// when p has none), names the environment's files in it, and sends the
// components' logs to their file.
func newEnv(p environment.Params, life context.Context, cleanups *undoStack) (*Env, error) {
	base := tempBase(p.RunID)
	if base != os.TempDir() {
		p.Log.Info("TMPDIR is too long for the kubelets' unix sockets; using "+base, "TMPDIR", os.TempDir())
	}
	tmp, err := os.MkdirTemp(base, "gameday-"+p.RunID+"-")
	if err != nil {
		return nil, err
	}
	cleanups.push(func() error { return removeSettled(tmp) })
	if p.Dir == "" {
		p.Dir = filepath.Join(tmp, "run")
		if err := os.Mkdir(p.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	e := &Env{RunID: p.RunID, Dir: p.Dir, p: p, puller: alwaysPull{}, tmp: tmp, groups: map[string]*group{}, life: life}
	if p.Pull != nil {
		e.puller = pullerFunc(func(ctx context.Context, n Node, image string) (uint64, error) { return p.Pull(ctx, n.Name, image) })
	}
	e.componentLog = filepath.Join(p.Dir, "components.log")
	e.auditLog = filepath.Join(p.Dir, "audit.log")
	e.AdminKubeconfig = filepath.Join(p.Dir, "admin.kubeconfig")
	e.operatorKubeconfig = filepath.Join(p.Dir, "operator.kubeconfig")

	restoreLogs, err := redirectComponentLogs(e.componentLog)
	if err != nil {
		return nil, err
	}
	cleanups.push(restoreLogs)
	return e, nil
}

// startAPIServer starts etcd and kube-apiserver with the cluster's PKI,
// writes gameday's admin kubeconfig and waits until the API serves. It
// returns the service-account signing key, for the controller manager.
func (e *Env) startAPIServer(ctx context.Context, cleanups *undoStack) (saKey string, err error) {
	tmp := e.tmp
	e.pki, err = newPKI(filepath.Join(tmp, "pki"))
	if err != nil {
		return "", err
	}
	serving, err := e.pki.issue("apiserver", "kube-apiserver", nil,
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("172.20.0.1")},
		[]string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		return "", err
	}
	saKey, saPub, err := e.pki.serviceAccountKey()
	if err != nil {
		return "", err
	}

	etcdURL, stopEtcd, err := startEtcd(ctx, tmp, e.componentLog+".etcd")
	cleanups.push(func() error { stopEtcd(); return nil })
	if err != nil {
		return "", err
	}
	e.p.Log.Debug("etcd ready", "url", etcdURL)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen for kube-apiserver: %w", err)
	}
	e.Server = "https://" + ln.Addr().String()
	policy := filepath.Join(tmp, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(operator.AuditPolicy), 0o600); err != nil {
		ln.Close()
		return "", err
	}
	router, egress, err := startKubeletRouter(tmp)
	if err != nil {
		ln.Close()
		return "", err
	}
	e.router = router
	cleanups.push(router.close)
	// The API server reaches kubelets as a member of system:masters, which
	// the kubelets' webhook authoriser allows, as kubeadm's does.
	kubeletClient, err := e.pki.issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, nil, nil)
	if err != nil {
		ln.Close()
		return "", err
	}
	frontProxy, err := e.pki.issue("front-proxy-client", frontProxyUser, nil, nil, nil)
	if err != nil {
		ln.Close()
		return "", err
	}
	apiserver, err := startAPIServer(e.life, apiserverConfig{
		etcd: etcdURL, pki: e.pki, serving: serving, saKey: saKey, saPub: saPub,
		auditLog: e.auditLog, auditPolicy: policy, listener: ln, egress: egress, kubeletClient: kubeletClient,
		frontProxy: frontProxy, webhooks: e.p.Webhooks, issuer: e.p.OIDCIssuer,
	})
	if err != nil {
		ln.Close()
		return "", err
	}
	cleanups.push(func() error { return apiserver.stop(30 * time.Second) })

	admin, err := e.pki.issue("admin", "gameday-admin", []string{"system:masters"}, nil, nil)
	if err != nil {
		return "", err
	}
	if err := e.pki.writeKubeconfig(e.AdminKubeconfig, "gameday", e.Server, admin); err != nil {
		return "", err
	}
	e.admin, err = clientcmd.BuildConfigFromFlags("", e.AdminKubeconfig)
	if err != nil {
		return "", err
	}
	e.admin.QPS, e.admin.Burst = 100, 200
	e.client, err = kubernetes.NewForConfig(e.admin)
	if err != nil {
		return "", err
	}
	if err := waitReady(ctx, e.client, apiserver, 60*time.Second); err != nil {
		return "", err
	}
	return saKey, nil
}

// startControllers binds the operator, and starts the load book, the
// cloud controller, kube-controller-manager and kube-scheduler. Teardown
// runs in reverse: scheduler and controller manager first, so nothing
// replaces the pods quiesce deletes; then the nodes.
func (e *Env) startControllers(ctx context.Context, cleanups *undoStack, saKey string) (err error) {
	if err := e.setupOperator(ctx); err != nil {
		return err
	}
	if e.loads, err = startLoadBook(ctx, e.client); err != nil {
		return err
	}
	cleanups.push(func() error { e.loads.close(); return nil })
	// Teardown runs in reverse: scheduler and controller manager first, so
	// nothing replaces the pods quiesce deletes; then the nodes.
	e.startCloudController()
	cleanups.push(func() error { e.stopCloudController(); return nil })
	cleanups.push(func() error { e.stopNodes(); return nil })
	cleanups.push(func() error { e.quiesce(10 * time.Second); return nil })
	cmKubeconfig, err := e.componentKubeconfig("controller-manager", "system:kube-controller-manager")
	if err != nil {
		return err
	}
	cmgr, err := startControllerManager(e.life, cmKubeconfig, saKey, e.pki.caFile(), e.pki.caKeyFile(), e.p.Timings)
	if err != nil {
		return err
	}
	cleanups.push(func() error { return cmgr.stop(30 * time.Second) })
	schedKubeconfig, err := e.componentKubeconfig("scheduler", "system:kube-scheduler")
	if err != nil {
		return err
	}
	sched, err := startScheduler(e.life, schedKubeconfig)
	if err != nil {
		return err
	}
	cleanups.push(func() error { return sched.stop(30 * time.Second) })
	return nil
}

// undoStack holds what undoes each part started, run newest first.
type undoStack struct{ fns []func() error }

// push adds an undo.
func (u *undoStack) push(f func() error) { u.fns = append(u.fns, f) }

// run undoes everything pushed, newest first, once, and joins the
// errors.
func (u *undoStack) run() error {
	var errs []error
	for i := len(u.fns) - 1; i >= 0; i-- {
		if err := u.fns[i](); err != nil {
			errs = append(errs, err)
		}
	}
	u.fns = nil
	return errors.Join(errs...)
}

// setupOperator binds the operator's ClusterRole and writes its
// kubeconfig.
func (e *Env) setupOperator(ctx context.Context) error {
	if err := operator.Bind(ctx, e.client, e.RunID, operatorRole); err != nil {
		return err
	}
	id, err := e.pki.issue("operator", operator.User, []string{operator.Group}, nil, nil)
	if err != nil {
		return err
	}
	return e.pki.writeKubeconfig(e.operatorKubeconfig, "gameday", e.Server, id)
}

// Admin implements environment.Cluster: gameday's own (admin) identity.
func (e *Env) Admin() *rest.Config { return rest.CopyConfig(e.admin) }

// OperatorKubeconfig implements environment.Cluster.
func (e *Env) OperatorKubeconfig() string { return e.operatorKubeconfig }

// AuditLog implements environment.Cluster.
func (e *Env) AuditLog() string { return e.auditLog }

// StartTimes implements environment.Timed.
func (e *Env) StartTimes() map[string]time.Duration {
	return map[string]time.Duration{"control plane": e.ready.controlPlane, "nodes": e.ready.nodes}
}

// IssueKubeconfig implements environment.Cluster: a client certificate
// from the cluster's CA, for user in the operators' group (a named
// responder).
func (e *Env) IssueKubeconfig(_ context.Context, user, path string) error {
	id, err := e.pki.issue(user, user, []string{operator.Group}, nil, nil)
	if err != nil {
		return err
	}
	return e.pki.writeKubeconfig(path, "gameday", e.Server, id)
}

func (e *Env) componentKubeconfig(name, user string) (string, error) {
	id, err := e.pki.issue(name, user, nil, nil, nil)
	if err != nil {
		return "", err
	}
	p := filepath.Join(e.pki.dir, name+".kubeconfig")
	return p, e.pki.writeKubeconfig(p, "gameday", e.Server, id)
}

// SetNodeGroupSize implements environment.Cluster: hollow nodes are
// started, or drained and stopped; a group's first nodes create it.
func (e *Env) SetNodeGroupSize(ctx context.Context, g eks.NodeGroup, size int) error {
	if _, err := e.group(g.Name); err == nil {
		return e.scaleGroup(ctx, g.Name, size)
	}
	if size == 0 {
		return nil
	}
	g.Size = size
	if err := checkGroup(g); err != nil {
		return err
	}
	if err := e.addGroup(ctx, g); err != nil {
		return err
	}
	return e.waitNodesReady(ctx, nodeReadyTimeout)
}

// NodeGroupOf implements environment.Cluster.
func (e *Env) NodeGroupOf(node string) (string, bool) {
	n, err := e.hollow(node)
	if err != nil {
		return "", false
	}
	return n.NodeGroup, true
}

func (e *Env) addGroup(ctx context.Context, g eks.NodeGroup) error {
	e.mu.Lock()
	if _, dup := e.groups[g.Name]; dup {
		e.mu.Unlock()
		return errkind.Errorf(errkind.Invalid, "node group %s already exists", g.Name)
	}
	gr := &group{
		spec: g,
		ips:  newIPPool(eks.Usable(g.Subnet)),
		ami:  eks.AMI(g.Name),
	}
	e.groups[g.Name] = gr
	e.mu.Unlock()
	e.p.Log.Info("adding node group", "nodegroup", g.Name, "size", g.Size, "instanceType", g.InstanceType)
	for range g.Size {
		if err := e.addNode(ctx, gr); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) addNode(ctx context.Context, gr *group) error {
	ip, err := gr.ips.take()
	if err != nil {
		return fmt.Errorf("node group %s: %w", gr.spec.Name, err)
	}
	name := nodeName(ip, e.p.Region)
	g := gr.spec
	labels := eks.NodeLabels(g, e.p.Region, map[string]string{eks.RunIDLabel: e.RunID})
	node := Node{Name: name, NodeGroup: g.Name, IP: ip, InstanceID: newInstanceID()}
	// Short: the kubelet makes unix sockets below it (see tempBase).
	root := filepath.Join(e.tmp, "n", strconv.FormatInt(e.nodeSeq.Add(1), 10))
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	n, err := startNode(e.life, nodeSpec{
		node: node, server: e.Server, pki: e.pki, router: e.router, rootDir: root, labels: labels, taints: g.Taints,
		providerID:   fmt.Sprintf("aws:///%s/%s", g.Zone, node.InstanceID),
		instanceType: orDefault(g.InstanceType, eks.DefaultInstanceType), pods: gr.ips, puller: e.puller,
		behaviours: e.p.Behaviours, load: e.loads.of, timings: e.p.Timings,
	})
	if err != nil {
		return err
	}
	e.mu.Lock()
	gr.nodes = append(gr.nodes, n)
	e.mu.Unlock()
	return nil
}

// maxSocketPath is the longest unix socket path Linux takes (sun_path
// holds 108 bytes with the terminating NUL).
const maxSocketPath = 107

// nodeSocketSuffix is as long as the longest socket path a kubelet makes
// below its node root directory (tmp/n/<seq>/...).
const nodeSocketSuffix = "/n/9999/device-plugins/kubelet.sock"

// tempBase is where a run's temporary directory goes: $TMPDIR, unless the
// kubelets' unix sockets below it would be longer than Linux allows (a
// long TMPDIR, as macOS and some CI runners set), then /tmp. A socket
// path too long makes the kubelet fail to listen, and its node never
// becomes Ready.
func tempBase(runID string) string {
	base := os.TempDir()
	dir := filepath.Join(base, "gameday-"+runID+"-1234567890") // os.MkdirTemp's suffix is at most 10 digits
	if len(dir)+len(nodeSocketSuffix) > maxSocketPath {
		return "/tmp"
	}
	return base
}

// nodeName is the EC2 private DNS name of an address.
func nodeName(ip netip.Addr, region string) string {
	domain := region + ".compute.internal"
	if region == "us-east-1" {
		domain = "ec2.internal"
	}
	return "ip-" + strings.ReplaceAll(ip.String(), ".", "-") + "." + domain
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func (e *Env) nodeNames() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, g := range e.groups {
		for _, n := range g.nodes {
			out = append(out, n.Name)
		}
	}
	return out
}

// waitNodesReady waits until every node gameday runs is Ready and
// initialised.
func (e *Env) waitNodesReady(ctx context.Context, timeout time.Duration) error {
	want := e.nodeNames()
	deadline := time.Now().Add(timeout)
	for {
		list, err := e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		ready := map[string]bool{}
		if err == nil {
			for i := range list.Items {
				n := &list.Items[i]
				ready[n.Name] = nodeops.IsReady(n) && !nodeops.HasTaint(n, uninitializedTaint) && !nodeops.HasTaint(n, corev1.TaintNodeNotReady)
			}
		}
		var missing []string
		for _, n := range want {
			if !ready[n] {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nodes not ready after %s: %s", timeout, strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// scaleGroup changes a node group's size. Scaling down drains and
// removes the newest nodes, as a managed node group does.
func (e *Env) scaleGroup(ctx context.Context, name string, size int) error {
	gr, err := e.group(name)
	if err != nil {
		return err
	}
	if err := eks.CheckSize(size, 0); err != nil {
		return errkind.Errorf(errkind.Invalid, "node group %s: %v", name, err)
	}
	for len(gr.nodes) < size {
		if err := e.addNode(ctx, gr); err != nil {
			return err
		}
	}
	for len(gr.nodes) > size {
		e.mu.Lock()
		n := gr.nodes[len(gr.nodes)-1]
		e.mu.Unlock()
		// A drain that fails (a PodDisruptionBudget holds) leaves the
		// node in the group, cordoned, as a managed node group does.
		if err := nodeops.Retire(ctx, e.client, n.Name, nodeops.DrainTimeout, e.p.Log); err != nil {
			return fmt.Errorf("node group %s: %w", name, err)
		}
		e.mu.Lock()
		gr.nodes = gr.nodes[:len(gr.nodes)-1]
		e.mu.Unlock()
		if err := e.removeNode(ctx, n); err != nil {
			return err
		}
		gr.ips.give(n.IP)
	}
	gr.spec.Size = size
	return e.waitNodesReady(ctx, nodeReadyTimeout)
}

// NodeGroups returns the names of the node groups that exist.
func (e *Env) NodeGroups() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for n := range e.groups {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Nodes returns the nodes of a group.
func (e *Env) Nodes(group string) []Node {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[group]
	if g == nil {
		return nil
	}
	out := make([]Node, len(g.nodes))
	for i, n := range g.nodes {
		out[i] = n.Node
	}
	return out
}

func (e *Env) group(name string) (*group, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[name]
	if g == nil {
		return nil, errkind.Errorf(errkind.Invalid, "no node group %q", name)
	}
	return g, nil
}

// removeNode stops one node's kubelet and deletes the Node; whoever
// takes a node out of service drains it first.
func (e *Env) removeNode(ctx context.Context, n *hollowNode) error {
	n.stop()
	gp := int64(0)
	err := e.client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{GracePeriodSeconds: &gp})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete node %s: %w", n.Name, err)
	}
	return os.RemoveAll(n.rootDir)
}

// quiesce deletes every pod and waits, up to timeout, until the kubelets
// have cleaned up after them. A stopped kubelet keeps resyncing the pods
// it knows; with none left it stays idle.
func (e *Env) quiesce(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pods, err := e.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	zero := int64(0)
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" {
			_ = e.client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		}
	}
	for ctx.Err() == nil {
		left, _ := filepath.Glob(filepath.Join(e.tmp, "n", "*", "pods", "*"))
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.p.Log.Debug("kubelets still hold pods at stop", "timeout", timeout)
}

func (e *Env) stopNodes() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, g := range e.groups {
		for _, n := range g.nodes {
			n.stop()
		}
	}
}

// startCloudController does what the AWS cloud controller manager does
// for a new node: set its addresses and remove the uninitialized taint.
func (e *Env) startCloudController() {
	ctx, cancel := context.WithCancel(e.life)
	e.ccmCancel = cancel
	e.ccmDone = make(chan struct{})
	go func() {
		defer close(e.ccmDone)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				e.initialiseNodes(ctx)
			}
		}
	}()
}

func (e *Env) stopCloudController() {
	if e.ccmCancel != nil {
		e.ccmCancel()
		<-e.ccmDone
	}
}

func (e *Env) initialiseNodes(ctx context.Context) {
	list, err := e.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: eks.RunIDLabel + "=" + e.RunID})
	if err != nil {
		return
	}
	ips := map[string]netip.Addr{}
	e.mu.Lock()
	for _, g := range e.groups {
		for _, n := range g.nodes {
			ips[n.Name] = n.IP
		}
	}
	e.mu.Unlock()
	for i := range list.Items {
		n := &list.Items[i]
		ip, ours := ips[n.Name]
		if !ours || !nodeops.HasTaint(n, uninitializedTaint) {
			continue
		}
		status := fmt.Sprintf(`{"status":{"addresses":[{"type":"InternalIP","address":%q},{"type":"InternalDNS","address":%q},{"type":"Hostname","address":%q}]}}`, ip, n.Name, n.Name)
		if _, err := e.client.CoreV1().Nodes().PatchStatus(ctx, n.Name, []byte(status)); err != nil {
			e.p.Log.Debug("set node addresses", "node", n.Name, "err", err)
			continue
		}
		var taints []corev1.Taint
		for _, t := range n.Spec.Taints {
			if t.Key != uninitializedTaint {
				taints = append(taints, t)
			}
		}
		patch, err := json.Marshal(map[string]any{"spec": map[string]any{"taints": taints}})
		if err != nil {
			continue
		}
		if _, err := e.client.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			e.p.Log.Debug("initialise node", "node", n.Name, "err", err)
		}
	}
}

// removeSettled removes dir and keeps removing it until it stays gone:
// a stopped kubelet's pod workers may still finish a sync, and recreate
// pod directories, shortly after their node is stopped.
func removeSettled(dir string) error {
	for range 40 {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		time.Sleep(250 * time.Millisecond)
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return nil
		}
	}
	return fmt.Errorf("%s keeps being recreated after stop", dir)
}
