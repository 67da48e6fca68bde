package dockerhost

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// fakeEngine serves the few Docker Engine API calls gameday makes, on a
// unix socket, and records what was asked.
type fakeEngine struct {
	mu      sync.Mutex
	removed []string
	queries []string
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", "1.47")
	path := r.URL.Path
	if i := strings.Index(path[1:], "/"); strings.HasPrefix(path, "/v1.") && i > 0 {
		path = path[i+1:]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case path == "/_ping":
		w.Write([]byte("OK"))
	case path == "/containers/json" && r.Method == http.MethodGet:
		f.queries = append(f.queries, r.URL.Query().Get("filters"))
		json.NewEncoder(w).Encode([]map[string]any{{
			"Id": "abc123", "Names": []string{"/gameday-moto-1"}, "Image": "motoserver/moto:5.1.0",
			"State": "exited", "Labels": map[string]string{"gameday.dev/run-id": "r1"},
		}})
	case strings.HasPrefix(path, "/containers/") && r.Method == http.MethodDelete:
		if r.URL.Query().Get("force") != "1" {
			http.Error(w, "not forced", http.StatusConflict)
			return
		}
		f.removed = append(f.removed, strings.TrimPrefix(path, "/containers/"))
		w.WriteHeader(http.StatusNoContent)
	case path == "/images/busybox:1.36.1/json":
		json.NewEncoder(w).Encode(map[string]any{"Id": "sha256:ab", "RepoTags": []string{"busybox:1.36.1"}})
	case path == "/images/broken:1/json":
		http.Error(w, `{"message":"storage driver failed"}`, http.StatusInternalServerError)
	case path == "/networks/kind":
		json.NewEncoder(w).Encode(map[string]any{"Name": "kind", "IPAM": map[string]any{"Config": []map[string]string{
			{"Subnet": "fc00:f853:ccd:e793::/64", "Gateway": "fc00:f853:ccd:e793::1"},
			{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"},
		}}})
	case path == "/networks/bridge6":
		json.NewEncoder(w).Encode(map[string]any{"Name": "bridge6", "IPAM": map[string]any{"Config": []map[string]string{
			{"Subnet": "fc00::/64", "Gateway": "fc00::1"},
		}}})
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"message": "no such object: " + path})
	}
}

func serveFake(t *testing.T) *fakeEngine {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeEngine{}
	srv := &http.Server{Handler: f}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	return f
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		host  func(t *testing.T) string
		want  string // substring of the error; "" for success
		infra bool
	}{
		{"no engine", func(t *testing.T) string { return "unix://" + filepath.Join(t.TempDir(), "none.sock") }, "no Docker engine answers at unix://", true},
		{"bad scheme", func(*testing.T) string { return "ssh://host" }, "unsupported scheme", true},
		{"engine answers", func(t *testing.T) string { serveFake(t); return "" }, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h := tt.host(t); h != "" {
				t.Setenv("DOCKER_HOST", h)
			}
			err := Check(context.Background())
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if tt.infra && errkind.Of(err) != errkind.Infra {
				t.Errorf("kind = %v, want Infra", errkind.Of(err))
			}
		})
	}
}

func TestEngine(t *testing.T) {
	f := serveFake(t)
	e, err := Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()

	cs, err := e.Labelled(ctx, "gameday.dev/run-id")
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Name != "gameday-moto-1" || cs[0].Labels["gameday.dev/run-id"] != "r1" || cs[0].State != "exited" {
		t.Errorf("containers = %+v", cs)
	}
	if len(f.queries) != 1 || !strings.Contains(f.queries[0], `"gameday.dev/run-id":true`) {
		t.Errorf("label filter sent = %q", f.queries)
	}
	if err := e.Remove(ctx, "abc123"); err != nil {
		t.Fatal(err)
	}
	if len(f.removed) != 1 || f.removed[0] != "abc123" {
		t.Errorf("removed = %q", f.removed)
	}

	gw, err := e.Gateway(ctx, "kind")
	if err != nil || gw.String() != "172.18.0.1" {
		t.Errorf("gateway = %v, %v; want 172.18.0.1 (the IPv4 one)", gw, err)
	}
	if _, err := e.Gateway(ctx, "bridge6"); err == nil || !strings.Contains(err.Error(), "no IPv4 gateway") {
		t.Errorf("IPv6-only network: err = %v", err)
	}
	if _, err := e.Gateway(ctx, "missing"); err == nil || !strings.Contains(err.Error(), "inspect network missing") {
		t.Errorf("missing network: err = %v", err)
	}
}

func TestMissing(t *testing.T) {
	serveFake(t)
	e, err := Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	tests := []struct {
		name    string
		refs    []string
		want    []string
		wantErr string
	}{
		{"all present", []string{"busybox:1.36.1"}, nil, ""},
		{"absent ones in order", []string{"kindest/node:v1.37.0", "busybox:1.36.1", "motoserver/moto:5.1.0"}, []string{"kindest/node:v1.37.0", "motoserver/moto:5.1.0"}, ""},
		{"engine error is not absence", []string{"broken:1"}, nil, "inspect image broken:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Missing(ctx, tt.refs...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Missing = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDrain(t *testing.T) {
	for _, tc := range []struct {
		name, stream, err string
	}{
		{"progress to the end", `{"status":"Pulling from library/redis"}` + "\n" + `{"status":"Downloaded newer image"}` + "\n", ""},
		{"nothing said", "", ""},
		{"an error part way", `{"status":"Pulling"}` + "\n" + `{"errorDetail":{"message":"no space left"},"error":"no space left"}` + "\n",
			"pull image redis: no space left"},
		{"an answer that is not JSON", "<html>", "pull image redis: read the engine's answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := drain(strings.NewReader(tc.stream), "pull image redis")
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
		})
	}
}
