package aws

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/localstack"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/gameday-sre/gameday/infra/dockerhost"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// Pinned emulator images. LocalStack's images from 2026-03-23 on need
// LOCALSTACK_AUTH_TOKEN; 4.14.0 is the newest tag that starts without
// one. Override either with GAMEDAY_MOTO_IMAGE / GAMEDAY_LOCALSTACK_IMAGE,
// for example to use a mirror in an air-gapped network.
const (
	MotoImage       = "motoserver/moto:5.1.18"
	LocalStackImage = "localstack/localstack:4.14.0"
)

// BuiltMotoImage is the moto image `make kind-images` builds offline:
// Debian's python3-moto on a debootstrapped Debian (BuiltMotoSuite),
// serving on port 5000 like MotoImage.
const BuiltMotoImage = dockerhost.BuiltHere + "moto:" + BuiltMotoSuite

// BuiltMotoSuite is the Debian release BuiltMotoImage's moto comes from:
// forky has moto 5.1.18. trixie's 5.1.1 answers EKS CreateCluster with
// createdAt as a string, which the AWS SDK cannot read ("unexpected
// string value for float"); later versions send a number.
const BuiltMotoSuite = "forky"

// ReaperImage is testcontainers-go's reaper, which it runs beside the
// emulator container. No registry here has it and it cannot be built
// offline: when the engine lacks it, gameday turns the reaper off
// (TESTCONTAINERS_RYUK_DISABLED) and removes its containers itself, on
// every exit path and with `gameday cleanup` (they carry the run id).
const ReaperImage = "testcontainers/ryuk:0.13.0"

// ContainerImages lists the images the local Docker engine needs for the
// Docker-hosted emulator of kind (KindMotoContainer or KindLocalStack),
// with overrides applied. Other kinds need none. The reaper is not
// needed (see ReaperImage).
func ContainerImages(kind string) []string {
	return containerImages(kind, dockerhost.Has)
}

func containerImages(kind string, has func(string) bool) []string {
	switch kind {
	case KindMotoContainer:
		return []string{motoImage(has)}
	case KindLocalStack:
		return []string{imageFrom("GAMEDAY_LOCALSTACK_IMAGE", LocalStackImage)}
	}
	return nil
}

// motoImage is the moto image a container runs: GAMEDAY_MOTO_IMAGE when
// set; else MotoImage when the engine has it; else BuiltMotoImage.
func motoImage(has func(string) bool) string {
	if v := os.Getenv("GAMEDAY_MOTO_IMAGE"); v != "" {
		return v
	}
	if has(MotoImage) {
		return MotoImage
	}
	return BuiltMotoImage
}

// ConfigureTestcontainers sets testcontainers-go up for this process,
// before its first use (it reads its settings once):
//   - its reaper off when the engine lacks the reaper's image (see
//     ReaperImage);
//   - for a local engine (a Unix socket), published ports reached on
//     127.0.0.1: left to itself, testcontainers-go may pick the bridge
//     gateway, which a sandboxed host does not route to (its readiness
//     check then times out with "context deadline exceeded").
func ConfigureTestcontainers(log *slog.Logger) {
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" && !dockerhost.Has(ReaperImage) {
		if err := os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true"); err == nil {
			log.Info("testcontainers' reaper image is absent: gameday removes its containers itself", "image", ReaperImage)
		}
	}
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" && strings.HasPrefix(dockerhost.Host(), "unix://") {
		_ = os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
}

// checkDocker fails with what to use instead when no Docker engine
// answers. Call it before testcontainers-go: some of its versions panic
// when no engine is there.
func checkDocker(ctx context.Context) error {
	if err := dockerhost.Check(ctx); err != nil {
		return fmt.Errorf("%w; use the default AWS emulator, moto_server (%s)", err, InstallHint)
	}
	return nil
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
		testcontainers.WithLabels(map[string]string{eks.RunIDLabel: runID}),
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
	if err := checkDocker(ctx); err != nil {
		return nil, stop, err
	}
	ConfigureTestcontainers(o.log)
	ctr, err := testcontainers.Run(ctx, motoImage(dockerhost.Has), motoContainerOptions(o.account, runID)...)
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
		testcontainers.WithLabels(map[string]string{eks.RunIDLabel: runID}),
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
	if err := checkDocker(ctx); err != nil {
		return nil, stop, err
	}
	ConfigureTestcontainers(o.log)
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
		if checkDocker(ctx) == nil {
			return StartMotoContainer(ctx, runID, opts...)
		}
		return nil, func(context.Context) error { return nil }, errkind.Errorf(errkind.Infra,
			"no AWS emulator: %s is not on PATH and no Docker engine answers; %s", o.binary, InstallHint)
	default:
		return nil, func(context.Context) error { return nil }, errkind.Errorf(errkind.Invalid,
			"unknown AWS emulator %q (want auto, moto, moto-container or localstack)", kind)
	}
}
