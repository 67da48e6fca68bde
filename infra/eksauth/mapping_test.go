package eksauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	authnv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"

	gdaws "github.com/gameday-sre/gameday/infra/aws"
)

const acct = "123456789012"

func TestMap(t *testing.T) {
	operator := &token.Identity{ARN: "arn:aws:iam::" + acct + ":user/operator", CanonicalARN: "arn:aws:iam::" + acct + ":user/operator", AccountID: acct, UserID: "AIDAOPERATOR"}
	deploy := &token.Identity{ARN: "arn:aws:sts::" + acct + ":assumed-role/deploy/ci@build", CanonicalARN: "arn:aws:iam::" + acct + ":role/deploy", AccountID: acct, UserID: "AROADEPLOY", SessionName: "ci@build"}
	view := gdaws.AssociatedPolicy{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", AccessScope: gdaws.AccessScope{Type: "cluster"}}
	deployEntry := gdaws.AccessEntry{PrincipalARN: "arn:aws:iam::" + acct + ":role/ci/deploy", Username: "arn:aws:sts::" + acct + ":assumed-role/deploy/{{SessionName}}", KubernetesGroups: []string{"deployers"}, Policies: []gdaws.AssociatedPolicy{view}}
	awsAuth := map[string]string{
		"mapRoles":    "- rolearn: arn:aws:iam::" + acct + ":role/deploy\n  username: legacy:{{SessionNameRaw}}\n  groups:\n    - legacy-deployers\n",
		"mapUsers":    "- userarn: ARN:AWS:IAM::" + acct + ":USER/OPERATOR\n  username: op-{{AccountID}}\n  groups: [ops]\n",
		"mapAccounts": "",
	}
	tests := []struct {
		name       string
		id         *token.Identity
		access     gdaws.ClusterAccess
		awsAuth    map[string]string
		wantUser   string
		wantGroups []string
		wantSource string
		wantErr    string
	}{
		{name: "an access entry, its role named with a path", id: deploy, access: gdaws.ClusterAccess{Mode: gdaws.ModeAPI, Entries: []gdaws.AccessEntry{deployEntry}},
			wantUser: "arn:aws:sts::" + acct + ":assumed-role/deploy/ci-build", wantGroups: []string{"deployers"}, wantSource: "access entry"},
		{name: "API mode reads no aws-auth", id: deploy, access: gdaws.ClusterAccess{Mode: gdaws.ModeAPI}, awsAuth: awsAuth, wantErr: "not mapped"},
		{name: "CONFIG_MAP mode reads no entry", id: deploy, access: gdaws.ClusterAccess{Mode: gdaws.ModeConfigMap, Entries: []gdaws.AccessEntry{deployEntry}}, awsAuth: awsAuth,
			wantUser: "legacy:ci@build", wantGroups: []string{"legacy-deployers"}, wantSource: "aws-auth"},
		{name: "an entry wins over aws-auth", id: deploy, access: gdaws.ClusterAccess{Mode: gdaws.ModeAPIAndConfigMap, Entries: []gdaws.AccessEntry{deployEntry}}, awsAuth: awsAuth,
			wantUser: "arn:aws:sts::" + acct + ":assumed-role/deploy/ci-build", wantGroups: []string{"deployers"}, wantSource: "access entry"},
		{name: "aws-auth ARNs match in any case", id: operator, access: gdaws.ClusterAccess{Mode: gdaws.ModeAPIAndConfigMap}, awsAuth: awsAuth,
			wantUser: "op-" + acct, wantGroups: []string{"ops"}, wantSource: "aws-auth"},
		{name: "the creator of a CONFIG_MAP cluster", id: operator, access: gdaws.ClusterAccess{Mode: gdaws.ModeConfigMap, BootstrapAdmin: true, Creator: operator.CanonicalARN},
			wantUser: "kubernetes-admin", wantGroups: []string{"system:masters"}, wantSource: "cluster creator"},
		{name: "mapAccounts", id: operator, access: gdaws.ClusterAccess{Mode: gdaws.ModeConfigMap}, awsAuth: map[string]string{"mapAccounts": "- \"" + acct + "\"\n"},
			wantUser: operator.CanonicalARN, wantGroups: []string{}, wantSource: "aws-auth mapAccounts"},
		{name: "no aws-auth at all", id: operator, access: gdaws.ClusterAccess{Mode: gdaws.ModeConfigMap}, wantErr: "not mapped"},
		{name: "a node's template needs an instance", id: deploy, access: gdaws.ClusterAccess{Mode: gdaws.ModeConfigMap},
			awsAuth: map[string]string{"mapRoles": "- rolearn: arn:aws:iam::" + acct + ":role/deploy\n  username: system:node:{{EC2PrivateDNSName}}\n"}, wantErr: "did not contain an instance id"},
		{name: "a broken aws-auth", id: deploy, access: gdaws.ClusterAccess{Mode: gdaws.ModeConfigMap}, awsAuth: map[string]string{"mapRoles": "- rolearn: [\n"}, wantErr: "aws-auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Map(tt.id, tt.access, tt.awsAuth)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Map = %+v, %v; want an error with %q", u, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Username != tt.wantUser || !slices.Equal(u.Groups, tt.wantGroups) || u.Source != tt.wantSource {
				t.Errorf("Map = %q %v via %s; want %q %v via %s", u.Username, u.Groups, u.Source, tt.wantUser, tt.wantGroups, tt.wantSource)
			}
			if u.UID != "aws-iam-authenticator:"+acct+":"+tt.id.UserID || u.Extra["canonicalArn"][0] != tt.id.CanonicalARN {
				t.Errorf("uid %q, extra %v", u.UID, u.Extra)
			}
		})
	}
	if _, err := Map(operator, gdaws.ClusterAccess{Mode: gdaws.ModeAPI}, nil); !errors.Is(err, ErrNotMapped) {
		t.Errorf("an unmapped caller: %v, want ErrNotMapped", err)
	}
}

