package embedded

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"testing"
)

// TestEtcdPicksAgainWhenItsPortIsTaken has the first pick of etcd's
// ports return one another listener holds, as happens when another
// game's process takes a port between its pick and etcd's bind: etcd
// starts on the next pick.
func TestEtcdPicksAgainWhenItsPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	picks := 0
	pickEtcdURLs = func() (url.URL, url.URL, error) {
		picks++
		client, peer, err := etcdURLs()
		if picks == 1 {
			client.Host = taken.Addr().String()
		}
		return client, peer, err
	}
	defer func() { pickEtcdURLs = etcdURLs }()
	dir := t.TempDir()
	endpoint, stop, err := startEtcd(context.Background(), dir, filepath.Join(dir, "etcd.log"))
	defer stop()
	if err != nil {
		t.Fatalf("start etcd: %v (after %d picks)", err, picks)
	}
	if picks != 2 || endpoint == "http://"+taken.Addr().String() {
		t.Errorf("etcd at %s after %d picks; want the second pick's port", endpoint, picks)
	}
}
