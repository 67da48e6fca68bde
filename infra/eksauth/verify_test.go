package eksauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	gdaws "github.com/gameday-sre/gameday/infra/aws"
)

// tokenFor encodes a presigned URL as a token.
func tokenFor(u string) string {
	return TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(u))
}

func TestVerifyRefusesMalformedTokens(t *testing.T) {
	calls := 0
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		_, _ = w.Write([]byte(`{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"123456789012","Arn":"arn:aws:iam::123456789012:user/operator","UserId":"AIDAEXAMPLE"}}}`))
	}))
	defer sts.Close()
	now := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	good := url.Values{
		"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}, "X-Amz-Algorithm": {"AWS4-HMAC-SHA256"},
		"X-Amz-Credential": {"AKIAEXAMPLE/20261206/us-east-1/sts/aws4_request"}, "X-Amz-Date": {"20261206T135900Z"},
		"X-Amz-Expires": {"60"}, "X-Amz-SignedHeaders": {"host;x-k8s-aws-id"}, "X-Amz-Signature": {"abc"},
	}
	with := func(key, value string) string {
		q := url.Values{}
		for k, v := range good {
			q[k] = v
		}
		if value == "" {
			q.Del(key)
		} else {
			q.Set(key, value)
		}
		return sts.URL + "/?" + q.Encode()
	}
	tests := []struct {
		name, token, want string
	}{
		{"no prefix", base64.RawURLEncoding.EncodeToString([]byte(with("Action", "GetCallerIdentity"))), `missing expected "k8s-aws-v1." prefix`},
		{"not base64", TokenPrefix + "%%%", "illegal base64"},
		{"too large", TokenPrefix + strings.Repeat("A", 5000), "too large"},
		{"another host", tokenFor(strings.Replace(with("Action", "GetCallerIdentity"), "127.0.0.1", "localhost", 1)), "unexpected hostname"},
		{"another scheme", tokenFor(strings.Replace(with("Action", "GetCallerIdentity"), "http://", "https://", 1)), "unexpected scheme"},
		{"another path", tokenFor(strings.Replace(with("Action", "GetCallerIdentity"), "/?", "/x?", 1)), "unexpected path"},
		{"another action", tokenFor(with("Action", "AssumeRole")), "unexpected action"},
		{"extra parameter", tokenFor(with("RoleArn", "arn:aws:iam::123456789012:role/x")), `non-whitelisted query parameter "RoleArn"`},
		{"cluster header not signed", tokenFor(with("X-Amz-SignedHeaders", "host")), "did not sign the x-k8s-aws-id header"},
		{"expires too long", tokenFor(with("X-Amz-Expires", "3600")), "invalid X-Amz-Expires"},
		{"no date", tokenFor(with("X-Amz-Date", "")), "X-Amz-Date parameter must be present"},
		{"expired", tokenFor(with("X-Amz-Date", "20261206T134400Z")), "expired (15 minute expiration)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{ClusterID: "shop-prod", STSEndpoint: sts.URL, Now: func() time.Time { return now }}
			_, err := v.Verify(context.Background(), tt.token)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want a format error with %q", err, tt.want)
			}
		})
	}
	if calls != 0 {
		t.Errorf("STS was called %d times for malformed tokens", calls)
	}
	t.Run("well formed goes to STS with the cluster header", func(t *testing.T) {
		var header string
		sts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header = r.Header.Get(ClusterIDHeader)
			_, _ = w.Write([]byte(`{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"123456789012","Arn":"arn:aws:sts::123456789012:assumed-role/break-glass/alice","UserId":"AROAEXAMPLE:alice"}}}`))
		})
		v := &Verifier{ClusterID: "shop-prod", STSEndpoint: sts.URL, Now: func() time.Time { return now }}
		id, err := v.Verify(context.Background(), tokenFor(with("Action", "GetCallerIdentity")))
		if err != nil {
			t.Fatal(err)
		}
		if header != "shop-prod" {
			t.Errorf("STS got %s %q, want shop-prod", ClusterIDHeader, header)
		}
		if id.CanonicalARN != "arn:aws:iam::123456789012:role/break-glass" || id.SessionName != "alice" || id.UserID != "AROAEXAMPLE" || id.AccessKeyID != "AKIAEXAMPLE" {
			t.Errorf("identity %+v", id)
		}
	})
}

