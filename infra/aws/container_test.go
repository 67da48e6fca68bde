package aws

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/testcontainers/testcontainers-go"

	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/testkit/dockertest"
)

// request applies customizers to an empty request, as testcontainers-go
// does, so their effect can be checked without Docker.
func request(t *testing.T, opts []testcontainers.ContainerCustomizer) testcontainers.GenericContainerRequest {
	t.Helper()
	var req testcontainers.GenericContainerRequest
	for _, o := range opts {
		if err := o.Customize(&req); err != nil {
			t.Fatal(err)
		}
	}
	return req
}

func TestMotoContainerOptions(t *testing.T) {
	req := request(t, motoContainerOptions("111122223333", "run-1"))
	if got := req.Env["MOTO_IAM_LOAD_MANAGED_POLICIES"]; got != "true" {
		t.Errorf("MOTO_IAM_LOAD_MANAGED_POLICIES = %q", got)
	}
	if got := req.Env["MOTO_ACCOUNT_ID"]; got != "111122223333" {
		t.Errorf("MOTO_ACCOUNT_ID = %q", got)
	}
	if req.Labels[eks.RunIDLabel] != "run-1" {
		t.Errorf("labels %v lack the run id", req.Labels)
	}
	if len(req.ExposedPorts) != 1 || req.ExposedPorts[0] != "5000/tcp" {
		t.Errorf("exposed ports %v", req.ExposedPorts)
	}
	if req.WaitingFor == nil {
		t.Error("no wait strategy")
	}
}

func TestLocalStackOptions(t *testing.T) {
	t.Setenv("LOCALSTACK_AUTH_TOKEN", "")
	req := request(t, localStackOptions("run-2"))
	if _, ok := req.Env["LOCALSTACK_AUTH_TOKEN"]; ok {
		t.Error("empty token passed through")
	}
	if req.Labels[eks.RunIDLabel] != "run-2" {
		t.Errorf("labels %v", req.Labels)
	}
	t.Setenv("LOCALSTACK_AUTH_TOKEN", "ls-token")
	if got := request(t, localStackOptions("run-2")).Env["LOCALSTACK_AUTH_TOKEN"]; got != "ls-token" {
		t.Errorf("token not passed through: %q", got)
	}
}

func TestImageOverrides(t *testing.T) {
	t.Setenv("GAMEDAY_MOTO_IMAGE", "")
	if got := imageFrom("GAMEDAY_MOTO_IMAGE", MotoImage); got != MotoImage {
		t.Errorf("default image %q", got)
	}
	t.Setenv("GAMEDAY_MOTO_IMAGE", "mirror.local/moto:5.1.0")
	if got := imageFrom("GAMEDAY_MOTO_IMAGE", MotoImage); got != "mirror.local/moto:5.1.0" {
		t.Errorf("override ignored: %q", got)
	}
	if !strings.Contains(LocalStackImage, ":4.") || strings.HasSuffix(LocalStackImage, ":latest") {
		t.Errorf("LocalStack image %q must be a pinned free tag", LocalStackImage)
	}
}

func TestStartContainersWithoutDockerFailFast(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
	for name, start := range map[string]func(context.Context, string, ...MotoOption) (*Emulator, func(context.Context) error, error){
		"moto container": StartMotoContainer, "localstack": StartLocalStack,
	} {
		t.Run(name, func(t *testing.T) {
			_, stop, err := start(context.Background(), "run")
			defer stop(context.Background())
			if err == nil || !strings.Contains(err.Error(), "no Docker engine answers") || !strings.Contains(err.Error(), "moto_server") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestIntegrationDockerMoto(t *testing.T) {
	dockertest.RequireImages(t, "", ContainerImages(KindMotoContainer)...)
	ctx := context.Background()
	emu, stop, err := StartMotoContainer(ctx, "docker-test")
	defer func() {
		if err := stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iam.NewFromConfig(emu.Config(emu.Operator)).ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Errorf("operator rejected: %v", err)
	}
	if _, err := iam.NewFromConfig(emu.Config(Credentials{AccessKeyID: "test", SecretAccessKey: "test"})).ListRoles(ctx, &iam.ListRolesInput{}); err == nil {
		t.Error("test keys accepted with enforcement on")
	}
}

func TestIntegrationDockerLocalStack(t *testing.T) {
	// LocalStack's free images cannot be built here, and newer ones need
	// an auth token: the skip names the image to load.
	dockertest.RequireImages(t, "", ContainerImages(KindLocalStack)...)
	ctx := context.Background()
	emu, stop, err := StartLocalStack(ctx, "docker-test")
	defer func() {
		if err := stop(context.Background()); err != nil {
			t.Errorf("stop: %v", err)
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	if emu.EnforcesIAM {
		t.Error("LocalStack free tier reported as enforcing IAM")
	}
	if _, err := iam.NewFromConfig(emu.Config(emu.Operator)).ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Errorf("operator rejected: %v", err)
	}
}

func TestStartExplainsMissingEmulator(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
	tests := []struct {
		name, kind, want string
	}{
		{"auto without moto or Docker", KindAuto, `no AWS emulator: no-such-moto is not on PATH and no Docker engine answers; install moto: pipx install "moto[server]" (or: pip install "moto[server]")`},
		{"moto without the binary", KindMoto, `no-such-moto not found on PATH; install moto: pipx install "moto[server]"`},
		{"unknown kind", "floci", `unknown AWS emulator "floci"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stop, err := Start(context.Background(), tt.kind, "run", WithMotoBinary("no-such-moto"))
			defer stop(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestContainerImages(t *testing.T) {
	none := func(string) bool { return false }
	upstream := func(ref string) bool { return ref == MotoImage }
	tests := []struct {
		name, kind, override string
		has                  func(string) bool
		want                 []string
	}{
		{"moto: upstream's image when the engine has it", KindMotoContainer, "", upstream, []string{MotoImage}},
		{"moto: else gameday's offline image", KindMotoContainer, "", none, []string{BuiltMotoImage}},
		{"moto: a mirror named by the user", KindMotoContainer, "mirror.local/moto:5.1.0", upstream, []string{"mirror.local/moto:5.1.0"}},
		{"localstack", KindLocalStack, "", none, []string{LocalStackImage}},
		{"moto process: none", KindMoto, "", none, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GAMEDAY_MOTO_IMAGE", tt.override)
			if got := containerImages(tt.kind, tt.has); !slices.Equal(got, tt.want) {
				t.Errorf("containerImages(%s) = %q, want %q", tt.kind, got, tt.want)
			}
		})
	}
}
