package embedded

import (
	"errors"
	"io"
	"strings"
	"sync"
	_ "unsafe" // for go:linkname

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	_ "k8s.io/apiserver/pkg/storage/storagebackend/factory" // defines the etcd client logger linked below
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/metrics"
	_ "k8s.io/component-base/metrics/legacyregistry" // defines the registry linked below
)

// This file collects the workarounds for process-wide state in the
// Kubernetes components, which each expect to be alone in their process.
// gameday runs several kubelets at once, and runs the control plane more
// than once per process (tests, benchmarks, a second game in one session).

// The kubelet registers per-instance metric collectors in the process-wide
// legacy registry (and in prometheus's default registry) and panics on
// the second registration. A real kubelet is alone in its process; ours
// share one. Duplicate collector registrations are therefore ignored: the
// first node's collectors serve, which is all gameday needs, since nothing
// scrapes these metrics.
//
//go:linkname legacyRegistry k8s.io/component-base/metrics/legacyregistry.defaultRegistry
var legacyRegistry metrics.KubeRegistry

var tolerateOnce sync.Once

func tolerateDuplicateCollectors() {
	tolerateOnce.Do(func() {
		legacyRegistry = tolerantKubeRegistry{legacyRegistry}
		prometheus.DefaultRegisterer = tolerantRegisterer{prometheus.DefaultRegisterer}
	})
}

type tolerantKubeRegistry struct{ metrics.KubeRegistry }

// CustomMustRegister registers collectors, ignoring ones already present.
func (r tolerantKubeRegistry) CustomMustRegister(cs ...metrics.StableCollector) {
	for _, c := range cs {
		if err := r.KubeRegistry.CustomRegister(c); err != nil && !duplicate(err) {
			panic(err)
		}
	}
}

type tolerantRegisterer struct{ prometheus.Registerer }

// MustRegister registers collectors, ignoring ones already present.
func (r tolerantRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Registerer.Register(c); err != nil && !duplicate(err) {
			panic(err)
		}
	}
}

func duplicate(err error) bool {
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		return true
	}
	// A new collector describing metrics that another one already
	// describes is reported as an inconsistent-descriptor error.
	return err != nil && (strings.Contains(err.Error(), "duplicate metrics collector registration") ||
		strings.Contains(err.Error(), "previously registered descriptor") ||
		strings.Contains(err.Error(), "already exists with the same fully-qualified name"))
}

// Each component reserves a process-wide informer name at start-up; the
// controller manager never releases its own. releaseInformerName frees a
// component's name after it has stopped, so the next start can take it.
//
//go:linkname informerNameRegistry k8s.io/client-go/tools/cache.informerNameRegistry
var informerNameRegistry struct {
	sync.Mutex
	names map[string]*cache.InformerName
}

func releaseInformerName(name string) {
	informerNameRegistry.Lock()
	n := informerNameRegistry.names[name]
	informerNameRegistry.Unlock()
	n.Release() // nil-safe
}

// The API server's etcd client logs through a zap logger that the storage
// package builds for stderr at init. Point it at the component log.
//
//go:linkname etcd3ClientLogger k8s.io/apiserver/pkg/storage/storagebackend/factory.etcd3ClientLogger
var etcd3ClientLogger *zap.Logger

func redirectEtcdClientLog(w io.Writer) {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	etcd3ClientLogger = zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), zap.WarnLevel), zap.WithFatalHook(zapFatal{})).Named("etcd-client")
}
