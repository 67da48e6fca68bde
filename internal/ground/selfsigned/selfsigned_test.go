package selfsigned

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCertServesTheHostItNames(t *testing.T) {
	tests := []struct {
		name    string
		host    string // in the certificate
		dial    string // the name the client checks
		wantErr bool
	}{
		{name: "an IP address", host: "127.0.0.1", dial: "127.0.0.1"},
		{name: "a DNS name", host: "webhook.local", dial: "webhook.local"},
		{name: "another name", host: "127.0.0.1", dial: "localhost", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, caPEM, err := Cert(tt.host)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
			srv.StartTLS()
			defer srv.Close()
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(caPEM) {
				t.Fatal("the PEM holds no certificate")
			}
			_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
			client := &http.Client{Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: tt.dial},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
				},
			}}
			resp, err := client.Get("https://" + net.JoinHostPort(tt.dial, port))
			if err == nil {
				resp.Body.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("GET: %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
