package ecr

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const host = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

// fakeAuthz decides by node name and counts calls.
type fakeAuthz struct {
	decisions map[string]Decision
	calls     atomic.Int32
}

func (f *fakeAuthz) Authorize(_ context.Context, node, repo string) (Verdict, error) {
	f.calls.Add(1)
	return Verdict{Decision: f.decisions[node], Principal: "arn:aws:sts::123456789012:assumed-role/r/" + node, Reason: "User: x is not authorized to perform: ecr:BatchGetImage"}, nil
}

func startRegistry(t *testing.T, authz Authorizer, opts ...Option) *Server {
	t.Helper()
	ctx := context.Background()
	s, stop, err := Start(ctx, host, authz, opts...)
	t.Cleanup(func() {
		if err := stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := BuildImage("shop/checkout", "1.9.0", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Push(ctx, "shop/checkout", "1.9.0", img); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBuildImageIsDeterministic(t *testing.T) {
	a, err := BuildImage("shop/checkout", "1.9.0", 3)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := BuildImage("shop/checkout", "1.9.0", 3)
	c, _ := BuildImage("shop/checkout", "1.9.1", 3)
	da, _ := a.Digest()
	db, _ := b.Digest()
	dc, _ := c.Digest()
	if da != db {
		t.Errorf("same input, different digests: %s %s", da, db)
	}
	if da == dc {
		t.Error("different tags, same digest")
	}
	layers, _ := a.Layers()
	if len(layers) != 3 {
		t.Errorf("%d layers, want 3", len(layers))
	}
	cfg, _ := a.ConfigFile()
	if cfg.OS != "linux" || cfg.Architecture != "amd64" || cfg.Config.Entrypoint[0] != "/app/checkout" {
		t.Errorf("config %+v", cfg.Config)
	}
}

func TestPullerSpeaksContainerd(t *testing.T) {
	authz := &fakeAuthz{decisions: map[string]Decision{"good": Allowed, "nocreds": NoCredentials, "noread": Forbidden}}
	s := startRegistry(t, authz)
	p := &Puller{Server: s}
	ref := host + "/shop/checkout:1.9.0"
	tests := []struct {
		name, node, image string
		wantErr           string
	}{
		{"allowed pull", "good", ref, ""},
		{"no credentials", "nocreds", ref, `failed to pull and unpack image "` + ref + `": failed to resolve reference "` + ref + `": pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`},
		{"token but no read", "noread", ref, `failed to pull and unpack image "` + ref + `": failed to resolve reference "` + ref + `": unexpected status from HEAD request to https://` + host + `/v2/shop/checkout/manifests/1.9.0: 403 Forbidden`},
		{"wrong tag", "good", host + "/shop/checkout:1.9.9", `failed to pull and unpack image "` + host + `/shop/checkout:1.9.9": failed to resolve reference "` + host + `/shop/checkout:1.9.9": ` + host + `/shop/checkout:1.9.9: not found`},
		{"public image", "nocreds", "docker.io/library/redis:7.2-alpine", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size, err := p.Pull(context.Background(), tt.node, tt.image)
			if tt.wantErr == "" {
				if err != nil || size == 0 {
					t.Fatalf("Pull = %d, %v; want success", size, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error:\n got %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

func TestRegistryGate(t *testing.T) {
	authz := &fakeAuthz{decisions: map[string]Decision{"good": Allowed, "nocreds": NoCredentials}}
	s := startRegistry(t, authz, WithDecisionTTL(time.Second))
	get := func(path, node string, method string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, s.URL+path, nil)
		if node != "" {
			req.Header.Set(NodeHeader, node)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	tests := []struct {
		name, method, path, node string
		want                     int
		challenge                bool
	}{
		{"anonymous ping is challenged", "GET", "/v2/", "", 401, true},
		{"anonymous manifest is challenged", "GET", "/v2/shop/checkout/manifests/1.9.0", "", 401, true},
		{"node without credentials is challenged", "HEAD", "/v2/shop/checkout/manifests/1.9.0", "nocreds", 401, true},
		{"allowed node gets the manifest", "HEAD", "/v2/shop/checkout/manifests/1.9.0", "good", 200, false},
		{"missing tag is not found", "GET", "/v2/shop/checkout/manifests/nope", "good", 404, false},
		{"nodes cannot push", "PUT", "/v2/shop/checkout/manifests/evil", "good", 403, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(tt.path, tt.node, tt.method)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
			ch := resp.Header.Get("WWW-Authenticate")
			if tt.challenge != strings.HasPrefix(ch, `Basic realm="https://`+host+`/"`) {
				t.Errorf("WWW-Authenticate %q", ch)
			}
		})
	}
	// Denials are not cached.
	before := authz.calls.Load()
	get("/v2/shop/checkout/manifests/1.9.0", "nocreds", "HEAD")
	get("/v2/shop/checkout/manifests/1.9.0", "nocreds", "HEAD")
	if authz.calls.Load() != before+2 {
		t.Error("a denial was cached")
	}
	// Allowed pulls are cached for the TTL, then asked again.
	get("/v2/shop/checkout/manifests/1.9.0", "good", "HEAD")
	before = authz.calls.Load()
	get("/v2/shop/checkout/manifests/1.9.0", "good", "HEAD")
	if authz.calls.Load() != before {
		t.Error("decision not cached")
	}
	time.Sleep(1100 * time.Millisecond)
	get("/v2/shop/checkout/manifests/1.9.0", "good", "HEAD")
	if authz.calls.Load() != before+1 {
		t.Error("decision not renewed after the TTL")
	}
}

func TestRepositoryFromPath(t *testing.T) {
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"/v2/shop/checkout/manifests/1.9.0", "shop/checkout", true},
		{"/v2/app/blobs/sha256:abc", "app", true},
		{"/v2/a/b/c/tags/list", "a/b/c", true},
		{"/v2/", "", false},
		{"/other", "", false},
	}
	for _, tt := range tests {
		got, ok := repository(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("repository(%q) = %q, %v", tt.path, got, ok)
		}
	}
}
