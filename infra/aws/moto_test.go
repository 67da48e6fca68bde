package aws

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"

	ecrreg "github.com/gameday-sre/gameday/infra/ecr"
	"github.com/gameday-sre/gameday/internal/testkit/leakcheck"
	"github.com/gameday-sre/gameday/scenarios"
)

// startMoto starts moto for a test and checks on cleanup that neither the
// process nor a listener is left.
func startMoto(t *testing.T, opts ...MotoOption) *Emulator {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts moto_server (skipped with -short)")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Fatalf("moto_server is not on PATH: %s", InstallHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t0 := time.Now()
	emu, stop, err := StartMoto(ctx, opts...)
	t.Cleanup(func() {
		if err := stop(context.Background()); err != nil {
			t.Errorf("stop moto: %v", err)
		}
		if emu != nil {
			port := emu.Backend[strings.LastIndex(emu.Backend, ":")+1:]
			if out, _ := exec.Command("pgrep", "-f", "moto_server -H 127.0.0.1 -p "+port+"$").Output(); len(out) > 0 {
				t.Errorf("moto_server still running: pids %s", out)
			}
		}
		if l, _ := leakcheck.Listeners(); len(l) > 0 {
			t.Errorf("listeners left: %v", l)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("moto ready in %s", time.Since(t0).Round(time.Millisecond))
	return emu
}

func awsCLI(t *testing.T, emu *Emulator, c Credentials, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("aws", args...)
	cmd.Env = append(emu.OperatorEnv(), "AWS_ACCESS_KEY_ID="+c.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey, "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestIntegrationMotoEnforcesIAM(t *testing.T) {
	emu := startMoto(t)
	ctx := context.Background()
	if _, err := iam.NewFromConfig(emu.Config(emu.Operator)).ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Errorf("operator credentials rejected: %v", err)
	}
	_, err := iam.NewFromConfig(emu.Config(Credentials{AccessKeyID: "test", SecretAccessKey: "test"})).ListRoles(ctx, &iam.ListRolesInput{})
	if err == nil {
		t.Error("moto's default test keys still work after enforcement is on")
	}
	if out, err := awsCLI(t, emu, emu.Operator, "sts", "get-caller-identity", "--query", "Arn", "--output", "text"); err != nil || !strings.Contains(out, "user/operator") {
		t.Errorf("aws sts get-caller-identity as operator: %v\n%s", err, out)
	}
	if out, err := awsCLI(t, emu, Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, "iam", "list-roles"); err == nil {
		t.Errorf("aws CLI with test keys succeeded:\n%s", out)
	}
}

func testEnv() scenarios.Environment {
	return scenarios.Environment{
		AWS:     scenarios.AWSAccount{AccountID: "123456789012", Region: "us-east-1"},
		Cluster: scenarios.Cluster{Name: "shop-prod", Version: "1.32"},
		IAM: scenarios.IAM{Policies: []scenarios.ManagedPolicy{{
			Name: "node-boundary", Document: scenarios.PolicyDocument{Version: "2012-10-17", Statement: []scenarios.Statement{
				{Effect: "Allow", Action: scenarios.StringList{"ec2:*", "eks:*"}, Resource: scenarios.StringList{"*"}}}}}},
			Roles: []scenarios.Role{
				{Name: "node-a", AssumedBy: []string{"ec2.amazonaws.com"}, ManagedPolicies: []string{
					"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"}},
				{Name: "node-b", AssumedBy: []string{"ec2.amazonaws.com"}, ManagedPolicies: []string{
					"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}},
				{Name: "node-c", AssumedBy: []string{"ec2.amazonaws.com"}, InlinePolicies: []scenarios.InlinePolicy{{
					Name: "token-only", Document: scenarios.PolicyDocument{Version: "2012-10-17", Statement: []scenarios.Statement{
						{Effect: "Allow", Action: scenarios.StringList{"ecr:GetAuthorizationToken"}, Resource: scenarios.StringList{"*"}}}}}}},
				{Name: "node-d", AssumedBy: []string{"ec2.amazonaws.com"}, PermissionsBoundary: "node-boundary", ManagedPolicies: []string{
					"arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"}},
			}},
		NodeGroups: []scenarios.NodeGroup{
			{Name: "ng-a", Role: "node-a", Size: 1, InstanceType: "m5.large", CapacityType: "ON_DEMAND", Subnet: "10.0.1.0/24"},
			{Name: "ng-b", Role: "node-b", Size: 1, InstanceType: "m5.large", CapacityType: "ON_DEMAND", Subnet: "10.0.2.0/24"},
			{Name: "ng-c", Role: "node-c", Size: 1, InstanceType: "m5.large", CapacityType: "ON_DEMAND", Subnet: "10.0.3.0/24"},
			{Name: "ng-d", Role: "node-d", Size: 1, InstanceType: "m5.large", CapacityType: "ON_DEMAND", Subnet: "10.0.4.0/24"},
		},
		ECR: scenarios.ECR{Repositories: []scenarios.Repository{{Name: "shop/checkout"}}},
	}
}

func TestIntegrationPullAuthorizer(t *testing.T) {
	emu := startMoto(t)
	ctx := context.Background()
	acct := NewAccount(emu, "shop-prod", "test-run")
	if err := acct.Setup(ctx, testEnv()); err != nil {
		t.Fatal(err)
	}
	groupOf := func(node string) (string, bool) {
		return strings.TrimPrefix(node, "node-in-"), strings.HasPrefix(node, "node-in-")
	}
	authz := NewPullAuthorizer(acct, groupOf)
	decide := func(node string) ecrreg.Verdict {
		t.Helper()
		v, err := authz.Authorize(ctx, node, "shop/checkout")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, node string
		want       ecrreg.Decision
	}{
		{"role without ECR read gets no token", "node-in-ng-a", ecrreg.NoCredentials},
		{"role with ECR read pulls", "node-in-ng-b", ecrreg.Allowed},
		{"role with a token but no BatchGetImage", "node-in-ng-c", ecrreg.Forbidden},
		{"role with ECR read capped by a boundary without ECR", "node-in-ng-d", ecrreg.NoCredentials},
		{"unknown node", "stranger", ecrreg.NoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v := decide(tt.node); v.Decision != tt.want {
				t.Errorf("decision %v (%s), want %v", v.Decision, v.Reason, tt.want)
			}
		})
	}
	if v := decide("node-in-ng-a"); !strings.Contains(v.Reason, "assumed-role/node-a/node-in-ng-a is not authorized to perform: ecr:GetAuthorizationToken") {
		t.Errorf("denial reason %q does not name the assumed role", v.Reason)
	}

	// The operator fixes the role with the stock CLI; the next decision
	// allows the pull. Detaching breaks it again.
	if out, err := awsCLI(t, emu, emu.Operator, "iam", "attach-role-policy", "--role-name", "node-a", "--policy-arn", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"); err != nil {
		t.Fatalf("attach-role-policy: %v\n%s", err, out)
	}
	if v := decide("node-in-ng-a"); v.Decision != ecrreg.Allowed {
		t.Errorf("after attach: %v (%s)", v.Decision, v.Reason)
	}
	if err := acct.DetachRolePolicy(ctx, "node-a", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"); err != nil {
		t.Fatal(err)
	}
	if v := decide("node-in-ng-a"); v.Decision != ecrreg.NoCredentials {
		t.Errorf("after detach: %v", v.Decision)
	}

	// A permissions boundary caps the role whatever it is granted (moto
	// stores boundaries and ignores them; gameday applies them). A new
	// default version of the boundary that allows ECR pull fixes it;
	// removing the boundary would too.
	if v := decide("node-in-ng-d"); !strings.Contains(v.Reason, "because no permissions boundary allows the ecr:GetAuthorizationToken action") {
		t.Errorf("boundary denial reason %q does not blame the boundary", v.Reason)
	}
	if out, err := awsCLI(t, emu, emu.Operator, "iam", "get-role", "--role-name", "node-d", "--query", "Role.PermissionsBoundary.PermissionsBoundaryArn", "--output", "text"); err != nil || strings.TrimSpace(out) != "arn:aws:iam::123456789012:policy/node-boundary" {
		t.Errorf("get-role boundary: %v %q", err, out)
	}
	if out, err := awsCLI(t, emu, emu.Operator, "iam", "create-policy-version", "--policy-arn", "arn:aws:iam::123456789012:policy/node-boundary", "--set-as-default",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:*","eks:*","ecr:GetAuthorizationToken","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"],"Resource":"*"}]}`); err != nil {
		t.Fatalf("create-policy-version: %v\n%s", err, out)
	}
	if v := decide("node-in-ng-d"); v.Decision != ecrreg.Allowed {
		t.Errorf("after the boundary allows ECR: %v (%s)", v.Decision, v.Reason)
	}
	if out, err := awsCLI(t, emu, emu.Operator, "iam", "create-policy-version", "--policy-arn", "arn:aws:iam::123456789012:policy/node-boundary", "--set-as-default",
		"--policy-document", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecr:BatchGetImage","Resource":"*"}]}`); err != nil {
		t.Fatalf("create-policy-version: %v\n%s", err, out)
	}
	if v := decide("node-in-ng-d"); v.Decision != ecrreg.Forbidden || !strings.Contains(v.Reason, "with an explicit deny in a permissions boundary") {
		t.Errorf("boundary that denies BatchGetImage: %v (%s)", v.Decision, v.Reason)
	}
	if out, err := awsCLI(t, emu, emu.Operator, "iam", "delete-role-permissions-boundary", "--role-name", "node-d"); err != nil {
		t.Fatalf("delete-role-permissions-boundary: %v\n%s", err, out)
	}
	if v := decide("node-in-ng-d"); v.Decision != ecrreg.Allowed {
		t.Errorf("after the boundary is removed: %v (%s)", v.Decision, v.Reason)
	}

	t.Run("policy evaluator agrees with moto", func(t *testing.T) {
		for _, tt := range tests[:3] {
			role := "node-" + tt.node[len(tt.node)-1:]
			_, docs, err := acct.RolePolicies(ctx, role)
			if err != nil {
				t.Fatal(err)
			}
			if got := judge("p", acct.RepositoryARN("shop/checkout"), docs).Decision; got != tt.want {
				t.Errorf("%s: evaluator says %v, moto says %v", role, got, tt.want)
			}
		}
	})

	t.Run("runbook commands print what a trainee expects", func(t *testing.T) {
		out, err := awsCLI(t, emu, emu.Operator, "eks", "describe-nodegroup", "--cluster-name", "shop-prod", "--nodegroup-name", "ng-a", "--query", "nodegroup.nodeRole", "--output", "text")
		if err != nil || strings.TrimSpace(out) != "arn:aws:iam::123456789012:role/node-a" {
			t.Errorf("describe-nodegroup nodeRole: %v %q", err, out)
		}
		out, err = awsCLI(t, emu, emu.Operator, "iam", "list-attached-role-policies", "--role-name", "node-a", "--query", "AttachedPolicies[].PolicyName", "--output", "text")
		got := strings.Fields(out)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"}) {
			t.Errorf("list-attached-role-policies: %v %q", err, out)
		}
	})
}
