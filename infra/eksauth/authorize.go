package eksauth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdaws "github.com/gameday-sre/gameday/infra/aws"
)

// Roles gives the rules of the cluster's own ClusterRoles, which EKS's
// access policies resemble.
type Roles interface {
	// ClusterRoleRules returns the rules of the named ClusterRole (its
	// aggregated rules for admin, edit and view).
	ClusterRoleRules(ctx context.Context, name string) ([]rbacv1.PolicyRule, error)
}

// policyRoles says which of Kubernetes' user-facing ClusterRoles each EKS
// access policy grants, as EKS documents them ("similar to the
// permissions in the Kubernetes user-facing cluster roles").
var policyRoles = map[string]string{
	"AmazonEKSClusterAdminPolicy": "cluster-admin",
	"AmazonEKSAdminPolicy":        "admin",
	"AmazonEKSEditPolicy":         "edit",
	"AmazonEKSViewPolicy":         "view",
}

// policyRules are the access policies that match no user-facing role,
// with their documented rules.
var policyRules = map[string][]rbacv1.PolicyRule{
	// Reads every resource, Secrets included, cluster-wide.
	"AmazonEKSAdminViewPolicy": {{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}},
}

// Authorizer is the API server's authorization webhook
// (authorization.k8s.io/v1 SubjectAccessReview), placed after RBAC as on
// EKS: it allows what the access policies of the caller's access entry
// allow, within each policy's scope, and has no opinion otherwise. The
// entry is looked up afresh on every review, so a disassociated policy
// or a deleted entry stops granting as soon as the API server's cache of
// the answer expires.
type Authorizer struct {
	Cluster Cluster
	Roles   Roles
	// Log gets one line per allowed review; nil discards.
	Log *slog.Logger
}

// ServeHTTP answers a SubjectAccessReview.
func (a *Authorizer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var review authzv1.SubjectAccessReview
	if !readReview(w, r, &review, "SubjectAccessReview") {
		return
	}
	out := authzv1.SubjectAccessReview{
		TypeMeta: metav1.TypeMeta{APIVersion: authzv1.SchemeGroupVersion.String(), Kind: "SubjectAccessReview"},
	}
	policy, err := a.Decide(r.Context(), review.Spec)
	switch {
	case err != nil:
		out.Status.EvaluationError = err.Error()
		logOf(a.Log).Warn("access policies not evaluated", "user", review.Spec.User, "err", err)
	case policy != "":
		out.Status.Allowed = true
		out.Status.Reason = "allowed by the access policy " + policy
		logOf(a.Log).Debug("authorized", "user", review.Spec.User, "policy", policy)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(out)
}

// Decide returns the name of an access policy that allows the request,
// or "" when none does.
func (a *Authorizer) Decide(ctx context.Context, spec authzv1.SubjectAccessReviewSpec) (string, error) {
	arns := spec.Extra["canonicalArn"]
	if len(arns) != 1 {
		return "", nil // not an IAM caller
	}
	access, ok := a.Cluster.Access()
	if !ok || access.Mode == gdaws.ModeConfigMap {
		return "", nil
	}
	for _, e := range access.Entries {
		if !samePrincipal(e.PrincipalARN, arns[0]) {
			continue
		}
		for _, p := range e.Policies {
			name := strings.TrimPrefix(p.PolicyARN, "arn:aws:eks::aws:cluster-access-policy/")
			if !inScope(p.AccessScope, spec.ResourceAttributes) {
				continue
			}
			rules := policyRules[name]
			if role, ok := policyRoles[name]; ok {
				var err error
				if rules, err = a.Roles.ClusterRoleRules(ctx, role); err != nil {
					return "", err
				}
			}
			if allows(rules, spec.ResourceAttributes, spec.NonResourceAttributes) {
				return name, nil
			}
		}
		return "", nil
	}
	return "", nil
}

// inScope says a request falls in a policy's scope: any request for a
// cluster-scoped association; only requests in one of its namespaces for
// a namespace-scoped one.
func inScope(s gdaws.AccessScope, res *authzv1.ResourceAttributes) bool {
	if s.Type != "namespace" {
		return true
	}
	return res != nil && res.Namespace != "" && slices.Contains(s.Namespaces, res.Namespace)
}

// allows reports whether any rule allows the request, with RBAC's
// matching: "*" in verbs, groups and resources, "resource/subresource",
// resource names, and non-resource URLs with a trailing "*".
func allows(rules []rbacv1.PolicyRule, res *authzv1.ResourceAttributes, nonRes *authzv1.NonResourceAttributes) bool {
	for _, r := range rules {
		switch {
		case res != nil:
			if len(r.NonResourceURLs) == 0 && match(r.Verbs, res.Verb) && match(r.APIGroups, res.Group) &&
				resourceMatch(r.Resources, res.Resource, res.Subresource) &&
				(len(r.ResourceNames) == 0 || (res.Name != "" && slices.Contains(r.ResourceNames, res.Name))) {
				return true
			}
		case nonRes != nil:
			if match(r.Verbs, nonRes.Verb) && urlMatch(r.NonResourceURLs, nonRes.Path) {
				return true
			}
		}
	}
	return false
}

func match(list []string, v string) bool {
	return slices.Contains(list, "*") || slices.Contains(list, v)
}

func resourceMatch(list []string, resource, sub string) bool {
	want := resource
	if sub != "" {
		want = resource + "/" + sub
	}
	for _, r := range list {
		if r == "*" || r == want || (sub != "" && r == "*/"+sub) {
			return true
		}
	}
	return false
}

func urlMatch(list []string, path string) bool {
	for _, u := range list {
		if u == "*" || u == path || (strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimSuffix(u, "*"))) {
			return true
		}
	}
	return false
}

func logOf(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
