package aws

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestAccessRoutes(t *testing.T) {
	role := "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fteam%2Fdeploy"
	tests := []struct {
		method, path string
		want         accessRoute
	}{
		{"GET", "/access-policies", accessRoute{action: "ListAccessPolicies"}},
		{"POST", "/clusters/shop-prod/access-entries", accessRoute{action: "CreateAccessEntry", cluster: "shop-prod"}},
		{"GET", "/clusters/shop-prod/access-entries", accessRoute{action: "ListAccessEntries", cluster: "shop-prod"}},
		{"GET", "/clusters/shop-prod/access-entries/" + role, accessRoute{action: "DescribeAccessEntry", cluster: "shop-prod", principal: "arn:aws:iam::123456789012:role/team/deploy"}},
		{"POST", "/clusters/shop-prod/access-entries/" + role, accessRoute{action: "UpdateAccessEntry", cluster: "shop-prod", principal: "arn:aws:iam::123456789012:role/team/deploy"}},
		{"DELETE", "/clusters/shop-prod/access-entries/" + role, accessRoute{action: "DeleteAccessEntry", cluster: "shop-prod", principal: "arn:aws:iam::123456789012:role/team/deploy"}},
		{"POST", "/clusters/shop-prod/access-entries/" + role + "/access-policies", accessRoute{action: "AssociateAccessPolicy", cluster: "shop-prod", principal: "arn:aws:iam::123456789012:role/team/deploy"}},
		{"GET", "/clusters/shop-prod/access-entries/" + role + "/access-policies", accessRoute{action: "ListAssociatedAccessPolicies", cluster: "shop-prod", principal: "arn:aws:iam::123456789012:role/team/deploy"}},
		{"DELETE", "/clusters/shop-prod/access-entries/" + role + "/access-policies/arn%3Aaws%3Aeks%3A%3Aaws%3Acluster-access-policy%2FAmazonEKSViewPolicy",
			accessRoute{action: "DisassociateAccessPolicy", cluster: "shop-prod", principal: "arn:aws:iam::123456789012:role/team/deploy", policy: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"}},
		{"POST", "/clusters/shop-prod/update-config", accessRoute{action: "UpdateClusterConfig", cluster: "shop-prod"}},
		{"GET", "/clusters/shop-prod", accessRoute{}},
		{"GET", "/clusters/shop-prod/node-groups/ng-a", accessRoute{}},
		{"PUT", "/clusters/shop-prod/access-entries", accessRoute{}},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			got, ok := route(httptest.NewRequest(tt.method, tt.path, nil))
			if ok != (tt.want.action != "") || got != tt.want {
				t.Errorf("route = %+v, %v; want %+v", got, ok, tt.want)
			}
		})
	}
}

func TestParsePrincipal(t *testing.T) {
	tests := []struct {
		arn                 string
		kind, account, name string
		ok                  bool
	}{
		{"arn:aws:iam::123456789012:role/deploy", "role", "123456789012", "deploy", true},
		{"arn:aws:iam::123456789012:role/team/deploy", "role", "123456789012", "deploy", true},
		{"arn:aws:iam::123456789012:user/alice", "user", "123456789012", "alice", true},
		{"arn:aws:sts::123456789012:assumed-role/deploy/s", "", "", "", false},
		{"arn:aws:iam::123456789012:group/admins", "", "", "", false},
		{"arn:aws:iam::1234:role/deploy", "", "", "", false},
		{"deploy", "", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			kind, account, name, ok := ParsePrincipal(tt.arn)
			if kind != tt.kind || account != tt.account || name != tt.name || ok != tt.ok {
				t.Errorf("ParsePrincipal = %q %q %q %v", kind, account, name, ok)
			}
		})
	}
}

// eksJSON runs the aws CLI as the operator and decodes its JSON answer;
// on failure it returns the CLI's error text.
func eksJSON(t *testing.T, emu *Emulator, args ...string) (map[string]any, string) {
	t.Helper()
	out, err := awsCLI(t, emu, emu.Operator, append([]string{"eks"}, args...)...)
	if err != nil {
		return nil, strings.TrimSpace(out)
	}
	var v map[string]any
	if strings.TrimSpace(out) == "" {
		return map[string]any{}, ""
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("aws eks %v printed %s", args, out)
	}
	return v, ""
}

