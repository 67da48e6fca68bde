package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signed returns a request signed by the AWS SDK's own SigV4 signer.
func signed(t *testing.T, method, target, service string, body []byte, c Credentials) *http.Request {
	t.Helper()
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("User-Agent", "aws-cli/1.45.11")
	sum := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), sdkaws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey},
		req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSignatureVerification(t *testing.T) {
	op := Credentials{AccessKeyID: "AKIAOPERATOR", SecretAccessKey: "s3cret"}
	tests := []struct {
		name, method, url string
		secret            string
		want              bool
	}{
		{"EKS describe-nodegroup", "GET", "http://127.0.0.1:4566/clusters/shop-prod/node-groups/ng-general-v2", "s3cret", true},
		{"query string", "GET", "http://127.0.0.1:4566/clusters?maxResults=10&include=all", "s3cret", true},
		{"escaped path", "DELETE", "http://127.0.0.1:4566/clusters/a%20b/node-groups/x", "s3cret", true},
		{"wrong secret", "GET", "http://127.0.0.1:4566/clusters/shop-prod", "guess", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := signed(t, tt.method, tt.url, "eks", nil, op)
			a := parseAuth(req.Header.Get("Authorization"))
			if a.keyID != op.AccessKeyID || a.service != "eks" {
				t.Fatalf("parsed %+v", a)
			}
			if got := verify(req, nil, a, tt.secret); got != tt.want {
				t.Errorf("verify = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("re-signing with a body matches the SDK's signature of that body", func(t *testing.T) {
		req := signed(t, "GET", "http://127.0.0.1:4566/clusters/c", "eks", nil, op)
		a := parseAuth(req.Header.Get("Authorization"))
		resigned := parseAuth(sign(req, []byte("{}"), a, op.SecretAccessKey))
		if !verify(req, []byte("{}"), resigned, op.SecretAccessKey) || verify(req, nil, resigned, op.SecretAccessKey) {
			t.Error("re-signed header does not cover the new body")
		}
	})
}

func TestFrontDoorRecordsAndFixesEKSReads(t *testing.T) {
	op := Credentials{AccessKeyID: "AKIAOPERATOR", SecretAccessKey: "s3cret"}
	var seenBody string
	var seenAuth string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seenBody, seenAuth = string(b), r.Header.Get("Authorization")
		w.WriteHeader(http.StatusOK)
	}))
	defer backend.Close()
	var calls []Call
	door, fd, stop, err := startFrontDoor(backend.URL, func(c Call) { calls = append(calls, c) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop(context.Background())
	fd.know(OperatorUser, op)

	send := func(req *http.Request) int {
		t.Helper()
		req.RequestURI = ""
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The request goes to the front door, so it is signed for its host.
	req := signed(t, "GET", door+"/clusters/shop-prod/node-groups/ng-a", "eks", nil, op)
	if code := send(req); code != 200 {
		t.Fatalf("status %d", code)
	}
	if seenBody != "{}" {
		t.Errorf("backend got body %q, want {}", seenBody)
	}
	if seenAuth == req.Header.Get("Authorization") {
		t.Error("request was not re-signed")
	}
	bad := signed(t, "GET", door+"/clusters/shop-prod", "eks", nil, Credentials{AccessKeyID: op.AccessKeyID, SecretAccessKey: "guess"})
	if code := send(bad); code != http.StatusForbidden {
		t.Errorf("forged request: status %d, want 403", code)
	}
	form := []byte("Action=AttachRolePolicy&RoleName=node-a&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAmazonEC2ContainerRegistryReadOnly&Version=2010-05-08")
	iamReq := signed(t, "POST", door+"/", "iam", form, op)
	iamReq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	send(iamReq)
	if string(seenBody) != string(form) {
		t.Errorf("IAM body changed: %q", seenBody)
	}

	want := []Call{
		{User: "operator", Service: "eks", Action: "DescribeNodegroup", Params: map[string]string{"clusterName": "shop-prod", "nodegroupName": "ng-a"}, Status: 200},
		{User: "operator", Service: "eks", Action: "DescribeCluster", Params: map[string]string{"clusterName": "shop-prod"}, Status: 403},
		{User: "operator", Service: "iam", Action: "AttachRolePolicy", Params: map[string]string{"RoleName": "node-a", "PolicyArn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}, Status: 200},
	}
	if len(calls) != len(want) {
		t.Fatalf("%d calls recorded, want %d: %+v", len(calls), len(want), calls)
	}
	for i, w := range want {
		c := calls[i]
		if c.User != w.User || c.Service != w.Service || c.Action != w.Action || c.Status != w.Status || len(c.Params) != len(w.Params) {
			t.Errorf("call %d = %+v, want %+v", i, c, w)
		}
		for k, v := range w.Params {
			if c.Params[k] != v {
				t.Errorf("call %d param %s = %q, want %q", i, k, c.Params[k], v)
			}
		}
	}
}
