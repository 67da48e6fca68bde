package embedded

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	cadvisorapi "github.com/google/cadvisor/info/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	internalapi "k8s.io/cri-api/pkg/apis"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	fakeruntime "k8s.io/cri-api/pkg/apis/testing"
	"k8s.io/cri-streaming/pkg/streaming"
	"k8s.io/klog/v2"
	kubeletapp "k8s.io/kubernetes/cmd/kubelet/app"
	kubeletoptions "k8s.io/kubernetes/cmd/kubelet/app/options"
	"k8s.io/kubernetes/pkg/kubelet"
	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/apis/config"
	cadvisortest "k8s.io/kubernetes/pkg/kubelet/cadvisor/testing"
	"k8s.io/kubernetes/pkg/kubelet/cm"
	kubeletserver "k8s.io/kubernetes/pkg/kubelet/server"
	serverstats "k8s.io/kubernetes/pkg/kubelet/server/stats"
	"k8s.io/kubernetes/pkg/kubemark"

	"github.com/gameday-sre/gameday/infra/environment"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// clusterDNS is the kube-dns Service IP in the 172.20.0.0/16 service
// range, as on EKS.
const clusterDNS = "172.20.0.10"

// Node is the identity of a simulated node, as image pullers see it.
type Node struct {
	// Name is the node name (ip-10-0-1-23.ec2.internal).
	Name string
	// NodeGroup is the EKS node group the node belongs to.
	NodeGroup string
	// IP is the node's internal IP.
	IP netip.Addr
	// InstanceID is the EC2 instance id (i-0123...).
	InstanceID string
}

// imagePuller decides whether a node can pull an image. On success it
// returns the image's size in bytes. The error's text is what the kubelet
// reports in its events, so it should read like the container runtime's
// own message.
type imagePuller interface {
	Pull(ctx context.Context, node Node, image string) (size uint64, err error)
}

// pullerFunc adapts a function to imagePuller.
type pullerFunc func(ctx context.Context, node Node, image string) (uint64, error)

// Pull calls f.
func (f pullerFunc) Pull(ctx context.Context, node Node, image string) (uint64, error) {
	return f(ctx, node, image)
}

// alwaysPull is the default imagePuller: every pull succeeds after Delay.
type alwaysPull struct {
	// Delay simulates transfer time.
	Delay time.Duration
	// Size is the reported image size. Default 24 MiB.
	Size uint64
}

