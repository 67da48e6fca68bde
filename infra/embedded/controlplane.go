package embedded

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-base/configz"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	cmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	cmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	schedapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	schedoptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"

	"github.com/gameday-sre/gameday/infra/environment"
)

// Controllers run by the embedded kube-controller-manager. Everything a
// game day touches, and HPA for the scenarios that need it.
var controllers = []string{
	"deployment", "replicaset", "statefulset", "daemonset", "job", "cronjob",
	"endpoint", "endpointslice", "endpointslicemirroring",
	"namespace", "garbagecollector", "serviceaccount", "serviceaccount-token",
	"root-ca-cert-publisher", "nodelifecycle", "taint-eviction-controller", "horizontalpodautoscaling",
	"disruption", "podgc", "ttl-after-finished", "resourcequota",
	"csrsigning", // signs approved CertificateSigningRequests with the run's CA
	// fills admin, edit and view, which EKS's access policies resemble
	"clusterrole-aggregation",
}

// component is a control-plane component running in a goroutine.
type component struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// run starts fn in a goroutine with its own cancellable context.
func run(ctx context.Context, name string, fn func(context.Context) error) *component {
	cctx, cancel := context.WithCancel(ctx)
	c := &component{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer func() {
			if r := recover(); r != nil {
				c.err = fmt.Errorf("%s panicked: %v", name, r)
			}
		}()
		c.err = fn(cctx)
	}()
	return c
}

// exited returns the component's error if it has stopped.
func (c *component) exited() (bool, error) {
	select {
	case <-c.done:
		if c.err == nil {
			return true, fmt.Errorf("%s exited", c.name)
		}
		return true, fmt.Errorf("%s: %w", c.name, c.err)
	default:
		return false, nil
	}
}

// stop cancels the component and waits up to timeout for it to return.
func (c *component) stop(timeout time.Duration) error {
	c.cancel()
	select {
	case <-c.done:
		if c.err != nil && !errors.Is(c.err, context.Canceled) {
			return fmt.Errorf("%s: %w", c.name, c.err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s did not stop within %s", c.name, timeout)
	}
}

// globalsMu serialises the parts of component start-up that touch
// process-wide registries (feature gates, configz).
var globalsMu sync.Mutex

// parseFlags applies args to a flag set assembled from named sets.
func parseFlags(name string, sets map[string]*pflag.FlagSet, args []string) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(nopWriter{})
	for _, s := range sets {
		fs.AddFlagSet(s)
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s flags: %w", name, err)
	}
	return nil
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

// apiserverConfig is what startAPIServer needs.
type apiserverConfig struct {
	etcd        string
	pki         *pki
	serving     *identity
	saKey       string
	saPub       string
	auditLog    string
	auditPolicy string
	listener    net.Listener
	// egress is the EgressSelectorConfiguration file (the kubelet router).
	egress string
	// kubeletClient is the API server's identity towards kubelets.
	kubeletClient *identity
	// frontProxy is its identity towards aggregated API servers
	// (metrics-server), which trust the user it names in its headers.
	frontProxy *identity
	// webhooks, when set, are EKS's authenticator and authorizer.
	webhooks *environment.Webhooks
	// issuer is the service-account token issuer; "" is the in-cluster
	// name.
	issuer string
}

func startAPIServer(ctx context.Context, c apiserverConfig) (*component, error) {
	globalsMu.Lock()
	defer globalsMu.Unlock()
	s := apiserveroptions.NewServerRunOptions()
	args := []string{
		"--etcd-servers=" + c.etcd,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + c.pki.dir,
		"--tls-cert-file=" + c.serving.certFile,
		"--tls-private-key-file=" + c.serving.keyFile,
		"--client-ca-file=" + c.pki.caFile(),
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--service-account-key-file=" + c.saPub,
		"--service-account-signing-key-file=" + c.saKey,
		"--service-account-issuer=" + cmp.Or(c.issuer, "https://kubernetes.default.svc.cluster.local"),
		"--service-cluster-ip-range=172.20.0.0/16",
		"--allow-privileged=true",
		"--profiling=false",
		"--enable-priority-and-fairness=false",
		"--audit-log-path=" + c.auditLog,
		"--audit-policy-file=" + c.auditPolicy,
		"--audit-log-format=json",
		"--audit-log-mode=blocking",
		"--event-ttl=2h",
		"--egress-selector-config-file=" + c.egress,
		"--kubelet-client-certificate=" + c.kubeletClient.certFile,
		"--kubelet-client-key=" + c.kubeletClient.keyFile,
		"--kubelet-certificate-authority=" + c.pki.caFile(),
		"--proxy-client-cert-file=" + c.frontProxy.certFile,
		"--proxy-client-key-file=" + c.frontProxy.keyFile,
		"--requestheader-client-ca-file=" + c.pki.caFile(),
		"--requestheader-allowed-names=" + frontProxyUser,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
	}
	if w := c.webhooks; w != nil {
		// As on EKS: IAM callers authenticate by token, and their access
		// policies authorise what RBAC does not. The caches are short, so
		// that a removed access entry or policy counts within seconds.
		args = append(args,
			"--authentication-token-webhook-config-file="+w.TokenConfig,
			"--authentication-token-webhook-version=v1",
			"--authentication-token-webhook-cache-ttl=5s",
			"--authorization-webhook-config-file="+w.AuthorizationConfig,
			"--authorization-webhook-version=v1",
			"--authorization-webhook-cache-authorized-ttl=5s",
			"--authorization-webhook-cache-unauthorized-ttl=5s",
		)
		for i, a := range args {
			if a == "--authorization-mode=Node,RBAC" {
				args[i] = "--authorization-mode=Node,RBAC,Webhook"
			}
		}
	}
	if err := parseFlags("kube-apiserver", s.Flags().FlagSets, args); err != nil {
		return nil, err
	}
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("kube-apiserver feature gates: %w", err)
	}
	s.SecureServing.Listener = c.listener
	s.SecureServing.BindPort = c.listener.Addr().(*net.TCPAddr).Port
	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver options: %w", err)
	}
	if errs := completed.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("kube-apiserver options: %w", errors.Join(errs...))
	}
	return run(ctx, "kube-apiserver", func(ctx context.Context) error {
		defer releaseInformerName("kube-apiserver")
		return apiserverapp.Run(ctx, completed)
	}), nil
}

