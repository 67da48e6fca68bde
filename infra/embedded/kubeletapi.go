package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// KubeletPort is the port every node's kubelet API reports, as on EKS.
const KubeletPort = 10250

// kubeletRouter is the API server's egress to the cluster (its
// "cluster" egress selection): an HTTP CONNECT proxy on a unix socket.
// A hollow node's kubelet API listens on a loopback port of its own; the
// router sends "<node name or address>:10250" there, so that `kubectl
// logs`, exec and port-forward reach the right kubelet with no DNS and
// no host address. Other loopback destinations are dialled directly;
// anything else is refused, as node and pod addresses are simulated.
type kubeletRouter struct {
	sock string
	ln   net.Listener
	srv  *http.Server

	mu      sync.Mutex
	routes  map[string]string // "host:port" → the kubelet server's address
	refused map[string]bool   // "host:port" of stopped kubelets
}

// egressConfig is the API server's EgressSelectorConfiguration sending
// cluster traffic through the router at sock.
const egressConfig = `apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %s
`

// startKubeletRouter listens on a unix socket in dir and writes the
// egress configuration there; it returns the configuration's path.
func startKubeletRouter(dir string) (*kubeletRouter, string, error) {
	r := &kubeletRouter{sock: filepath.Join(dir, "kubelets.sock"), routes: map[string]string{}, refused: map[string]bool{}}
	ln, err := net.Listen("unix", r.sock)
	if err != nil {
		return nil, "", fmt.Errorf("kubelet router: %w", err)
	}
	r.ln = ln
	cfg := filepath.Join(dir, "egress-selector.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(egressConfig, r.sock)), 0o600); err != nil {
		ln.Close()
		return nil, "", fmt.Errorf("kubelet router: %w", err)
	}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, ErrorLog: serverLog("kubelet router")}
	go func() { _ = r.srv.Serve(ln) }()
	return r, cfg, nil
}

// add routes host:KubeletPort, for each host, to addr.
func (r *kubeletRouter) add(addr string, hosts ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range hosts {
		r.routes[net.JoinHostPort(h, strconv.Itoa(KubeletPort))] = addr
	}
}

// route sends dest (host:port) to addr.
func (r *kubeletRouter) route(dest, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes[dest] = addr
}

// setRefused makes connections to the kubelet port of hosts fail as to
// a stopped kubelet, or routes them again.
func (r *kubeletRouter) setRefused(refused bool, hosts ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range hosts {
		dest := net.JoinHostPort(h, strconv.Itoa(KubeletPort))
		if refused {
			r.refused[dest] = true
		} else {
			delete(r.refused, dest)
		}
	}
}

// refuse answers a CONNECT with 502 and why in the status line, where
// the API server's egress dialer reads it; the default status text
// otherwise.
func refuse(w http.ResponseWriter, why string) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, why, http.StatusBadGateway)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", http.StatusBadGateway, why)
	_ = buf.Flush()
}

// remove drops the routes of hosts.
func (r *kubeletRouter) remove(hosts ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, h := range hosts {
		delete(r.routes, net.JoinHostPort(h, strconv.Itoa(KubeletPort)))
	}
}

// ServeHTTP tunnels a CONNECT request to its destination.
func (r *kubeletRouter) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodConnect {
		http.Error(w, "only CONNECT", http.StatusMethodNotAllowed)
		return
	}
	dest := req.Host
	r.mu.Lock()
	to, routed := r.routes[dest]
	refused := r.refused[dest]
	r.mu.Unlock()
	switch {
	case refused:
		// The API server reports a failed CONNECT by its status line:
		// say what a real dial to a stopped kubelet says.
		refuse(w, fmt.Sprintf("dial tcp %s: connect: connection refused", req.Host))
		return
	case routed:
		dest = to
	case !onLoopback(dest):
		// Node and pod addresses are simulated: nothing leaves this
		// machine.
		http.Error(w, fmt.Sprintf("no route to %s in the embedded cluster", req.Host), http.StatusBadGateway)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	up, err := d.DialContext(ctx, "tcp", dest)
	if err != nil {
		http.Error(w, fmt.Sprintf("dial %s: %v", req.Host, err), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		up.Close()
		down.Close()
		return
	}
	go splice(up, down, buf.Reader)
}

// onLoopback says whether host:port is on this machine's loopback.
func onLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// splice copies both ways until either side ends, then closes both.
func splice(up, down net.Conn, pending io.Reader) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, io.MultiReader(pending, down)); done <- struct{}{} }()
	go func() { _, _ = io.Copy(down, up); done <- struct{}{} }()
	<-done
	up.Close()
	down.Close()
	<-done
}

// close stops the router and its tunnels' listener.
func (r *kubeletRouter) close() error {
	err := r.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	_ = os.Remove(r.sock)
	return err
}