// Pull waits Delay and succeeds.
func (p alwaysPull) Pull(ctx context.Context, _ Node, _ string) (uint64, error) {
	size := p.Size
	if size == 0 {
		size = 24 << 20
	}
	if p.Delay <= 0 {
		return size, nil
	}
	select {
	case <-time.After(p.Delay):
		return size, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

var _ imagePuller = alwaysPull{}

// instanceShape is what an EC2 instance type reports.
type instanceShape struct {
	cores   int
	memory  uint64
	maxPods int32 // the VPC CNI limit for the type
}

var instanceShapes = map[string]instanceShape{
	"t3.medium":  {2, 4 << 30, 17},
	"t3.large":   {2, 8 << 30, 35},
	"m5.large":   {2, 8 << 30, 29},
	"m5.xlarge":  {4, 16 << 30, 58},
	"m6i.large":  {2, 8 << 30, 29},
	"m6i.xlarge": {4, 16 << 30, 58},
	"m7i.large":  {2, 8 << 30, 29},
	"c5.large":   {2, 4 << 30, 29},
	"r5.large":   {2, 16 << 30, 29},
}

func shapeOf(instanceType string) instanceShape {
	if s, ok := instanceShapes[instanceType]; ok {
		return s
	}
	return instanceShape{2, 8 << 30, 29}
}

// machine reports the instance type's cores and memory to the kubelet.
type machine struct {
	cadvisortest.Fake
	shape instanceShape
	// diskUsed is what the node's containers have written, in bytes.
	diskUsed func() int64
	// filled is what a fillNodeDisk step wrote outside any pod, in bytes.
	filled atomic.Int64
}

// VersionInfo reports an EKS-optimised Amazon Linux 2023 node.
func (m *machine) VersionInfo() (*cadvisorapi.VersionInfo, error) {
	return &cadvisorapi.VersionInfo{
		KernelVersion:      "6.1.141-155.222.amzn2023.x86_64",
		ContainerOsVersion: "Amazon Linux 2023.8.20250818",
	}, nil
}

func (m *machine) MachineInfo(logger klog.Logger) (*cadvisorapi.MachineInfo, error) {
	info, err := m.Fake.MachineInfo(logger)
	if err != nil {
		return nil, err
	}
	info.NumCores = m.shape.cores
	info.MemoryCapacity = m.shape.memory
	return info, nil
}

// runtime is the fake CRI runtime with one change: each pod sandbox gets
// its own IP from the node group's subnet, as the AWS VPC CNI gives pods
// addresses from the node's subnet.
type runtime struct {
	*fakeruntime.FakeRuntimeService
	exec     *executor
	streams  streaming.Server
	ips      *ipPool
	mu       sync.Mutex
	got      map[string]netip.Addr // sandbox id → IP
	sbxPorts map[string][]int      // sandbox id → the pod's container ports
	// down is set while a stopNode step has the runtime stopped: the
	// kubelet cannot reach it.
	down atomic.Bool
}

// sandboxOf finds the pod sandbox that has an IP.
func (r *runtime) sandboxOf(ip string) (string, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, a := range r.got {
		if a == addr {
			return id, true
		}
	}
	return "", false
}

// ports are the container ports a pod sandbox declares.
func (r *runtime) ports(sandboxID string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sbxPorts[sandboxID]
}

var _ internalapi.RuntimeService = (*runtime)(nil)

func (r *runtime) RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig, handler string) (string, error) {
	if err := r.reachable(); err != nil {
		return "", err
	}
	id, err := r.FakeRuntimeService.RunPodSandbox(ctx, config, handler)
	if err != nil {
		return id, err
	}
	r.mu.Lock()
	ports := make([]int, 0, len(config.GetPortMappings()))
	for _, pm := range config.GetPortMappings() {
		ports = append(ports, int(pm.GetContainerPort()))
	}
	r.sbxPorts[id] = ports
	ip, ok := r.got[id]
	if !ok {
		ip, err = r.ips.take()
		if err == nil {
			r.got[id] = ip
		}
	}
	r.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("failed to setup network for sandbox %q: %w", id, err)
	}
	r.FakeRuntimeService.Lock()
	if sb := r.FakeRuntimeService.Sandboxes[id]; sb != nil {
		sb.Network.Ip = ip.String()
		sb.Network.AdditionalIps = nil
	}
	// The fake records every call; keep that record from growing without
	// bound over a long game day.
	if len(r.FakeRuntimeService.Called) > 1024 {
		r.FakeRuntimeService.Called = r.FakeRuntimeService.Called[:0]
	}
	r.FakeRuntimeService.Unlock()
	return id, nil
}

// CreateContainer creates the container with its log file where the
// kubelet reads it: the sandbox's log directory and the container's log
// path, as containerd does.
func (r *runtime) CreateContainer(ctx context.Context, sandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (string, error) {
	if err := r.reachable(); err != nil {
		return "", err
	}
	id, err := r.FakeRuntimeService.CreateContainer(ctx, sandboxID, config, sandboxConfig)
	if err != nil || sandboxConfig.GetLogDirectory() == "" || config.GetLogPath() == "" {
		return id, err
	}
	logPath := filepath.Join(sandboxConfig.GetLogDirectory(), config.GetLogPath())
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return "", fmt.Errorf("create container log directory: %w", err)
	}
	r.FakeRuntimeService.Lock()
	if c := r.FakeRuntimeService.Containers[id]; c != nil {
		c.LogPath = logPath
	}
	r.FakeRuntimeService.Unlock()
	r.exec.created(id, config)
	return id, nil
}

// StartContainer starts the container, which runs its image's behaviour
// (see executor).
func (r *runtime) StartContainer(ctx context.Context, id string) error {
	if err := r.reachable(); err != nil {
		return err
	}
	if err := r.FakeRuntimeService.StartContainer(ctx, id); err != nil {
		return err
	}
	return r.exec.start(id)
}