func TestIntegrationAccessEntries(t *testing.T) {
	emu := startMoto(t)
	acct := emu.AccountID
	deploy := "arn:aws:iam::" + acct + ":role/deploy-pipeline"
	view := "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
	admin := "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	roleARN := "arn:aws:iam::" + acct + ":role/eks-cluster"
	create := func(name, mode string) {
		t.Helper()
		args := []string{"create-cluster", "--name", name, "--role-arn", roleARN, "--resources-vpc-config", "subnetIds=subnet-1"}
		if mode != "" {
			args = append(args, "--access-config", "authenticationMode="+mode)
		}
		if _, msg := eksJSON(t, emu, args...); msg != "" {
			t.Fatalf("create-cluster %s: %s", name, msg)
		}
	}
	create("shop-prod", "API_AND_CONFIG_MAP")
	create("legacy", "")

	// Each step is one stock CLI call, with what its answer must hold,
	// or the error it must fail with; they run in order on shop-prod.
	steps := []struct {
		name    string
		args    []string
		want    []string // substrings of the JSON answer
		wantErr string
	}{
		{"the cluster shows its mode", []string{"describe-cluster", "--name", "shop-prod"},
			[]string{`"authenticationMode":"API_AND_CONFIG_MAP"`, `"bootstrapClusterCreatorAdminPermissions":true`}, ""},
		{"the creator is an administrator", []string{"list-associated-access-policies", "--cluster-name", "shop-prod", "--principal-arn", "arn:aws:iam::" + acct + ":user/operator"},
			[]string{admin, `"type":"cluster"`}, ""},
		{"an entry", []string{"create-access-entry", "--cluster-name", "shop-prod", "--principal-arn", deploy, "--kubernetes-groups", "deployers"},
			[]string{`"principalArn":"` + deploy + `"`, `"kubernetesGroups":["deployers"]`, `"type":"STANDARD"`, `"username":"arn:aws:sts::` + acct + `:assumed-role/deploy-pipeline/{{SessionName}}"`, `"accessEntryArn":"arn:aws:eks:us-east-1:` + acct + `:access-entry/shop-prod/role/` + acct + `/deploy-pipeline/`}, ""},
		{"the same entry twice", []string{"create-access-entry", "--cluster-name", "shop-prod", "--principal-arn", deploy},
			nil, "(ResourceInUseException) when calling the CreateAccessEntry operation: The specified access entry resource is already in use on this cluster."},
		{"a group EKS keeps", []string{"create-access-entry", "--cluster-name", "shop-prod", "--principal-arn", "arn:aws:iam::" + acct + ":role/other", "--kubernetes-groups", "system:masters"},
			nil, "(InvalidParameterException) when calling the CreateAccessEntry operation: The kubernetes group name system:masters is invalid, it cannot start with system:"},
		{"not a principal", []string{"create-access-entry", "--cluster-name", "shop-prod", "--principal-arn", "arn:aws:iam::" + acct + ":group/admins"},
			nil, "(InvalidParameterException) when calling the CreateAccessEntry operation: The specified principalArn is invalid: invalid principal."},
		{"listed", []string{"list-access-entries", "--cluster-name", "shop-prod"}, []string{deploy, "user/operator"}, ""},
		{"a policy scoped to namespaces", []string{"associate-access-policy", "--cluster-name", "shop-prod", "--principal-arn", deploy, "--policy-arn", view, "--access-scope", "type=namespace,namespaces=prod,staging"},
			[]string{`"policyArn":"` + view + `"`, `"namespaces":["prod","staging"]`}, ""},
		{"an unknown policy", []string{"associate-access-policy", "--cluster-name", "shop-prod", "--principal-arn", deploy, "--policy-arn", "arn:aws:eks::aws:cluster-access-policy/AmazonEKSRootPolicy", "--access-scope", "type=cluster"},
			nil, "(InvalidParameterException)"},
		{"listed by policy", []string{"list-associated-access-policies", "--cluster-name", "shop-prod", "--principal-arn", deploy}, []string{view, `"prod"`}, ""},
		{"updated", []string{"update-access-entry", "--cluster-name", "shop-prod", "--principal-arn", deploy, "--kubernetes-groups", "deployers", "auditors"},
			[]string{`"kubernetesGroups":["deployers","auditors"]`}, ""},
		{"disassociated", []string{"disassociate-access-policy", "--cluster-name", "shop-prod", "--principal-arn", deploy, "--policy-arn", view}, nil, ""},
		{"no policy left", []string{"list-associated-access-policies", "--cluster-name", "shop-prod", "--principal-arn", deploy}, []string{`"associatedAccessPolicies":[]`}, ""},
		{"deleted", []string{"delete-access-entry", "--cluster-name", "shop-prod", "--principal-arn", deploy}, nil, ""},
		{"gone", []string{"describe-access-entry", "--cluster-name", "shop-prod", "--principal-arn", deploy},
			nil, "(ResourceNotFoundException) when calling the DescribeAccessEntry operation: The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'."},
		{"no such cluster", []string{"list-access-entries", "--cluster-name", "nowhere"},
			nil, "(ResourceNotFoundException) when calling the ListAccessEntries operation: No cluster found for name: nowhere."},
		{"the policies EKS offers", []string{"list-access-policies"}, []string{admin, view}, ""},
		{"aws-auth only", []string{"list-access-entries", "--cluster-name", "legacy"},
			nil, "(InvalidRequestException) when calling the ListAccessEntries operation: The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."},
		{"no leap to API", []string{"update-cluster-config", "--name", "legacy", "--access-config", "authenticationMode=API"},
			nil, "(InvalidParameterException) when calling the UpdateClusterConfig operation: Unsupported authentication mode update from CONFIG_MAP to API"},
		{"one step to API_AND_CONFIG_MAP", []string{"update-cluster-config", "--name", "legacy", "--access-config", "authenticationMode=API_AND_CONFIG_MAP"},
			[]string{`"type":"AccessConfigUpdate"`, `"value":"API_AND_CONFIG_MAP"`}, ""},
		{"entries now", []string{"list-access-entries", "--cluster-name", "legacy"}, []string{`"accessEntries":[]`}, ""},
		{"no way back", []string{"update-cluster-config", "--name", "shop-prod", "--access-config", "authenticationMode=CONFIG_MAP"},
			nil, "Unsupported authentication mode update from API_AND_CONFIG_MAP to CONFIG_MAP"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			v, msg := eksJSON(t, emu, st.args...)
			if st.wantErr != "" {
				if !strings.Contains(msg, st.wantErr) {
					t.Fatalf("aws eks %v: %q, want an error with %q", st.args, msg, st.wantErr)
				}
				return
			}
			if msg != "" {
				t.Fatalf("aws eks %v: %s", st.args, msg)
			}
			b, _ := json.Marshal(v)
			for _, w := range st.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("aws eks %v answered %s\nwant %s", st.args, b, w)
				}
			}
		})
	}
	if c, ok := emu.ClusterAccess("legacy"); !ok || c.Mode != ModeAPIAndConfigMap {
		t.Errorf("ClusterAccess(legacy) = %+v, %v", c, ok)
	}
	if _, msg := eksJSON(t, emu, "delete-cluster", "--name", "legacy"); msg != "" {
		t.Fatal(msg)
	}
	if _, ok := emu.ClusterAccess("legacy"); ok {
		t.Error("a deleted cluster keeps its access state")
	}
}

