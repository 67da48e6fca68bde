package embedded

import (
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"sync"

	"github.com/go-logr/logr"
	"google.golang.org/grpc/grpclog"
	"k8s.io/klog/v2"
)

// switchWriter is an io.Writer whose target can be swapped safely while
// other goroutines write to it.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		return len(p), nil
	}
	return s.w.Write(p)
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

var (
	componentOut  = &switchWriter{}
	componentOnce sync.Once
)

// redirectComponentLogs sends klog (every Kubernetes component) and gRPC
// logging to the file at path, never to the terminal. The returned
// function sends them nowhere again and closes the file.
func redirectComponentLogs(path string) (restore func() error, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return func() error { return nil }, fmt.Errorf("open component log: %w", err)
	}
	componentOnce.Do(func() {
		fs := flag.NewFlagSet("klog", flag.ContinueOnError)
		klog.InitFlags(fs)
		// klog writes the stack of a fatal error to os.Stderr unless it
		// logs to stderr, and a component's fatal on cancellation (a
		// post-start hook during an interrupt) would print one on the
		// user's terminal. So klog "logs to stderr", but through a logger
		// that writes its lines to the component log: nothing reaches the
		// terminal, and os.Exit is intercepted (componentExit).
		for k, v := range map[string]string{"logtostderr": "true", "alsologtostderr": "false", "one_output": "true"} {
			_ = fs.Set(k, v)
		}
		klog.SetLoggerWithOptions(logr.FromSlogHandler(slog.NewTextHandler(componentOut, nil)),
			klog.WriteKlogBuffer(func(b []byte) { _, _ = componentOut.Write(b) }))
		klog.SetOutput(componentOut)
		klog.OsExit = componentExit
		grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, componentOut))
		redirectEtcdClientLog(componentOut)
	})
	componentOut.set(f)
	return func() error {
		klog.Flush()
		componentOut.set(nil)
		return f.Close()
	}, nil
}

// serverLog is the error log of an HTTP server gameday runs for the
// cluster (the kubelet APIs, their streams, the metrics API, the kubelet
// router): the component log, not the terminal, where net/http would
// write otherwise ("superfluous response.WriteHeader call" from the
// kubelet's handlers, TLS handshake errors).
func serverLog(name string) *log.Logger {
	return log.New(componentOut, name+": ", log.LstdFlags)
}