// StopContainer stops the container and its behaviour.
func (r *runtime) StopContainer(ctx context.Context, id string, timeout int64) error {
	code, reason, modelled := r.exec.stopped(id, time.Duration(timeout)*time.Second)
	r.exec.stop(id)
	if err := r.FakeRuntimeService.StopContainer(ctx, id, timeout); err != nil {
		return err
	}
	if modelled {
		// The fake leaves the exit code at 0; the app's shutdown says
		// how it ended (a killed app is 137, and the kubelet then keeps
		// an evicted pod Failed, with its reason, rather than Succeeded).
		r.FakeRuntimeService.Lock()
		if c := r.FakeRuntimeService.Containers[id]; c != nil {
			c.ExitCode, c.Reason = int32(code), reason
		}
		r.FakeRuntimeService.Unlock()
	}
	return nil
}

// RemoveContainer removes the container and forgets its behaviour.
func (r *runtime) RemoveContainer(ctx context.Context, id string) error {
	r.exec.removed(id)
	return r.FakeRuntimeService.RemoveContainer(ctx, id)
}

// Exec hands the kubelet a URL of the runtime's streaming server, where
// the command runs against the container's behaviour model.
func (r *runtime) Exec(_ context.Context, req *runtimeapi.ExecRequest) (*runtimeapi.ExecResponse, error) {
	return r.streams.GetExec(req)
}

// Attach hands the kubelet a URL of the runtime's streaming server.
func (r *runtime) Attach(_ context.Context, req *runtimeapi.AttachRequest) (*runtimeapi.AttachResponse, error) {
	return r.streams.GetAttach(req)
}

// PortForward hands the kubelet a URL of the runtime's streaming server,
// where connections are answered by the behaviour model.
func (r *runtime) PortForward(_ context.Context, req *runtimeapi.PortForwardRequest) (*runtimeapi.PortForwardResponse, error) {
	return r.streams.GetPortForward(req)
}

// Version reports containerd, as on EKS nodes.
func (r *runtime) Version(ctx context.Context, apiVersion string) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: "containerd", RuntimeVersion: "1.7.27", RuntimeApiVersion: "v1"}, nil
}

func (r *runtime) RemovePodSandbox(ctx context.Context, id string) error {
	err := r.FakeRuntimeService.RemovePodSandbox(ctx, id)
	r.mu.Lock()
	if ip, ok := r.got[id]; ok {
		r.ips.give(ip)
		delete(r.got, id)
	}
	delete(r.sbxPorts, id)
	r.mu.Unlock()
	return err
}

// images is the node's CRI image service: image bookkeeping from the fake
// service, pull decisions from an imagePuller.
type images struct {
	*fakeruntime.FakeImageService
	node   Node
	puller imagePuller
	mu     sync.Mutex // the fake takes the image size from a field
}

var _ internalapi.ImageManagerService = (*images)(nil)

func (s *images) PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, sandbox *runtimeapi.PodSandboxConfig) (string, error) {
	size, err := s.puller.Pull(ctx, s.node, image.GetImage())
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.SetFakeImageSize(size)
	return s.FakeImageService.PullImage(ctx, image, auth, sandbox)
}

// hollowNode is one simulated node: the real kubelet code with fake
// runtime, cadvisor and container manager.
type hollowNode struct {
	Node
	machine *machine
	rootDir string
	cancel  context.CancelFunc
	conns   *connTracker
	runtime *runtime
	api     *http.Server // the kubelet API, on a listener gameday owns
	router  *kubeletRouter
	streams *http.Server // the runtime's exec and port-forward streams
}

// nodeSpec is what startNode needs.
type nodeSpec struct {
	node         Node
	server       string
	pki          *pki
	router       *kubeletRouter
	rootDir      string
	labels       map[string]string
	taints       []v1.Taint
	providerID   string
	instanceType string
	pods         *ipPool
	puller       imagePuller
	behaviours   map[string]behaviour.App
	// load is the load a pod serves (namespace, name), in requests a
	// second.
	load func(namespace, pod string) float64
	// timings are the kubelet's periods.
	timings environment.Timings
}