// waitReady polls the API server's /readyz until it answers ok, the
// component exits, or timeout passes.
func waitReady(ctx context.Context, cs kubernetes.Interface, apiserver *component, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if done, err := apiserver.exited(); done {
			return err
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil && strings.TrimSpace(string(body)) == "ok" {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("kube-apiserver not ready after %s: %v", timeout, last)
}

func startControllerManager(ctx context.Context, kubeconfig, saKey, caFile, caKeyFile string, t environment.Timings) (*component, error) {
	globalsMu.Lock()
	defer globalsMu.Unlock()
	s, err := cmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager options: %w", err)
	}
	sets := s.Flags(cmapp.KnownControllers(), cmapp.ControllersDisabledByDefault(), cmapp.ControllerAliases())
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + saKey,
		"--root-ca-file=" + caFile,
		"--cluster-signing-cert-file=" + caFile,
		"--cluster-signing-key-file=" + caKeyFile,
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--profiling=false",
		"--node-monitor-grace-period=" + t.NodeMonitorGracePeriod.String(),
		// Check nodes every second (default 5 s), so that a new node's
		// not-ready taint goes as soon as it is Ready; NotReady still
		// takes the grace period.
		"--node-monitor-period=1s",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
		"--concurrent-service-endpoint-syncs=10",
		"--horizontal-pod-autoscaler-sync-period=" + t.HPASyncPeriod.String(),
	}
	if err := parseFlags("kube-controller-manager", sets.FlagSets, args); err != nil {
		return nil, err
	}
	if err := s.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("kube-controller-manager feature gates: %w", err)
	}
	cfg, err := s.Config(ctx, cmapp.KnownControllers(), cmapp.ControllersDisabledByDefault(), cmapp.ControllerAliases())
	if err != nil {
		return nil, fmt.Errorf("kube-controller-manager config: %w", err)
	}
	completed := cfg.Complete()
	return run(ctx, "kube-controller-manager", func(ctx context.Context) error {
		defer configz.Delete(cmapp.ConfigzName)
		defer releaseInformerName("kube-controller-manager")
		return cmapp.Run(ctx, completed)
	}), nil
}

func startScheduler(ctx context.Context, kubeconfig string) (*component, error) {
	globalsMu.Lock()
	defer globalsMu.Unlock()
	opts := schedoptions.NewOptions()
	args := []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--secure-port=0",
		"--profiling=false",
	}
	if err := parseFlags("kube-scheduler", opts.Flags.FlagSets, args); err != nil {
		return nil, err
	}
	cc, sched, err := schedapp.Setup(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("kube-scheduler setup: %w", err)
	}
	return run(ctx, "kube-scheduler", func(ctx context.Context) error {
		defer configz.Delete("componentconfig")
		defer releaseInformerName("kube-scheduler")
		err := schedapp.Run(ctx, cc, sched)
		if ctx.Err() != nil {
			return nil // Run reports "finished without leader elect" on a normal stop
		}
		return err
	}), nil
}
