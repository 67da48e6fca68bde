// Package aws runs the emulated AWS account of a game day and applies a
// scenario's AWS objects to it.
//
// The default emulator is moto (moto_server) as a child process on
// 127.0.0.1, with AWS managed policies loaded and IAM enforcement on, so
// that a role without ECR permissions really is denied. Docker-hosted
// moto and LocalStack run through testcontainers-go where a Docker engine
// answers (see container.go).
package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
	"github.com/gameday-sre/gameday/internal/ground/loopback"
	"github.com/gameday-sre/gameday/internal/ground/procgroup"
)

// Credentials is an access key pair.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// Emulator is a running AWS emulator.
type Emulator struct {
	// Kind names the emulator: "moto", "moto-container", "localstack".
	Kind string
	// Endpoint is the base URL every service answers on (for moto, the
	// front door that records calls; see frontdoor.go).
	Endpoint string
	// Backend is the emulator's own URL behind the front door.
	Backend string
	// Region is the default region.
	Region string
	// AccountID is the emulated account.
	AccountID string
	// Admin are gameday's own credentials (AdministratorAccess).
	Admin Credentials
	// Operator are the operator's credentials.
	Operator Credentials
	// EnforcesIAM is true when the emulator itself denies unauthorised
	// calls; otherwise gameday must judge permissions from policies.
	EnforcesIAM bool

	// door is the front door that attributes calls, when there is one.
	door *frontDoor
}

// AddUser creates an IAM user with the operator's rights
// (AdministratorAccess) and an access key, for a named responder, and
// lets the front door attribute the key's calls to name.
func (e *Emulator) AddUser(ctx context.Context, name string) (Credentials, error) {
	c, err := createUser(ctx, iam.NewFromConfig(e.Config(e.Admin)), name, "arn:aws:iam::aws:policy/AdministratorAccess")
	if err != nil {
		return Credentials{}, err
	}
	if e.door != nil {
		e.door.know(name, c)
	}
	return c, nil
}

// UserEnv returns the environment variables that point the stock aws CLI
// at the emulator with credentials c.
func (e *Emulator) UserEnv(c Credentials) []string {
	return []string{
		"AWS_ENDPOINT_URL=" + e.Endpoint,
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
		"AWS_DEFAULT_REGION=" + e.Region,
		"AWS_REGION=" + e.Region,
	}
}

// Config returns an aws-sdk-go-v2 config for the given credentials.
func (e *Emulator) Config(c Credentials) aws.Config {
	return aws.Config{
		Region:       e.Region,
		Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
		BaseEndpoint: aws.String(e.Endpoint),
		// The emulator is on loopback; a short retry budget surfaces a dead
		// emulator quickly.
		RetryMaxAttempts: 3,
	}
}

// OperatorEnv returns the environment variables that point the stock aws
// CLI at the emulator as the operator.
func (e *Emulator) OperatorEnv() []string { return e.UserEnv(e.Operator) }

// Names of the IAM users gameday creates.
const (
	AdminUser    = "gameday-admin"
	OperatorUser = "operator"
)

// motoAccountID is moto's default account.
const motoAccountID = "123456789012"

type motoOptions struct {
	onCall  func(Call)
	account string
	region  string
	logFile string
	binary  string
	log     *slog.Logger
}

// MotoOption configures StartMoto.
type MotoOption func(*motoOptions) error

// WithRegion sets the default region. Default us-east-1.
func WithRegion(r string) MotoOption {
	return func(o *motoOptions) error { o.region = r; return nil }
}

// WithAccountID sets the emulated account id. Default 123456789012.
func WithAccountID(id string) MotoOption {
	return func(o *motoOptions) error {
		if len(id) != 12 || strings.Trim(id, "0123456789") != "" {
			return errkind.Errorf(errkind.Invalid, "account id %q: want 12 digits", id)
		}
		o.account = id
		return nil
	}
}