// startMoto starts moto with its front door for an integration test.
func startMoto(t *testing.T) *gdaws.Emulator {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts moto_server (skipped with -short)")
	}
	for _, bin := range []string{"moto_server", "aws"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not on PATH: %s", bin, gdaws.InstallHint)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emu, stop, err := gdaws.StartMoto(ctx)
	t.Cleanup(func() {
		if err := stop(context.Background()); err != nil {
			t.Errorf("stop moto: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return emu
}

// execAWS is the stock aws CLI with credentials c, pointed at emu.
func execAWS(t *testing.T, emu *gdaws.Emulator, c gdaws.Credentials, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("aws", args...)
	cmd.Env = append(emu.UserEnv(c), "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir())
	return cmd
}

// getToken runs the stock `aws eks get-token` with credentials c and
// returns its token.
func getToken(t *testing.T, emu *gdaws.Emulator, c gdaws.Credentials, args ...string) string {
	t.Helper()
	cmd := execAWS(t, emu, c, append([]string{"eks", "get-token"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws eks get-token %v: %v\n%s%s", args, err, out, stderr.String())
	}
	var cred struct {
		Kind   string `json:"kind"`
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(out, &cred); err != nil || cred.Kind != "ExecCredential" {
		t.Fatalf("get-token printed %s (%v)", out, err)
	}
	return cred.Status.Token
}

func TestIntegrationVerifyGetToken(t *testing.T) {
	emu := startMoto(t)
	ctx := context.Background()
	role := "break-glass"
	// moto matches a trust policy's principal literally: the account's
	// root would not let the operator in, as it would on AWS.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + emu.AccountID + `:user/` + gdaws.OperatorUser + `"},"Action":"sts:AssumeRole"}]}`
	if _, err := iam.NewFromConfig(emu.Config(emu.Admin)).CreateRole(ctx, &iam.CreateRoleInput{RoleName: sdkaws.String(role), AssumeRolePolicyDocument: sdkaws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	roleARN := "arn:aws:iam::" + emu.AccountID + ":role/" + role
	v := &Verifier{ClusterID: "shop-prod", STSEndpoint: emu.Endpoint}

	tests := []struct {
		name      string
		creds     gdaws.Credentials
		args      []string
		canonical string
		session   string
		wantErr   string
	}{
		{name: "the operator's key", creds: emu.Operator, args: []string{"--cluster-name", "shop-prod"},
			canonical: "arn:aws:iam::" + emu.AccountID + ":user/" + gdaws.OperatorUser},
		{name: "an assumed role maps as its role", creds: emu.Operator, args: []string{"--cluster-name", "shop-prod", "--role-arn", roleARN},
			canonical: roleARN, session: "EKSGetTokenAuth"},
		{name: "a token for another cluster", creds: emu.Operator, args: []string{"--cluster-name", "shop-staging"},
			wantErr: "SignatureDoesNotMatch"},
		{name: "a key STS never issued", creds: gdaws.Credentials{AccessKeyID: "AKIAFORGED0000000000", SecretAccessKey: "guess"}, args: []string{"--cluster-name", "shop-prod"},
			wantErr: "InvalidClientTokenId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := getToken(t, emu, tt.creds, tt.args...)
			id, err := v.Verify(ctx, tok)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrSTS) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want STS's %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.CanonicalARN != tt.canonical || id.SessionName != tt.session || id.AccountID != emu.AccountID {
				t.Errorf("identity %+v, want %s (session %q)", id, tt.canonical, tt.session)
			}
		})
	}
	t.Run("a tampered signature", func(t *testing.T) {
		raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(getToken(t, emu, emu.Operator, "--cluster-name", "shop-prod"), TokenPrefix))
		u, _ := url.Parse(string(raw))
		q := u.Query()
		sig := []byte(q.Get("X-Amz-Signature"))
		sig[0] ^= 1
		q.Set("X-Amz-Signature", string(sig))
		u.RawQuery = q.Encode()
		if _, err := v.Verify(ctx, tokenFor(u.String())); !errors.Is(err, ErrSTS) || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
			t.Errorf("error %v, want SignatureDoesNotMatch", err)
		}
	})
}