// emuCluster reads a cluster's access state from the emulator and its
// aws-auth from a map.
type emuCluster struct {
	emu     *gdaws.Emulator
	name    string
	awsAuth map[string]string
}

func (c emuCluster) Access() (gdaws.ClusterAccess, bool) { return c.emu.ClusterAccess(c.name) }
func (c emuCluster) AWSAuth(context.Context) (map[string]string, error) {
	return c.awsAuth, nil
}

func TestIntegrationWebhook(t *testing.T) {
	emu := startMoto(t)
	cli := func(args ...string) {
		t.Helper()
		if out, err := awsRun(t, emu, emu.Operator, args...); err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
	}
	cli("eks", "create-cluster", "--name", "shop-prod", "--role-arn", "arn:aws:iam::"+emu.AccountID+":role/eks", "--resources-vpc-config", "subnetIds=subnet-1",
		"--access-config", "authenticationMode=API_AND_CONFIG_MAP")
	hook := &Webhook{Verifier: &Verifier{ClusterID: "shop-prod", STSEndpoint: emu.Endpoint}, Cluster: emuCluster{emu: emu, name: "shop-prod"}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	review := func(tok string) (int, authnv1.TokenReview) {
		t.Helper()
		return postReview[authnv1.TokenReview](t, srv.URL, authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: tok}})
	}
	tok := getToken(t, emu, emu.Operator, "--cluster-name", "shop-prod")
	code, out := review(tok)
	if code != 200 || !out.Status.Authenticated || out.Status.User.Username != "arn:aws:iam::"+emu.AccountID+":user/operator" {
		t.Fatalf("the cluster's creator: %d %+v", code, out.Status)
	}
	// Without its access entry, the same caller is refused.
	cli("eks", "delete-access-entry", "--cluster-name", "shop-prod", "--principal-arn", "arn:aws:iam::"+emu.AccountID+":user/operator")
	if code, out := review(tok); code != http.StatusForbidden || out.Status.Authenticated {
		t.Errorf("after its entry was deleted: %d %+v", code, out.Status)
	}
	if code, out := review(TokenPrefix + "garbage"); code != http.StatusForbidden || out.Status.Authenticated {
		t.Errorf("a garbage token: %d %+v", code, out.Status)
	}
}

// awsRun runs the stock aws CLI with credentials c.
func awsRun(t *testing.T, emu *gdaws.Emulator, c gdaws.Credentials, args ...string) (string, error) {
	t.Helper()
	cmd := execAWS(t, emu, c, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
