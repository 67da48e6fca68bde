package embedded

import (
	"context"
	"fmt"
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	listersdiscoveryv1 "k8s.io/client-go/listers/discovery/v1"

	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
)

// loadsFresh is how long a computed set of pod loads is reused.
const loadsFresh = 500 * time.Millisecond

// loadBook knows the load each pod serves: every Service's load
// (behaviour.LoadAnnotation, set by the setLoad step) spread over the
// Service's ready endpoints, so that a scale-out lowers each pod's part.
// Containers' models (CPU, overload) and the metrics API read it.
type loadBook struct {
	services listerscorev1.ServiceLister
	slices   listersdiscoveryv1.EndpointSliceLister
	stopCh   chan struct{}

	mu    sync.Mutex
	pods  map[string]float64 // namespace/name → requests a second
	taken time.Time
}

// startLoadBook watches Services and EndpointSlices.
func startLoadBook(ctx context.Context, client kubernetes.Interface) (*loadBook, error) {
	f := informers.NewSharedInformerFactory(client, 0)
	b := &loadBook{
		services: f.Core().V1().Services().Lister(),
		slices:   f.Discovery().V1().EndpointSlices().Lister(),
		stopCh:   make(chan struct{}),
	}
	f.Start(b.stopCh)
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			close(b.stopCh)
			return nil, fmt.Errorf("load book: %v informer did not sync", typ)
		}
	}
	return b, nil
}

// of is the load a pod serves, in requests a second.
func (b *loadBook) of(namespace, pod string) float64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pods == nil || time.Since(b.taken) > loadsFresh {
		b.pods, b.taken = b.compute(), time.Now()
	}
	return b.pods[namespace+"/"+pod]
}

// compute spreads each loaded Service's load over its ready pods.
func (b *loadBook) compute() map[string]float64 {
	out := map[string]float64{}
	svcs, err := b.services.List(labels.Everything())
	if err != nil {
		return out
	}
	for _, s := range svcs {
		load, err := behaviour.ParseLoad(s.Annotations[behaviour.LoadAnnotation])
		if err != nil || load == 0 {
			continue
		}
		sl, err := b.slices.EndpointSlices(s.Namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: s.Name}))
		if err != nil {
			continue
		}
		ready := scenarios.ReadyPods(sl, s.Namespace, s.Name)
		for _, p := range ready {
			out[s.Namespace+"/"+p] += behaviour.Share(load, len(ready))
		}
	}
	return out
}

// close stops the watches.
func (b *loadBook) close() {
	if b != nil {
		close(b.stopCh)
	}
}
