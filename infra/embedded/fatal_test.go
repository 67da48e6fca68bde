package embedded

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// parked stands in for park in tests: it unwinds the goroutine that
// logged the fatal error instead of blocking it.
type parked struct{}

// logFatal runs log, which must log a fatal error, and reports whether
// the goroutine was parked (rather than the process exiting).
func logFatal(t *testing.T, log func()) bool {
	t.Helper()
	done := make(chan bool)
	go func() {
		defer func() { _, ok := recover().(parked); done <- ok }()
		log()
	}()
	return <-done
}

func TestFatalLogsDoNotExit(t *testing.T) {
	saved := park
	park = func() { panic(parked{}) }
	defer func() { park = saved }()
	logFile := filepath.Join(t.TempDir(), "components.log")
	restore, err := redirectComponentLogs(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer restore()
	var got []string
	unsubscribe := fatals.subscribe(func(err error) { got = append(got, err.Error()) })
	defer unsubscribe()

	tests := []struct {
		name string
		log  func()
		want string
	}{
		{"klog.Fatalf, as a post-start hook does", func() {
			klog.Fatalf(`PostStartHook "start-service-ip-repair-controllers" failed: context canceled`)
		}, "a Kubernetes component logged a fatal error (it would have exited with status 255)"},
		{"zap Fatal, as etcd does", func() {
			zap.New(zapcore.NewNopCore(), zap.WithFatalHook(zapFatal{})).Fatal("etcd: disk full")
		}, "etcd logged a fatal error: etcd: disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			if !logFatal(t, tt.log) {
				t.Fatal("the goroutine that logged the fatal error was not parked")
			}
			if len(got) != 1 || !strings.Contains(got[0], tt.want) {
				t.Errorf("subscribers were told %q, want %q", got, tt.want)
			}
		})
	}
	klog.Flush()
	b, _ := os.ReadFile(logFile)
	if !strings.Contains(string(b), "start-service-ip-repair-controllers") {
		t.Errorf("the fatal line is not in components.log:\n%s", b)
	}
	unsubscribe()
	got = nil
	if !logFatal(t, func() { klog.Fatal("after unsubscribe") }) || len(got) != 0 {
		t.Errorf("an unsubscribed function was told: %q", got)
	}
}
