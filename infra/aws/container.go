package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/localstack"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/gameday-sre/gameday/internal/errkind"
)

// Pinned emulator images. LocalStack's images from 2026-03-23 on need
// LOCALSTACK_AUTH_TOKEN; 4.14.0 is the newest tag that starts without
// one. Override either with GAMEDAY_MOTO_IMAGE / GAMEDAY_LOCALSTACK_IMAGE,
// for example to use a mirror in an air-gapped network.
const (
	MotoImage       = "motoserver/moto:5.1.0"
	LocalStackImage = "localstack/localstack:4.14.0"
)

// RunIDLabel labels every container gameday starts with its run.
const RunIDLabel = "gameday.dev/run-id"

// DockerHost returns the Docker engine address gameday would use:
// $DOCKER_HOST, else the first socket that exists among the usual rootful
// and rootless locations, else the rootful default.
func DockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	candidates := []string{"/var/run/docker.sock"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "docker.sock"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".docker", "run", "docker.sock"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return "unix://" + c
		}
	}
	return "unix:///var/run/docker.sock"
}

// CheckDocker reports whether a Docker engine answers, in two seconds at
// most. Call it before testcontainers-go: some of its versions panic when
// no engine is there. The error says what to use instead.
func CheckDocker(ctx context.Context) error {
	host := DockerHost()
	u, err := url.Parse(host)
	if err != nil {
		return errkind.Errorf(errkind.Infra, "DOCKER_HOST %q: %v", host, err)
	}
	tr := &http.Transport{}
	base := ""
	switch u.Scheme {
	case "unix":
		path := u.Path
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}
		base = "http://docker"
	case "tcp", "http":
		base = "http://" + u.Host
	default:
		return errkind.Errorf(errkind.Infra, "DOCKER_HOST %q: unsupported scheme (want unix:// or tcp://)", host)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/_ping", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return errkind.Errorf(errkind.Infra, "no Docker engine answers at %s (%v); use the default AWS emulator, moto_server (%s)", host, shortErr(err), InstallHint)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errkind.Errorf(errkind.Infra, "the Docker engine at %s answered %s to a ping; use the default AWS emulator, moto_server (%s)", host, resp.Status, InstallHint)
	}
	return nil
}

func shortErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// imageFrom returns the override in env, or def.
func imageFrom(env, def string) string {
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// motoContainerOptions are the testcontainers-go options for moto in
// Docker.
func motoContainerOptions(account, runID string) []testcontainers.ContainerCustomizer {
	return []testcontainers.ContainerCustomizer{
		testcontainers.WithExposedPorts("5000/tcp"),
		testcontainers.WithEnv(map[string]string{
			"MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
			"MOTO_ACCOUNT_ID":                account,
		}),
		testcontainers.WithLabels(map[string]string{RunIDLabel: runID}),
		testcontainers.WithWaitStrategyAndDeadline(2*time.Minute, wait.ForHTTP("/moto-api/").WithPort("5000/tcp")),
	}
}

// StartMotoContainer runs moto in Docker (MotoImage) through
// testcontainers-go, then sets it up like StartMoto. It fails at once,
// without touching testcontainers, when no Docker engine answers.
func StartMotoContainer(ctx context.Context, runID string, opts ...MotoOption) (*Emulator, func(context.Context) error, error) {
	stop := func(context.Context) error { return nil }
	o := motoOptions{account: motoAccountID, region: "us-east-1", log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, stop, err
		}
	}
	if err := CheckDocker(ctx); err != nil {
		return nil, stop, err
	}
	ctr, err := testcontainers.Run(ctx, imageFrom("GAMEDAY_MOTO_IMAGE", MotoImage), motoContainerOptions(o.account, runID)...)
	stop = func(context.Context) error { return testcontainers.TerminateContainer(ctr) }
	if err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("start moto container: %w", err))
	}
	backend, err := ctr.PortEndpoint(ctx, "5000/tcp", "http")
	if err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("moto container endpoint: %w", err))
	}
	return finishMoto(ctx, "moto-container", backend, o, stop)
}

