package eksauth

import (
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/aws-iam-authenticator/pkg/mapper/configmap"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"

	gdaws "github.com/gameday-sre/gameday/infra/aws"
)

// ErrNotMapped says a verified caller has no access entry and no aws-auth
// mapping that the cluster's authentication mode honours: EKS answers
// Unauthorized.
var ErrNotMapped = errors.New("ARN is not mapped")

// User is a caller as Kubernetes sees it.
type User struct {
	Username string
	UID      string
	Groups   []string
	// Extra carries the AWS identity, as EKS's authenticator gives it.
	Extra map[string][]string
	// Policies are the access policies of the caller's access entry (none
	// for an aws-auth mapping); EKS's authorizer applies them.
	Policies []gdaws.AssociatedPolicy
	// Source says what mapped the caller: "access entry", "aws-auth",
	// "aws-auth mapAccounts" or "cluster creator".
	Source string
}

// Map finds who a verified identity is on a cluster, as EKS does: by the
// cluster's access entries when its authentication mode has them (they
// win over aws-auth in API_AND_CONFIG_MAP), by the aws-auth ConfigMap's
// data (parsed by the authenticator's own configmap package) when the
// mode has it. In CONFIG_MAP mode the cluster's creator is an
// administrator that aws-auth does not show. awsAuth is nil when the
// ConfigMap does not exist.
func Map(id *token.Identity, access gdaws.ClusterAccess, awsAuth map[string]string) (User, error) {
	entries := access.Mode == gdaws.ModeAPI || access.Mode == gdaws.ModeAPIAndConfigMap
	configMap := access.Mode == gdaws.ModeConfigMap || access.Mode == gdaws.ModeAPIAndConfigMap
	if entries {
		for _, e := range access.Entries {
			if samePrincipal(e.PrincipalARN, id.CanonicalARN) {
				return finish(id, User{Username: e.Username, Groups: e.KubernetesGroups, Policies: e.Policies, Source: "access entry"})
			}
		}
	}
	if access.Mode == gdaws.ModeConfigMap && access.BootstrapAdmin && samePrincipal(access.Creator, id.CanonicalARN) {
		return finish(id, User{Username: "kubernetes-admin", Groups: []string{"system:masters"}, Source: "cluster creator"})
	}
	if !configMap || awsAuth == nil {
		return User{}, ErrNotMapped
	}
	users, roles, accounts, err := configmap.ParseMap(awsAuth)
	if err != nil {
		return User{}, fmt.Errorf("aws-auth: %w", err)
	}
	canonical := strings.ToLower(id.CanonicalARN)
	for _, u := range users {
		if strings.ToLower(u.UserARN) == canonical {
			return finish(id, User{Username: u.Username, Groups: u.Groups, Source: "aws-auth"})
		}
	}
	for _, r := range roles {
		if strings.ToLower(r.RoleARN) == canonical {
			return finish(id, User{Username: r.Username, Groups: r.Groups, Source: "aws-auth"})
		}
	}
	for _, a := range accounts {
		if a == id.AccountID {
			return finish(id, User{Username: id.CanonicalARN, Groups: []string{}, Source: "aws-auth mapAccounts"})
		}
	}
	return User{}, ErrNotMapped
}

// samePrincipal says an access entry's (or the creator's) principal is
// the canonical ARN. An assumed role's canonical ARN has no path, so a
// role matches by account and name.
func samePrincipal(principal, canonical string) bool {
	if principal == canonical {
		return true
	}
	kind, account, name, ok := gdaws.ParsePrincipal(principal)
	ckind, caccount, cname, cok := gdaws.ParsePrincipal(canonical)
	return ok && cok && kind == "role" && ckind == "role" && account == caccount && name == cname
}

// finish renders the mapping's templates as the authenticator does and
// adds the identity's UID and extras.
func finish(id *token.Identity, u User) (User, error) {
	name, err := render(u.Username, id)
	if err != nil {
		return User{}, fmt.Errorf("error rendering username template %q: %w", u.Username, err)
	}
	u.Username = name
	groups := make([]string, 0, len(u.Groups))
	for _, g := range u.Groups {
		r, err := render(g, id)
		if err != nil {
			return User{}, fmt.Errorf("error rendering group template %q: %w", g, err)
		}
		groups = append(groups, r)
	}
	u.Groups = groups
	u.UID = "aws-iam-authenticator:" + id.AccountID + ":" + id.UserID
	u.Extra = map[string][]string{
		"arn": {id.ARN}, "canonicalArn": {id.CanonicalARN}, "sessionName": {id.SessionName},
		"accessKeyId": {id.AccessKeyID}, "principalId": {id.UserID},
	}
	return u, nil
}

// render fills a username or group template. {{EC2PrivateDNSName}} needs
// an instance's session; gameday's nodes authenticate by certificate, so
// no caller has one.
func render(t string, id *token.Identity) (string, error) {
	if strings.Contains(t, "{{EC2PrivateDNSName}}") {
		return "", errors.New("SessionName did not contain an instance id")
	}
	r := strings.NewReplacer(
		"{{AccountID}}", id.AccountID,
		"{{SessionName}}", strings.ReplaceAll(id.SessionName, "@", "-"),
		"{{SessionNameRaw}}", id.SessionName,
		"{{AccessKeyID}}", id.AccessKeyID,
	)
	return r.Replace(t), nil
}