func newInstanceID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return "i-" + hex.EncodeToString(b)[:17]
}

// startNode starts a hollow kubelet. It registers the node with the API
// server; readiness follows asynchronously.
func startNode(ctx context.Context, s nodeSpec) (*hollowNode, error) {
	id, err := s.pki.issue("node-"+s.node.Name, "system:node:"+s.node.Name, []string{"system:nodes"}, nil, nil)
	if err != nil {
		return nil, err
	}
	n := &hollowNode{Node: s.node, rootDir: s.rootDir, conns: &connTracker{}}
	restCfg := &rest.Config{
		Host:            s.server,
		TLSClientConfig: rest.TLSClientConfig{CAData: s.pki.caPEM, CertData: id.certPEM, KeyData: id.keyPEM},
		UserAgent:       "kubelet/" + s.node.Name,
		QPS:             50,
		Burst:           100,
		// Once the node is stopped its leftover kubelet goroutines cannot
		// reach the API server any more.
		Dial: n.conns.dial,
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return nil, fmt.Errorf("kubelet client: %w", err)
	}
	hb := rest.CopyConfig(restCfg)
	hb.Timeout = 10 * time.Second
	hb.QPS = -1
	heartbeat, err := kubernetes.NewForConfig(hb)
	if err != nil {
		return nil, fmt.Errorf("kubelet heartbeat client: %w", err)
	}

	shape := shapeOf(s.instanceType)
	flags, cfg := kubemark.GetHollowKubeletConfig(&kubemark.HollowKubeletOptions{
		NodeName:           s.node.Name,
		MaxPods:            int(shape.maxPods),
		NodeLabels:         s.labels,
		RegisterWithTaints: s.taints,
	})
	// GetHollowKubeletConfig makes its directories under the system temp
	// dir; move everything into the run's own directory.
	if err := os.RemoveAll(flags.RootDirectory); err != nil {
		return nil, fmt.Errorf("remove kubemark temp dir: %w", err)
	}
	flags.RootDirectory = s.rootDir
	cfg.StaticPodPath = filepath.Join(s.rootDir, "static-pods")
	cfg.PodLogsDir = filepath.Join(s.rootDir, "pod-logs")
	for _, d := range []string{cfg.StaticPodPath, cfg.PodLogsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create kubelet dir: %w", err)
		}
	}
	flags.CloudProvider = "external" // gameday sets addresses, as the AWS cloud controller does
	// The kubelet API is served by serveAPI, on a listener gameday owns:
	// the kubelet's own server exits the process when it cannot bind and
	// outlives cancellation. Port is what the node reports.
	cfg.EnableServer = false
	cfg.ReadOnlyPort = 0
	cfg.Address = "127.0.0.1"
	cfg.Port = KubeletPort
	// Callers are authenticated and authorised as a real kubelet does it:
	// client certificates from the cluster CA, and SubjectAccessReviews.
	cfg.Authentication.Anonymous.Enabled = false
	cfg.Authentication.X509.ClientCAFile = s.pki.caFile()
	cfg.Authentication.Webhook.Enabled = true
	cfg.Authentication.Webhook.CacheTTL.Duration = 2 * time.Minute
	cfg.Authorization.Mode = kubeletconfig.KubeletAuthorizationModeWebhook
	cfg.Authorization.Webhook.CacheAuthorizedTTL.Duration = 5 * time.Minute
	cfg.Authorization.Webhook.CacheUnauthorizedTTL.Duration = 30 * time.Second
	cfg.ProviderID = s.providerID
	cfg.SerializeImagePulls = false // as on EKS AMIs
	cfg.NodeStatusUpdateFrequency.Duration = 10 * time.Second
	// Without thresholds the eviction manager never sees pressure; these
	// are the EKS AMI's. A node leaves a pressure condition after the
	// scenario's transition period (30 s unless it says; the kubelet's
	// default is 5 minutes), so a game day sees a fixed node recover
	// while it plays.
	cfg.EvictionHard = evictionHard
	cfg.EvictionPressureTransitionPeriod.Duration = s.timings.EvictionPressureTransitionPeriod
	// Volume usage (emptyDir sizeLimit, a pod's ephemeral storage) is
	// measured every 10 s (unless the scenario says) rather than every
	// minute, so that limits act within a game.
	cfg.VolumeStatsAggPeriod.Duration = s.timings.VolumeStatsAggPeriod
	cfg.CrashLoopBackOff.MaxContainerRestartPeriod = &metav1.Duration{Duration: s.timings.CrashLoopBackOffMax}
	cfg.ClusterDNS = []string{clusterDNS}
	cfg.ClusterDomain = "cluster.local"

	rt := &runtime{FakeRuntimeService: fakeruntime.NewFakeRuntimeService(), ips: s.pods, got: map[string]netip.Addr{}, sbxPorts: map[string][]int{}}
	rt.exec = &executor{rt: rt, behaviours: s.behaviours, load: s.load, configs: map[string]*runtimeapi.ContainerConfig{},
		runs: map[string]context.CancelFunc{}, live: map[string]running{}}
	if rt.streams, n.streams, err = rt.exec.startStreams(); err != nil {
		return nil, err
	}
	rt.FakeStatus = &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true},
		{Type: runtimeapi.NetworkReady, Status: true},
	}}
	n.runtime = rt
	img := &images{FakeImageService: fakeruntime.NewFakeImageService(), node: s.node, puller: s.puller}
	img.FakeFilesystemUsage = imageFilesystems()
	mach := &machine{Fake: cadvisortest.Fake{NodeName: s.node.Name}, shape: shape, diskUsed: rt.exec.diskUsed}
	n.machine = mach
	hk := kubemark.NewHollowKubelet(flags, cfg, client, heartbeat, mach, img, rt, containerManager{cm.NewStubContainerManager()})
	// emptyDir volumes count what the apps write into them.
	hk.KubeletDeps.VolumePlugins = modelEmptyDirs(hk.KubeletDeps.VolumePlugins, rt.exec.volumeUsed, func() (int64, int64) {
		fs := mach.fsInfo()
		return int64(fs.Capacity), int64(fs.Available)
	})
	// kubemark wires a fake event recorder; use the kubelet's own, so its
	// events (Pulling, Failed, BackOff, ...) reach the API server.
	hk.KubeletDeps.Recorder = nil
	// kubemark's fake prober reports every container ready, even one that
	// never started; the kubelet's own prober manager runs the probes,
	// with the models as its transport (useModelTransport).
	hk.KubeletDeps.ProbeManager = nil
	hk.KubeletDeps.EventClient = client.CoreV1()

	var klet *kubelet.Kubelet
	var transportErr error
	hk.KubeletDeps.Options = append(hk.KubeletDeps.Options, func(k *kubelet.Kubelet) {
		klet = k
		transportErr = useModelTransport(k, rt.exec)
	})

	kctx, cancel := context.WithCancel(ctx)
	n.cancel = cancel
	server := &kubeletoptions.KubeletServer{KubeletFlags: *hk.KubeletFlags, KubeletConfiguration: *hk.KubeletConfiguration}
	if err := kubeletapp.RunKubelet(kctx, server, hk.KubeletDeps); err != nil {
		n.stop()
		return nil, fmt.Errorf("start kubelet %s: %w", s.node.Name, err)
	}
	if transportErr != nil {
		n.stop()
		return nil, fmt.Errorf("kubelet %s prober: %w", s.node.Name, transportErr)
	}
	if s.router != nil {
		if err := n.serveAPI(kctx, s, klet, client, &server.KubeletConfiguration); err != nil {
			n.stop()
			return nil, fmt.Errorf("kubelet API of %s: %w", s.node.Name, err)
		}
	}
	return n, nil
}

