package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/logutil"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/gameday-sre/gameday/internal/ground/loopback"
)

// pickEtcdURLs picks etcd's URLs (a test may pick a taken port first).
var pickEtcdURLs = etcdURLs

// etcdURLs are a client and a peer URL on free loopback ports.
func etcdURLs() (client, peer url.URL, err error) {
	clientPort, err := loopback.FreePort()
	if err != nil {
		return client, peer, err
	}
	peerPort, err := loopback.FreePort()
	if err != nil {
		return client, peer, err
	}
	client = url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	peer = url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	return client, peer, nil
}

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
	// The free ports are released before etcd binds them, and the
	// processes of other games pick ports too: when one was taken in
	// between, pick again (etcd binds before it writes any data).
	var e *embed.Etcd
	var client url.URL
	for attempt := 1; ; attempt++ {
		var peer url.URL
		if client, peer, err = pickEtcdURLs(); err != nil {
			return "", stop, err
		}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.ListenMetricsUrls = nil
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		e, err = embed.StartEtcd(cfg)
		if err == nil {
			break
		}
		if attempt == 3 || !errors.Is(err, syscall.EADDRINUSE) {
			return "", stop, fmt.Errorf("start etcd: %w", err)
		}
		if rerr := os.RemoveAll(cfg.Dir); rerr != nil {
			return "", stop, fmt.Errorf("start etcd: %w", errors.Join(err, rerr))
		}
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
