// Package ecr serves a real OCI registry (go-containerregistry's
// pkg/registry) under an account's ECR host name and authorises every pull
// by the identity of the node that pulls: node → node group → IAM role →
// "may this role pull from this repository?".
//
// A role that cannot get an ECR authorization token gets what ECR gives a
// client without credentials, a 401 with a Basic challenge; a role that
// has a token but not ecr:BatchGetImage gets a 403; a missing tag is the
// registry's own MANIFEST_UNKNOWN. The node-side Puller turns these into
// containerd's error texts.
package ecr

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Decision is an authorisation outcome for a pull.
type Decision int

const (
	// Allowed: the role may pull.
	Allowed Decision = iota
	// NoCredentials: the role cannot get an authorization token, so the
	// node pulls without credentials.
	NoCredentials
	// Forbidden: the role has a token but may not read the repository.
	Forbidden
)

// String names the decision.
func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allowed"
	case NoCredentials:
		return "no credentials"
	default:
		return "forbidden"
	}
}

// Verdict is a decision with the principal and the reason, for messages.
type Verdict struct {
	Decision Decision
	// Principal is the assumed-role ARN the decision is about.
	Principal string
	// Reason is the emulator's or the evaluator's explanation.
	Reason string
}

// Authorizer decides whether a node may pull from a repository.
type Authorizer interface {
	Authorize(ctx context.Context, node, repository string) (Verdict, error)
}

// NodeHeader carries the pulling node's name from in-process pullers.
// Backends whose nodes pull over the network identify them by source
// address instead (see WithIdentity).
const NodeHeader = "X-Gameday-Node"

// Server is a running registry.
type Server struct {
	// Host is the ECR host name images are referenced by.
	Host string
	// URL is where the registry listens (http://127.0.0.1:port).
	URL string

	pushUser, pushPassword string
	srv                    *http.Server
	ln                     net.Listener
}

type serverOptions struct {
	addr     string
	identity func(*http.Request) string
	cacheTTL time.Duration
	log      *slog.Logger
}

// Option configures Start.
type Option func(*serverOptions) error

// WithAddr sets the listen address. Default 127.0.0.1:0.
func WithAddr(addr string) Option {
	return func(o *serverOptions) error { o.addr = addr; return nil }
}

// WithIdentity sets how a request's node is identified. Default: the
// NodeHeader header.
func WithIdentity(f func(*http.Request) string) Option {
	return func(o *serverOptions) error { o.identity = f; return nil }
}

// WithDecisionTTL sets how long an allowed pull is cached, like the
// kubelet's credential-provider cache but short, so that a detached policy
// takes effect within seconds. Denials are never cached: as on EKS, a node
// without credentials asks again at every pull, so a fixed role pulls at
// the next attempt. Default 2s; at most 5s.
func WithDecisionTTL(d time.Duration) Option {
	return func(o *serverOptions) error {
		if d < 0 || d > 5*time.Second {
			return fmt.Errorf("decision TTL %s out of range 0..5s", d)
		}
		o.cacheTTL = d
		return nil
	}
}

// WithLogger sets the logger. Default discards.
func WithLogger(l *slog.Logger) Option {
	return func(o *serverOptions) error { o.log = l; return nil }
}

// Start serves a registry for host. Pushes need the credentials Pusher
// returns; pulls are authorised by authz. The returned stop function is
// never nil.
func Start(ctx context.Context, host string, authz Authorizer, opts ...Option) (*Server, func(context.Context) error, error) {
	stop := func(context.Context) error { return nil }
	o := serverOptions{
		addr:     "127.0.0.1:0",
		identity: func(r *http.Request) string { return r.Header.Get(NodeHeader) },
		cacheTTL: 2 * time.Second,
		log:      slog.New(slog.DiscardHandler),
	}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, stop, err
		}
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return nil, stop, fmt.Errorf("start registry: %w", err)
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	s := &Server{Host: host, URL: "http://" + ln.Addr().String(), pushUser: "gameday", pushPassword: hex.EncodeToString(secret), ln: ln}
	gate := &gate{
		next:     registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		host:     host,
		authz:    authz,
		identity: o.identity,
		ttl:      o.cacheTTL,
		cache:    map[string]cached{},
		server:   s,
		log:      o.log,
	}
	s.srv = &http.Server{Handler: gate, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	stop = func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			// A client that keeps a connection busy (a pull the run's end
			// cut short) must not make stopping fail: close it.
			o.log.Debug("registry connections still busy; closing them", "err", err)
			return s.srv.Close()
		}
		return nil
	}
	return s, stop, nil
}

// Pusher returns the user and password that may push to the registry.
func (s *Server) Pusher() (user, password string) { return s.pushUser, s.pushPassword }

// gate authorises requests in front of the registry.
type gate struct {
	next     http.Handler
	host     string
	authz    Authorizer
	identity func(*http.Request) string
	ttl      time.Duration
	server   *Server
	log      *slog.Logger

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	v  Verdict
	at time.Time
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.isPusher(r) {
		g.next.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(w, http.StatusForbidden, "DENIED", "pushes are reserved to gameday")
		return
	}
	repo, ok := repository(r.URL.Path)
	if !ok {
		// /v2/ and catalogue: ECR answers an anonymous ping with a Basic
		// challenge.
		g.challenge(w)
		return
	}
	node := g.identity(r)
	if node == "" {
		g.challenge(w)
		return
	}
	v, err := g.decide(r.Context(), node, repo)
	if err != nil {
		g.log.Warn("registry authorisation failed", "node", node, "repository", repo, "err", err)
		writeError(w, http.StatusInternalServerError, "UNKNOWN", "authorisation failed: "+err.Error())
		return
	}
	switch v.Decision {
	case NoCredentials:
		g.challenge(w)
	case Forbidden:
		writeError(w, http.StatusForbidden, "DENIED", v.Reason)
	default:
		g.next.ServeHTTP(w, r)
	}
}

func (g *gate) isPusher(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == g.server.pushUser && subtle.ConstantTimeCompare([]byte(p), []byte(g.server.pushPassword)) == 1
}

func (g *gate) challenge(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm="https://%s/",service="ecr.amazonaws.com"`, g.host))
	writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "Not Authorized")
}

func (g *gate) decide(ctx context.Context, node, repo string) (Verdict, error) {
	key := node + "\x00" + repo
	g.mu.Lock()
	c, ok := g.cache[key]
	g.mu.Unlock()
	if ok && time.Since(c.at) < g.ttl {
		return c.v, nil
	}
	v, err := g.authz.Authorize(ctx, node, repo)
	if err != nil {
		return Verdict{}, err
	}
	if v.Decision == Allowed {
		g.mu.Lock()
		g.cache[key] = cached{v: v, at: time.Now()}
		g.mu.Unlock()
	}
	g.log.Debug("pull decision", "node", node, "repository", repo, "decision", v.Decision.String(), "principal", v.Principal)
	return v, nil
}

// repository extracts the repository from /v2/<repo>/(manifests|blobs)/...
func repository(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return "", false
	}
	for _, kind := range []string{"/manifests/", "/blobs/", "/tags/"} {
		if i := strings.LastIndex(rest, kind); i > 0 {
			return rest[:i], true
		}
	}
	return "", false
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{"code": code, "message": msg}}})
}
