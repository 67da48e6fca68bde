package embedded

import (
	"fmt"
	"sync"

	"go.uber.org/zap/zapcore"
)

// A Kubernetes component that logs a fatal error would end the whole
// process with os.Exit and skip teardown: kube-apiserver's post-start
// hooks call klog.Fatalf when their context is cancelled during start-up,
// and etcd's zap logger exits on Fatal. gameday replaces those exits. The
// fatal line still goes to components.log; every live environment is told
// (a run then fails with an infrastructure error and tears down, or, when
// the environment is already stopping, carries on stopping); and the
// goroutine that logged it is parked for good, since callers of Fatal do
// not expect it to return.

// fatalHub tells subscribers about components' fatal errors.
type fatalHub struct {
	mu   sync.Mutex
	next int
	subs map[int]func(error)
}

var fatals = &fatalHub{subs: map[int]func(error){}}

// subscribe calls f with each fatal error until the returned function is
// called.
func (h *fatalHub) subscribe(f func(error)) (unsubscribe func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.next
	h.next++
	h.subs[id] = f
	return func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}

// raise tells every subscriber.
func (h *fatalHub) raise(err error) {
	h.mu.Lock()
	subs := make([]func(error), 0, len(h.subs))
	for _, f := range h.subs {
		subs = append(subs, f)
	}
	h.mu.Unlock()
	for _, f := range subs {
		f(err)
	}
}

// park never returns.
var park = func() { select {} }

// componentExit stands in for klog's os.Exit (klog.OsExit).
func componentExit(code int) {
	fatals.raise(fmt.Errorf("a Kubernetes component logged a fatal error (it would have exited with status %d); see components.log", code))
	park()
}

// zapFatal is the fatal hook of the zap loggers of etcd and of the API
// server's etcd client.
type zapFatal struct{}

func (zapFatal) OnWrite(ce *zapcore.CheckedEntry, _ []zapcore.Field) {
	fatals.raise(fmt.Errorf("etcd logged a fatal error: %s", ce.Message))
	park()
}
