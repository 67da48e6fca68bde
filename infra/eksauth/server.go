package eksauth

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/gameday-sre/gameday/internal/ground/selfsigned"
)

// Paths the Server answers on.
const (
	// AuthenticatePath takes TokenReviews.
	AuthenticatePath = "/authenticate"
	// AuthorizePath takes SubjectAccessReviews.
	AuthorizePath = "/authorize"
)

// Server serves the token and authorization webhooks over TLS, as EKS's
// authenticator does, with a certificate of its own. It can start before
// the cluster and the AWS plane it answers for exist: until Use, every
// token is refused and no request authorised.
type Server struct {
	// URL is the server's base URL (https://HOST:PORT).
	URL string
	// CAPEM is the certificate the API server must trust.
	CAPEM []byte

	srv      *http.Server
	handlers atomic.Pointer[handlers]
}

type handlers struct {
	authn *Webhook
	authz *Authorizer
}

// Listen serves on addr (host:port; port 0 picks one). host is put in
// the certificate, so it must be the address the API server dials.
func Listen(addr string) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("webhook address: %w", err)
	}
	cert, certPEM, err := selfsigned.Cert(host)
	if err != nil {
		return nil, fmt.Errorf("webhook certificate: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webhook listen: %w", err)
	}
	s := &Server{URL: "https://" + ln.Addr().String(), CAPEM: certPEM}
	mux := http.NewServeMux()
	mux.HandleFunc(AuthenticatePath, s.authenticate)
	mux.HandleFunc(AuthorizePath, s.authorize)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		_ = s.srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}()
	return s, nil
}

// Use starts answering with authn and authz.
func (s *Server) Use(authn *Webhook, authz *Authorizer) {
	s.handlers.Store(&handlers{authn: authn, authz: authz})
}

// Close stops serving.
func (s *Server) Close(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) {
	if h := s.handlers.Load(); h != nil {
		h.authn.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusForbidden)
	_ = json.NewEncoder(w).Encode(authnv1.TokenReview{TypeMeta: metav1.TypeMeta{APIVersion: authnv1.SchemeGroupVersion.String(), Kind: "TokenReview"}})
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	if h := s.handlers.Load(); h != nil {
		h.authz.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(authzv1.SubjectAccessReview{TypeMeta: metav1.TypeMeta{APIVersion: authzv1.SchemeGroupVersion.String(), Kind: "SubjectAccessReview"}})
}

// WriteConfig writes the kubeconfig-format file the API server's
// --authentication-token-webhook-config-file (path AuthenticatePath) or
// --authorization-webhook-config-file (AuthorizePath) names.
func (s *Server) WriteConfig(file, path string) error {
	if path != AuthenticatePath && path != AuthorizePath {
		return errors.New("webhook config: unknown path " + path)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["eks-webhook"] = &clientcmdapi.Cluster{Server: s.URL + path, CertificateAuthorityData: s.CAPEM}
	cfg.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["webhook"] = &clientcmdapi.Context{Cluster: "eks-webhook", AuthInfo: "kube-apiserver"}
	cfg.CurrentContext = "webhook"
	return clientcmd.WriteToFile(*cfg, file)
}