// An assumed role's keys reach EKS's body-less reads too: the front door
// learned them from the AssumeRole answer, so it can check and re-sign
// such a request as it does for the keys gameday issued.
func TestIntegrationAssumedRoleReadsEKS(t *testing.T) {
	emu := startMoto(t)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + emu.AccountID + `:user/operator"},"Action":"sts:AssumeRole"}]}`
	for _, args := range [][]string{
		{"iam", "create-role", "--role-name", "break-glass", "--assume-role-policy-document", trust},
		{"iam", "attach-role-policy", "--role-name", "break-glass", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess"},
		{"eks", "create-cluster", "--name", "shop-prod", "--role-arn", "arn:aws:iam::" + emu.AccountID + ":role/eks", "--resources-vpc-config", "subnetIds=subnet-1"},
	} {
		if out, err := awsCLI(t, emu, emu.Operator, args...); err != nil {
			t.Fatalf("aws %v: %v\n%s", args, err, out)
		}
	}
	out, err := awsCLI(t, emu, emu.Operator, "sts", "assume-role", "--role-arn", "arn:aws:iam::"+emu.AccountID+":role/break-glass", "--role-session-name", "alice")
	if err != nil {
		t.Fatalf("assume-role: %v\n%s", err, out)
	}
	var creds struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	if err := json.Unmarshal([]byte(out), &creds); err != nil {
		t.Fatal(err)
	}
	c := creds.Credentials
	cmd := exec.Command("aws", "eks", "describe-cluster", "--name", "shop-prod", "--query", "cluster.accessConfig.authenticationMode", "--output", "text")
	cmd.Env = append(emu.UserEnv(Credentials{AccessKeyID: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey}),
		"AWS_SESSION_TOKEN="+c.SessionToken, "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir())
	got, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != ModeConfigMap {
		t.Errorf("describe-cluster as the assumed role: %v\n%s", err, got)
	}
}