// serveAPI serves the kubelet's API (logs, exec, attach, port-forward,
// stats) over TLS with a serving certificate from the cluster CA, on a
// loopback listener, and routes the node's name and address there.
func (n *hollowNode) serveAPI(ctx context.Context, s nodeSpec, klet *kubelet.Kubelet, client kubernetes.Interface, cfg *kubeletconfig.KubeletConfiguration) error {
	if klet == nil {
		return errors.New("the kubelet was not built")
	}
	ip := s.node.IP.String()
	serving, err := s.pki.issue("kubelet-"+s.node.Name, s.node.Name, nil, []net.IP{net.ParseIP(ip)}, []string{s.node.Name})
	if err != nil {
		return err
	}
	cert, err := tls.X509KeyPair(serving.certPEM, serving.keyPEM)
	if err != nil {
		return err
	}
	auth, _, err := kubeletapp.BuildAuth(types.NodeName(s.node.Name), client, *cfg)
	if err != nil {
		return err
	}
	analyzer := serverstats.NewResourceAnalyzer(ctx, klet, cfg.VolumeStatsAggPeriod.Duration, &record.FakeRecorder{})
	handler := kubeletserver.NewServer(ctx, klet, analyzer, nil, nil, auth, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	n.api = &http.Server{
		Handler:           &handler,
		ErrorLog:          serverLog("kubelet " + s.node.Name),
		ReadHeaderTimeout: 30 * time.Second,
		// The kubelet's own server asks for a client certificate and
		// lets its authenticator verify it.
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12},
	}
	n.router = s.router
	s.router.add(ln.Addr().String(), s.node.Name, ip)
	go func() { _ = n.api.Serve(tls.NewListener(ln, n.api.TLSConfig)) }()
	return nil
}

