package aws

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// presign returns a GetCallerIdentity URL presigned by the AWS SDK's own
// signer for door, with the cluster header signed, as `aws eks
// get-token` makes one.
func presign(t *testing.T, door string, c Credentials, token string, at time.Time, cluster ...string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, door+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires=60", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-k8s-aws-id", "shop-prod")
	if len(cluster) > 0 {
		req.Header.Set("x-k8s-aws-id", cluster[0])
	}
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), sdkaws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: token},
		req, emptySHA256, "sts", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestFrontDoorPresignedRequests(t *testing.T) {
	op := Credentials{AccessKeyID: "AKIAOPERATOR", SecretAccessKey: "s3cret"}
	session := Credentials{AccessKeyID: "ASIASESSION", SecretAccessKey: "session-secret"}
	var seen *http.Request
	var seenBody string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(context.Background())
		b, _ := io.ReadAll(r.Body)
		seenBody = string(b)
		if strings.Contains(seenBody, "Action=AssumeRole") {
			_, _ = io.WriteString(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>`+session.AccessKeyID+
				`</AccessKeyId><SecretAccessKey>`+session.SecretAccessKey+`</SecretAccessKey><SessionToken>tok</SessionToken></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/break-glass/s</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`)
			return
		}
		_, _ = io.WriteString(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/operator</Arn><UserId>AIDAOPERATOR</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
	}))
	defer backend.Close()
	var mu sync.Mutex
	var calls []Call
	door, fd, stop, err := startFrontDoor(backend.URL, func(c Call) { mu.Lock(); calls = append(calls, c); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	fd.know(OperatorUser, op)

	get := func(u string, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("x-k8s-aws-id", "shop-prod")
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	tests := []struct {
		name       string
		url        string
		accept     string
		wantStatus int
		wantBody   string
	}{
		{"JSON for the authenticator", presign(t, door, op, "", time.Now()), "application/json", 200, `{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Account":"123456789012","Arn":"arn:aws:iam::123456789012:user/operator","UserId":"AIDAOPERATOR"},"ResponseMetadata":{"RequestId":"r-1"}}}`},
		{"XML otherwise", presign(t, door, op, "", time.Now()), "", 200, "<GetCallerIdentityResult>"},
		{"a wrong secret", presign(t, door, Credentials{AccessKeyID: op.AccessKeyID, SecretAccessKey: "guess"}, "", time.Now()), "", 403, "SignatureDoesNotMatch"},
		{"an unknown key", presign(t, door, Credentials{AccessKeyID: "AKIAFORGED", SecretAccessKey: "x"}, "", time.Now()), "", 403, "<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message>"},
		{"older than 15 minutes", presign(t, door, op, "", time.Now().Add(-16*time.Minute)), "", 403, "Signature expired: "},
		{"signed for another cluster", presign(t, door, op, "", time.Now(), "shop-staging"), "", 403, "SignatureDoesNotMatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			status, body := get(tt.url, tt.accept)
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Fatalf("status %d, body %s; want %d with %s", status, body, tt.wantStatus, tt.wantBody)
			}
			if status != 200 {
				if seen != nil {
					t.Error("a refused request reached moto")
				}
				return
			}
			// moto gets the call posted as a form, signed in the header
			// with the same key.
			if seen.Method != http.MethodPost || seen.URL.RawQuery != "" || seenBody != "Action=GetCallerIdentity&Version=2011-06-15" {
				t.Errorf("moto got %s ?%s %q", seen.Method, seen.URL.RawQuery, seenBody)
			}
			a := parseAuth(seen.Header.Get("Authorization"))
			if a.keyID != op.AccessKeyID || !verify(seen, []byte(seenBody), a, op.SecretAccessKey) {
				t.Errorf("moto got Authorization %q, not a valid signature by the operator's key", seen.Header.Get("Authorization"))
			}
		})
	}

	t.Run("keys from AssumeRole answers are learned", func(t *testing.T) {
		form := []byte("Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbreak-glass&RoleSessionName=s&Version=2011-06-15")
		req := signed(t, "POST", door+"/", "sts", form, op)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RequestURI = ""
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		status, body := get(presign(t, door, session, "tok", time.Now()), "application/json")
		if status != 200 {
			t.Fatalf("presigned by the session's key: %d %s", status, body)
		}
		if seen.Header.Get("X-Amz-Security-Token") != "tok" {
			t.Errorf("moto got no session token: %v", seen.Header)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if n := len(calls); n == 0 || calls[0].Action != "GetCallerIdentity" || calls[0].User != OperatorUser {
		t.Errorf("calls recorded: %+v", calls)
	}
}
