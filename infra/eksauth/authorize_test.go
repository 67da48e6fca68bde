package eksauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	gdaws "github.com/gameday-sre/gameday/infra/aws"
)

// fakeRoles serves ClusterRoles shaped like Kubernetes' user-facing ones.
type fakeRoles map[string][]rbacv1.PolicyRule

func (f fakeRoles) ClusterRoleRules(_ context.Context, name string) ([]rbacv1.PolicyRule, error) {
	r, ok := f[name]
	if !ok {
		return nil, errors.New("clusterroles.rbac.authorization.k8s.io \"" + name + "\" not found")
	}
	return r, nil
}

var roles = fakeRoles{
	"cluster-admin": {{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}, {NonResourceURLs: []string{"*"}, Verbs: []string{"*"}}},
	"edit": {
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "deployments/scale"}, Verbs: []string{"create", "delete", "patch", "update"}},
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list", "watch"}},
	},
	"view": {
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"public"}, Verbs: []string{"get"}},
	},
}

func TestAuthorizerDecide(t *testing.T) {
	policy := func(name string, scope gdaws.AccessScope) gdaws.AssociatedPolicy {
		return gdaws.AssociatedPolicy{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/" + name, AccessScope: scope}
	}
	cluster := gdaws.AccessScope{Type: "cluster"}
	prod := gdaws.AccessScope{Type: "namespace", Namespaces: []string{"prod"}}
	viewer := "arn:aws:iam::" + acct + ":user/viewer"
	deployRole := "arn:aws:iam::" + acct + ":role/ci/deploy"
	access := gdaws.ClusterAccess{Mode: gdaws.ModeAPIAndConfigMap, Entries: []gdaws.AccessEntry{
		{PrincipalARN: viewer, Policies: []gdaws.AssociatedPolicy{policy("AmazonEKSViewPolicy", prod)}},
		{PrincipalARN: deployRole, Policies: []gdaws.AssociatedPolicy{policy("AmazonEKSViewPolicy", cluster), policy("AmazonEKSEditPolicy", prod)}},
		{PrincipalARN: "arn:aws:iam::" + acct + ":user/root", Policies: []gdaws.AssociatedPolicy{policy("AmazonEKSClusterAdminPolicy", cluster)}},
		{PrincipalARN: "arn:aws:iam::" + acct + ":user/auditor", Policies: []gdaws.AssociatedPolicy{policy("AmazonEKSAdminViewPolicy", cluster)}},
	}}
	res := func(verb, group, resource, sub, ns, name string) *authzv1.ResourceAttributes {
		return &authzv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name}
	}
	tests := []struct {
		name   string
		arn    string
		mode   string
		res    *authzv1.ResourceAttributes
		nonRes *authzv1.NonResourceAttributes
		want   string
	}{
		{name: "view in its namespace", arn: viewer, res: res("list", "", "pods", "", "prod", ""), want: "AmazonEKSViewPolicy"},
		{name: "view outside its namespace", arn: viewer, res: res("list", "", "pods", "", "default", "")},
		{name: "a namespace scope grants nothing cluster-wide", arn: viewer, res: res("list", "", "pods", "", "", "")},
		{name: "view cannot write", arn: viewer, res: res("delete", "", "pods", "", "prod", "web")},
		{name: "a subresource named in the rule", arn: viewer, res: res("get", "", "pods", "log", "prod", "web"), want: "AmazonEKSViewPolicy"},
		{name: "a subresource not named", arn: viewer, res: res("get", "", "pods", "exec", "prod", "web")},
		{name: "a resource name that matches", arn: viewer, res: res("get", "", "configmaps", "", "prod", "public"), want: "AmazonEKSViewPolicy"},
		{name: "a resource name that does not", arn: viewer, res: res("get", "", "configmaps", "", "prod", "secret-ish")},
		{name: "a list against named rules", arn: viewer, res: res("list", "", "configmaps", "", "prod", "")},
		{name: "the second policy of an entry", arn: "arn:aws:iam::" + acct + ":role/deploy", res: res("patch", "apps", "deployments", "scale", "prod", "web"), want: "AmazonEKSEditPolicy"},
		{name: "edit stays in its scope", arn: "arn:aws:iam::" + acct + ":role/deploy", res: res("patch", "apps", "deployments", "", "default", "web")},
		{name: "cluster admin, a non-resource URL", arn: "arn:aws:iam::" + acct + ":user/root", nonRes: &authzv1.NonResourceAttributes{Verb: "get", Path: "/metrics"}, want: "AmazonEKSClusterAdminPolicy"},
		{name: "view has no non-resource URL", arn: viewer, nonRes: &authzv1.NonResourceAttributes{Verb: "get", Path: "/metrics"}},
		{name: "admin view reads secrets anywhere", arn: "arn:aws:iam::" + acct + ":user/auditor", res: res("get", "", "secrets", "", "kube-system", "x"), want: "AmazonEKSAdminViewPolicy"},
		{name: "admin view writes nothing", arn: "arn:aws:iam::" + acct + ":user/auditor", res: res("update", "", "secrets", "", "kube-system", "x")},
		{name: "no entry", arn: "arn:aws:iam::" + acct + ":user/stranger", res: res("list", "", "pods", "", "prod", "")},
		{name: "CONFIG_MAP mode applies no policy", arn: viewer, mode: gdaws.ModeConfigMap, res: res("list", "", "pods", "", "prod", "")},
		{name: "not an IAM caller", res: res("list", "", "pods", "", "prod", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := access
			if tt.mode != "" {
				a.Mode = tt.mode
			}
			spec := authzv1.SubjectAccessReviewSpec{ResourceAttributes: tt.res, NonResourceAttributes: tt.nonRes}
			if tt.arn != "" {
				spec.Extra = map[string]authzv1.ExtraValue{"canonicalArn": {tt.arn}}
			}
			got, err := (&Authorizer{Cluster: fakeCluster{access: a}, Roles: roles}).Decide(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Decide = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAuthorizerServe(t *testing.T) {
	access := gdaws.ClusterAccess{Mode: gdaws.ModeAPI, Entries: []gdaws.AccessEntry{{
		PrincipalARN: "arn:aws:iam::" + acct + ":user/viewer",
		Policies:     []gdaws.AssociatedPolicy{{PolicyARN: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy", AccessScope: gdaws.AccessScope{Type: "cluster"}}},
	}}}
	review := func(arn string) authzv1.SubjectAccessReview {
		return authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: "viewer", Extra: map[string]authzv1.ExtraValue{"canonicalArn": {arn}},
			ResourceAttributes: &authzv1.ResourceAttributes{Verb: "get", Resource: "pods", Namespace: "prod"},
		}}
	}
	tests := []struct {
		name        string
		roles       fakeRoles
		arn         string
		wantAllowed bool
		wantError   string
	}{
		{name: "allowed by a policy", roles: fakeRoles{"admin": roles["view"]}, arn: "arn:aws:iam::" + acct + ":user/viewer", wantAllowed: true},
		{name: "no opinion", roles: fakeRoles{"admin": roles["view"]}, arn: "arn:aws:iam::" + acct + ":user/other"},
		{name: "the role cannot be read", roles: fakeRoles{}, arn: "arn:aws:iam::" + acct + ":user/viewer", wantError: `"admin" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(&Authorizer{Cluster: fakeCluster{access: access}, Roles: tt.roles})
			defer srv.Close()
			_, out := postReview[authzv1.SubjectAccessReview](t, srv.URL, review(tt.arn))
			if out.Kind != "SubjectAccessReview" || out.APIVersion != "authorization.k8s.io/v1" {
				t.Errorf("answer is %s %s", out.APIVersion, out.Kind)
			}
			if out.Status.Allowed != tt.wantAllowed || out.Status.Denied {
				t.Errorf("status = %+v, want allowed=%v and never denied", out.Status, tt.wantAllowed)
			}
			if tt.wantError == "" && out.Status.EvaluationError != "" || !bytes.Contains([]byte(out.Status.EvaluationError), []byte(tt.wantError)) {
				t.Errorf("evaluation error %q, want %q", out.Status.EvaluationError, tt.wantError)
			}
		})
	}
}

// fakeCluster is a cluster's access state, without aws-auth.
type fakeCluster struct{ access gdaws.ClusterAccess }

func (f fakeCluster) Access() (gdaws.ClusterAccess, bool)              { return f.access, true }
func (fakeCluster) AWSAuth(context.Context) (map[string]string, error) { return nil, nil }

// postReview posts a review as the API server does and decodes the
// answer.
func postReview[T any](t *testing.T, url string, in any) (int, T) {
	t.Helper()
	b, _ := json.Marshal(in)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out T
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}