// WithCallLog receives every AWS call made through the emulator's
// endpoint, with its caller, operation and status.
func WithCallLog(f func(Call)) MotoOption {
	return func(o *motoOptions) error { o.onCall = f; return nil }
}

// WithLogFile sends moto's output to a file (appended). Default: discarded.
func WithLogFile(p string) MotoOption {
	return func(o *motoOptions) error { o.logFile = p; return nil }
}

// WithMotoBinary sets the moto_server executable. Default: moto_server on
// PATH.
func WithMotoBinary(p string) MotoOption {
	return func(o *motoOptions) error { o.binary = p; return nil }
}

// WithLogger sets the progress logger. Default discards.
func WithLogger(l *slog.Logger) MotoOption {
	return func(o *motoOptions) error { o.log = l; return nil }
}

// InstallHint tells a user how to get moto.
const InstallHint = `install moto: pipx install "moto[server]" (or: pip install "moto[server]")`

// StartMoto starts moto_server as a child process in its own process group
// on a free loopback port, creates gameday's admin user and the operator
// user, and turns IAM enforcement on. The returned stop function is never
// nil; it kills the process group and waits for it.
func StartMoto(ctx context.Context, opts ...MotoOption) (emu *Emulator, stop func(context.Context) error, err error) {
	stop = func(context.Context) error { return nil }
	o := motoOptions{account: motoAccountID, region: "us-east-1", binary: "moto_server", log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, stop, err
		}
	}
	bin, err := exec.LookPath(o.binary)
	if err != nil {
		return nil, stop, errkind.Errorf(errkind.Infra, "start moto: %s not found on PATH; %s, or run with a Docker engine", o.binary, InstallHint)
	}
	var out io.Writer = io.Discard
	var logf *os.File
	if o.logFile != "" {
		logf, err = os.OpenFile(o.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("start moto: %w", err))
		}
		out = logf
	}
	t0 := time.Now()
	var proc *procgroup.Group
	stop = func(context.Context) error {
		if proc != nil {
			proc.Stop(5 * time.Second) // moto forks workers: the whole group goes
		}
		if logf != nil {
			return logf.Close()
		}
		return nil
	}
	var port int
	// The free port is released before moto binds it; retry if another
	// process took it in between.
	for attempt := 0; ; attempt++ {
		port, err = loopback.FreePort()
		if err != nil {
			break
		}
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true", "MOTO_ACCOUNT_ID="+o.account)
		cmd.Stdout, cmd.Stderr = out, out
		if proc, err = procgroup.Start(cmd); err != nil {
			break
		}
		err = waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/moto-api/data.json", port), proc, 30*time.Second)
		if err == nil || attempt == 2 || !(errors.Is(err, errExited) || errors.Is(err, errNotOurs)) {
			break
		}
		proc.Stop(5 * time.Second)
	}
	if err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("start moto: %w", err))
	}
	backend := fmt.Sprintf("http://127.0.0.1:%d", port)
	emu, stop, err = finishMoto(ctx, "moto", backend, o, stop)
	if err != nil {
		return nil, stop, err
	}
	o.log.Info("AWS emulator ready", "kind", "moto", "endpoint", emu.Endpoint, "elapsed", time.Since(t0).Round(time.Millisecond))
	return emu, stop, nil
}

// finishMoto puts the front door before a running moto at backend,
// creates the admin and operator users and turns enforcement on. stop
// stops the backend; the returned stop stops both.
func finishMoto(ctx context.Context, kind, backend string, o motoOptions, stop func(context.Context) error) (*Emulator, func(context.Context) error, error) {
	door, fd, stopDoor, err := startFrontDoor(backend, o.onCall)
	stopBackend := stop
	stop = func(ctx context.Context) error { return errors.Join(stopDoor(ctx), stopBackend(ctx)) }
	if err != nil {
		return nil, stop, errkind.E(errkind.Infra, err)
	}
	emu := &Emulator{Kind: kind, Endpoint: door, Backend: backend, Region: o.region, AccountID: o.account, EnforcesIAM: true}
	if err := bootstrapUsers(ctx, emu); err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("bootstrap moto: %w", err))
	}
	fd.know(AdminUser, emu.Admin)
	fd.know(OperatorUser, emu.Operator)
	direct := emu.Config(emu.Admin)
	direct.BaseEndpoint = aws.String(backend)
	fd.iam = iam.NewFromConfig(direct)
	fd.admin, fd.region = emu.Admin, emu.Region
	emu.door = fd
	if err := enforceIAM(ctx, backend); err != nil {
		return nil, stop, errkind.E(errkind.Infra, fmt.Errorf("bootstrap moto: %w", err))
	}
	return emu, stop, nil
}

