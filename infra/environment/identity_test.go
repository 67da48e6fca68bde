package environment_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gameday-sre/gameday/infra/aws"
)

// TestIntegrationIAMKubectl plays what a responder does on EKS, with the
// stock aws CLI and kubectl only: `aws eks update-kubeconfig` with the
// operator's IAM credentials, kubectl through `aws eks get-token`, the
// mapped identity the API server sees, access policies and their scope,
// and Unauthorized once the access entry is gone.
func TestIntegrationIAMKubectl(t *testing.T) {
	for _, tool := range []string{"aws", "kubectl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs the stock %s on PATH: %v", tool, err)
		}
	}
	st := startEnv(t, "testdata/two-roles.yaml")
	home := t.TempDir()
	kubeconfig := filepath.Join(home, "kubeconfig")
	// as runs a command with an IAM user's credentials and the kubeconfig
	// that update-kubeconfig writes, as a responder's shell would.
	as := func(creds []string, name string, args ...string) (string, error) {
		cmd := exec.Command(name, args...)
		cmd.Env = append(append(os.Environ(), creds...), "HOME="+home, "KUBECONFIG="+kubeconfig)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	operator := st.AWS.OperatorEnv()
	out, err := as(operator, "aws", "eks", "update-kubeconfig", "--name", "shop-prod")
	if err != nil {
		t.Fatalf("update-kubeconfig: %v\n%s", err, out)
	}
	if out, err := as(operator, "kubectl", "get", "pods", "-n", "prod"); err != nil {
		t.Fatalf("kubectl get pods through IAM: %v\n%s", err, out)
	}
	out, err = as(operator, "kubectl", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups} {.status.userInfo.extra.arn}")
	if err != nil {
		t.Fatalf("whoami: %v\n%s", err, out)
	}
	if want := `operator ["gameday:operators","system:authenticated"] ["arn:aws:iam::123456789012:user/operator"]`; out != want {
		t.Errorf("the API server sees %q, want %q", out, want)
	}

	// The OIDC issuer EKS shows is the one that signs the cluster's
	// service-account tokens.
	issuer, err := as(operator, "aws", "eks", "describe-cluster", "--name", "shop-prod", "--query", "cluster.identity.oidc.issuer", "--output", "text")
	if err != nil || !regexp.MustCompile(`^https://oidc\.eks\.us-east-1\.amazonaws\.com/id/[0-9A-F]{32}$`).MatchString(issuer) {
		t.Errorf("describe-cluster's issuer is %q (%v)", issuer, err)
	}
	tr, err := st.Client().CoreV1().ServiceAccounts("default").CreateToken(context.Background(), "default",
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{Audiences: []string{"sts.amazonaws.com"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Iss string   `json:"iss"`
		Aud []string `json:"aud"`
		Sub string   `json:"sub"`
	}
	parts := strings.Split(tr.Status.Token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		t.Fatalf("token payload %q: %v", parts[1], err)
	}
	if claims.Iss != issuer || claims.Sub != "system:serviceaccount:default:default" || !slices.Equal(claims.Aud, []string{"sts.amazonaws.com"}) {
		t.Errorf("a service-account token claims %+v, want issuer %s", claims, issuer)
	}

	// EKS's pod identity webhook gives a pod of an annotated service
	// account the role, the token file and the token's volume.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "default",
		Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/payments"}}}
	if _, err := st.Client().CoreV1().ServiceAccounts("default").Create(context.Background(), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := pod("irsa", "ng-a", "busybox")
	p.Spec.ServiceAccountName = "api"
	var injected *corev1.Pod
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		// The webhook's informer may not have seen the account yet; EKS's
		// answer then is an unmutated pod, so try afresh.
		p.Name = fmt.Sprintf("irsa-%d", time.Now().UnixNano())
		created, err := st.Client().CoreV1().Pods("default").Create(context.Background(), p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(created.Spec.Containers[0].Env) > 0 {
			injected = created
			break
		}
	}
	if injected == nil {
		t.Fatal("no pod was mutated by the pod identity webhook")
	}
	env := map[string]string{}
	for _, e := range injected.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	for name, want := range map[string]string{
		"AWS_ROLE_ARN":                "arn:aws:iam::123456789012:role/payments",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
		"AWS_REGION":                  "us-east-1",
	} {
		if env[name] != want {
			t.Errorf("injected %s=%q, want %q (all: %v)", name, env[name], want, env)
		}
	}
	var projected *corev1.ServiceAccountTokenProjection
	for _, v := range injected.Spec.Volumes {
		if v.Name == "aws-iam-token" && v.Projected != nil && len(v.Projected.Sources) == 1 {
			projected = v.Projected.Sources[0].ServiceAccountToken
		}
	}
	if projected == nil || projected.Audience != "sts.amazonaws.com" {
		t.Errorf("the token volume is %+v, want a projected token for sts.amazonaws.com", projected)
	}

	// IRSA's STS call, as the SDK makes it with that token: refused
	// until the account has the issuer's OIDC provider and the role
	// trusts the token's subject, then granted, with the role's own
	// permissions.
	const roleARN = "arn:aws:iam::123456789012:role/payments"
	trust := func(sub string) string {
		host := strings.TrimPrefix(issuer, "https://")
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/` + host +
			`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"` + host + `:sub":"` + sub + `","` + host + `:aud":"sts.amazonaws.com"}}}]}`
	}
	assume := []string{"sts", "assume-role-with-web-identity", "--role-arn", roleARN, "--role-session-name", "pod", "--web-identity-token", tr.Status.Token,
		"--query", "Credentials.[AccessKeyId,SecretAccessKey,SessionToken]", "--output", "text"}
	steps := []struct {
		name string
		args []string
		want string // the error's text, or "" for success
	}{
		{"create the role", []string{"iam", "create-role", "--role-name", "payments", "--assume-role-policy-document", trust("system:serviceaccount:payments:api")}, ""},
		{"no provider", assume, "An error occurred (InvalidIdentityToken) when calling the AssumeRoleWithWebIdentity operation: No OpenIDConnect provider found in your account for " + issuer},
		{"create the provider", []string{"iam", "create-open-id-connect-provider", "--url", issuer, "--client-id-list", "sts.amazonaws.com", "--thumbprint-list", "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}, ""},
		{"a trust policy for another subject", assume, "An error occurred (AccessDenied) when calling the AssumeRoleWithWebIdentity operation: Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{"fix the trust policy", []string{"iam", "update-assume-role-policy", "--role-name", "payments", "--policy-document", trust("system:serviceaccount:default:default")}, ""},
		{"granted", assume, ""},
	}
	var session string
	for _, step := range steps {
		out, err := as(operator, "aws", step.args...)
		switch {
		case step.want == "" && err != nil:
			t.Fatalf("%s: %v\n%s", step.name, err, out)
		case step.want != "" && (err == nil || !strings.Contains(out, step.want)):
			t.Fatalf("%s: aws said %q (%v), want %q", step.name, out, err, step.want)
		}
		session = out
	}
	keys := strings.Fields(session)
	if len(keys) != 3 {
		t.Fatalf("credentials %q", session)
	}
	asRole := append(st.AWS.UserEnv(aws.Credentials{AccessKeyID: keys[0], SecretAccessKey: keys[1]}), "AWS_SESSION_TOKEN="+keys[2])
	if out, err := as(asRole, "aws", "sts", "get-caller-identity", "--query", "Arn", "--output", "text"); err != nil || out != "arn:aws:sts::123456789012:assumed-role/payments/pod" {
		t.Errorf("the session is %q (%v)", out, err)
	}
	if out, err := as(asRole, "aws", "iam", "list-users"); err == nil || !strings.Contains(out, "AccessDenied") {
		t.Errorf("a role without permissions listed users: %q (%v)", out, err)
	}

	// A user with only the view policy, scoped to prod: reads prod, and
	// nothing else.
	viewer, err := st.AWS.AddUser(context.Background(), "viewer")
	if err != nil {
		t.Fatal(err)
	}
	viewerARN := st.Account.UserARN("viewer")
	for _, args := range [][]string{
		{"eks", "create-access-entry", "--cluster-name", "shop-prod", "--principal-arn", viewerARN},
		{"eks", "associate-access-policy", "--cluster-name", "shop-prod", "--principal-arn", viewerARN,
			"--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", "--access-scope", "type=namespace,namespaces=prod"},
	} {
		if out, err := as(operator, "aws", args...); err != nil {
			t.Fatalf("aws %s: %v\n%s", args[1], err, out)
		}
	}
	asViewer := st.AWS.UserEnv(viewer)
	cases := []struct {
		name string
		args []string
		want string // "" for success; else what kubectl says
	}{
		{"reads its namespace", []string{"get", "pods", "-n", "prod"}, ""},
		{"reads no other", []string{"get", "pods", "-n", "default"}, `Error from server (Forbidden): pods is forbidden: User "arn:aws:iam::123456789012:user/viewer" cannot list resource "pods" in API group "" in the namespace "default"`},
		{"writes nothing", []string{"create", "configmap", "x", "-n", "prod"}, `error: failed to create configmap: configmaps is forbidden: User "arn:aws:iam::123456789012:user/viewer" cannot create resource "configmaps" in API group "" in the namespace "prod"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := as(asViewer, "kubectl", c.args...)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("kubectl %v: %v\n%s", c.args, err, out)
			case c.want != "" && !strings.HasPrefix(out, c.want):
				t.Errorf("kubectl %v said\n%s\nwant it to start\n%s", c.args, out, c.want)
			}
		})
	}

	// aws-auth maps a user without an entry, as API_AND_CONFIG_MAP does.
	legacy, err := st.AWS.AddUser(context.Background(), "legacy")
	if err != nil {
		t.Fatal(err)
	}
	awsAuth := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "aws-auth", Namespace: "kube-system"},
		Data:       map[string]string{"mapUsers": "- userarn: " + st.Account.UserARN("legacy") + "\n  username: legacy-admin\n  groups: [gameday:operators]\n"},
	}
	if _, err := st.Client().CoreV1().ConfigMaps("kube-system").Create(context.Background(), awsAuth, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, err := as(st.AWS.UserEnv(legacy), "kubectl", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); err != nil || out != "legacy-admin" {
		t.Errorf("a user mapped by aws-auth is %q (%v), want legacy-admin", out, err)
	}

	// EKS's answer once the entry is gone: Unauthorized, exactly.
	if out, err := as(operator, "aws", "eks", "delete-access-entry", "--cluster-name", "shop-prod", "--principal-arn", viewerARN); err != nil {
		t.Fatalf("delete-access-entry: %v\n%s", err, out)
	}
	time.Sleep(1100 * time.Millisecond) // a token of another second, never a cached review
	out, err = as(asViewer, "kubectl", "get", "pods", "-n", "prod")
	if want := "error: You must be logged in to the server (Unauthorized)"; err == nil || out != want {
		t.Errorf("without an access entry kubectl said %q (%v), want %q", out, err, want)
	}
}