// stop cancels the kubelet and cuts its connections. Some kubelet loops
// ignore cancellation; with the dialer closed they stay idle.
func (n *hollowNode) stop() {
	if n.cancel != nil {
		n.cancel()
	}
	if n.api != nil {
		n.router.remove(n.Name, n.IP.String())
		_ = n.api.Close()
	}
	if n.streams != nil {
		_ = n.streams.Close()
	}
	n.conns.close()
}

// connTracker dials connections and can close them all, and refuse new
// ones, at once.
type connTracker struct {
	mu     sync.Mutex
	closed bool
	paused bool // a stopped kubelet: no connection until it starts again
	conns  map[net.Conn]struct{}
	dialer net.Dialer
}

func (t *connTracker) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	t.mu.Lock()
	closed, paused := t.closed, t.paused
	t.mu.Unlock()
	if closed {
		return nil, errors.New("node stopped")
	}
	if paused {
		return nil, errors.New("kubelet stopped")
	}
	c, err := t.dialer.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return nil, errors.New("node stopped")
	}
	if t.conns == nil {
		t.conns = map[net.Conn]struct{}{}
	}
	tc := &trackedConn{Conn: c, t: t}
	t.conns[tc] = struct{}{}
	return tc, nil
}

// setPaused cuts every connection and refuses new ones (a stopped
// kubelet), or allows them again.
func (t *connTracker) setPaused(paused bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.paused = paused
	if paused {
		for c := range t.conns {
			c.(*trackedConn).Conn.Close()
		}
		t.conns = nil
	}
}

func (t *connTracker) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for c := range t.conns {
		c.(*trackedConn).Conn.Close()
	}
	t.conns = nil
}

type trackedConn struct {
	net.Conn
	t *connTracker
}

func (c *trackedConn) Close() error {
	c.t.mu.Lock()
	delete(c.t.conns, c)
	c.t.mu.Unlock()
	return c.Conn.Close()
}

// ipPool hands out addresses from a subnet.
type ipPool struct {
	mu   sync.Mutex
	next netip.Addr
	last netip.Addr
	free []netip.Addr
}

// newIPPool serves the addresses from first to last, both included.
func newIPPool(first, last netip.Addr) *ipPool {
	return &ipPool{next: first, last: last}
}

func (p *ipPool) take() (netip.Addr, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		a := p.free[n-1]
		p.free = p.free[:n-1]
		return a, nil
	}
	if !p.next.IsValid() || p.next.Compare(p.last) > 0 {
		return netip.Addr{}, errors.New("no IP addresses left in the subnet")
	}
	a := p.next
	p.next = p.next.Next()
	return a, nil
}

func (p *ipPool) give(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, a)
}