var (
	errExited  = errors.New("process exited")
	errNotOurs = errors.New("another server answers on the port")
)

// waitHTTP polls url until our process answers it with 200 and a JSON
// object (moto's /moto-api/data.json does), the process exits, or
// timeout. Another answer means another process took the port between
// FreePort and the bind: errNotOurs, so that the caller retries.
func waitHTTP(ctx context.Context, url string, proc *procgroup.Group, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			select {
			case <-proc.Done():
				return fmt.Errorf("%w after another server answered %s: %v", errExited, url, proc.Err())
			default:
			}
			if resp.StatusCode == http.StatusOK && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
				return nil
			}
			return fmt.Errorf("%w: %s answered HTTP %d", errNotOurs, url, resp.StatusCode)
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("%w before answering: %v", errExited, proc.Err())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer from %s after %s", url, timeout)
		}
	}
}

// bootstrapUsers creates the admin and operator users with access keys,
// using moto's default test credentials before enforcement is on.
func bootstrapUsers(ctx context.Context, e *Emulator) error {
	client := iam.NewFromConfig(e.Config(Credentials{AccessKeyID: "test", SecretAccessKey: "test"}))
	var err error
	if e.Admin, err = createUser(ctx, client, AdminUser, "arn:aws:iam::aws:policy/AdministratorAccess"); err != nil {
		return err
	}
	// The on-call engineer is an administrator of the account, as on most
	// teams that run EKS; the scenario penalises over-broad fixes, not
	// access.
	e.Operator, err = createUser(ctx, client, OperatorUser, "arn:aws:iam::aws:policy/AdministratorAccess")
	return err
}

func createUser(ctx context.Context, c *iam.Client, name, policy string) (Credentials, error) {
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		return Credentials{}, fmt.Errorf("create user %s: %w", name, err)
	}
	if _, err := c.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(name), PolicyArn: aws.String(policy)}); err != nil {
		return Credentials{}, fmt.Errorf("attach %s to %s: %w", policy, name, err)
	}
	out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		return Credentials{}, fmt.Errorf("create access key for %s: %w", name, err)
	}
	return Credentials{AccessKeyID: aws.ToString(out.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(out.AccessKey.SecretAccessKey)}, nil
}

// enforceIAM turns moto's IAM enforcement on for every request from now
// on. moto reads the body as text: a form-encoded body makes it fail.
func enforceIAM(ctx context.Context, endpoint string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/moto-api/reset-auth", bytes.NewReader([]byte("0")))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("enable IAM enforcement: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("enable IAM enforcement: HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}

// ClusterAccess is an EKS cluster's authentication mode and access
// entries, which the front door keeps (moto has none), and whether the
// cluster exists.
func (e *Emulator) ClusterAccess(cluster string) (ClusterAccess, bool) {
	if e.door == nil {
		return ClusterAccess{}, false
	}
	return e.door.access.Access(cluster)
}

// SetClusterEndpoint makes DescribeCluster answer with where the
// cluster's API server truly serves, as EKS does once a cluster is
// ACTIVE.
func (e *Emulator) SetClusterEndpoint(cluster string, at ClusterEndpoint) error {
	if e.door == nil {
		return errors.New("the AWS plane has no front door")
	}
	return e.door.access.setServing(cluster, at)
}
