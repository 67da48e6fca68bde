package embedded

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/logutil"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/gameday-sre/gameday/internal/loopback"
)

// startEtcd starts an in-process etcd with its data in dir, listening on
// free loopback ports. The returned stop function is never nil.
func startEtcd(ctx context.Context, dir, logFile string) (endpoint string, stop func(), err error) {
	stop = func() {}
	cfg := embed.NewConfig()
	cfg.Name = "gameday"
	cfg.Dir = filepath.Join(dir, "etcd")
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{logFile}
	// etcd's own zap config, with fatal logs that do not exit (fatal.go).
	zc := logutil.DefaultZapLoggerConfig
	zc.OutputPaths, zc.ErrorOutputPaths = []string{logFile}, []string{logFile}
	zc.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	lg, err := zc.Build(zap.WithFatalHook(zapFatal{}))
	if err != nil {
		return "", stop, fmt.Errorf("etcd logger: %w", err)
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)
	cfg.UnsafeNoFsync = true // throwaway data: speed over durability
	cfg.QuotaBackendBytes = 1 << 30
	// A single member elects itself after one election timeout; keep it
	// short so start-up is not spent waiting.
	cfg.TickMs = 10
	cfg.ElectionMs = 100
	clientPort, err := loopback.FreePort()
	if err != nil {
		return "", stop, err
	}
	peerPort, err := loopback.FreePort()
	if err != nil {
		return "", stop, err
	}
	client := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	peer := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.ListenMetricsUrls = nil
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", stop, fmt.Errorf("start etcd: %w", err)
	}
	stop = func() {
		e.Close()
		<-e.Server.StopNotify()
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		return "", stop, fmt.Errorf("etcd: %w", err)
	case <-time.After(30 * time.Second):
		return "", stop, fmt.Errorf("etcd not ready after 30s")
	case <-ctx.Done():
		return "", stop, ctx.Err()
	}
	return client.String(), stop, nil
}