// localStackOptions are the testcontainers-go options for LocalStack.
func localStackOptions(runID string) []testcontainers.ContainerCustomizer {
	env := map[string]string{"SERVICES": "iam,sts,ecr,eks"}
	if tok := os.Getenv("LOCALSTACK_AUTH_TOKEN"); tok != "" {
		env["LOCALSTACK_AUTH_TOKEN"] = tok
	}
	return []testcontainers.ContainerCustomizer{
		testcontainers.WithEnv(env),
		testcontainers.WithLabels(map[string]string{RunIDLabel: runID}),
	}
}

// StartLocalStack runs LocalStack (LocalStackImage) through
// testcontainers-go's localstack module. LocalStack's free tier does not
// enforce IAM (gameday judges pulls from the role's policies instead) and
// has no ECR or EKS: scenarios that need them need LOCALSTACK_AUTH_TOKEN
// for a paid plan, or moto.
func StartLocalStack(ctx context.Context, runID string, opts ...MotoOption) (*Emulator, func(context.Context) error, error) {
	stop := func(context.Context) error { return nil }
	o := motoOptions{account: "000000000000", region: "us-east-1", log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, stop, err
		}
	}
	if err := CheckDocker(ctx); err != nil {
		return nil, stop, err
	}
	ctr, err := localstack.Run(ctx, imageFrom("GAMEDAY_LOCALSTACK_IMAGE", LocalStackImage), localStackOptions(runID)...)
	stop = func(context.Context) error { return testcontainers.TerminateContainer(ctr) }
	if err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("start LocalStack: %w", err))
	}
	endpoint, err := ctr.PortEndpoint(ctx, "4566/tcp", "http")
	if err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("LocalStack endpoint: %w", err))
	}
	emu := &Emulator{Kind: "localstack", Endpoint: endpoint, Backend: endpoint, Region: o.region, AccountID: "000000000000"}
	if err := bootstrapUsers(ctx, emu); err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("bootstrap LocalStack: %w", err))
	}
	if strings.TrimSpace(os.Getenv("LOCALSTACK_AUTH_TOKEN")) == "" {
		o.log.Warn("LocalStack free tier: no ECR or EKS APIs and no IAM enforcement; gameday judges pulls from policies")
	}
	return emu, stop, nil
}

// Emulator kinds for Start.
const (
	KindAuto          = "auto"
	KindMoto          = "moto"
	KindMotoContainer = "moto-container"
	KindLocalStack    = "localstack"
)

// Start starts the emulator of the given kind. KindAuto takes moto_server
// from PATH, else moto in Docker, and says how to install moto when
// neither is there.
func Start(ctx context.Context, kind, runID string, opts ...MotoOption) (*Emulator, func(context.Context) error, error) {
	switch kind {
	case KindMoto:
		return StartMoto(ctx, opts...)
	case KindMotoContainer:
		return StartMotoContainer(ctx, runID, opts...)
	case KindLocalStack:
		return StartLocalStack(ctx, runID, opts...)
	case KindAuto, "":
		o := motoOptions{binary: "moto_server"}
		for _, opt := range opts {
			if err := opt(&o); err != nil {
				return nil, func(context.Context) error { return nil }, err
			}
		}
		if _, err := exec.LookPath(o.binary); err == nil {
			return StartMoto(ctx, opts...)
		}
		if CheckDocker(ctx) == nil {
			return StartMotoContainer(ctx, runID, opts...)
		}
		return nil, func(context.Context) error { return nil }, errkind.Errorf(errkind.Infra,
			"no AWS emulator: %s is not on PATH and no Docker engine answers; %s", o.binary, InstallHint)
	default:
		return nil, func(context.Context) error { return nil }, errkind.Errorf(errkind.Invalid,
			"unknown AWS emulator %q (want auto, moto, moto-container or localstack)", kind)
	}
}
