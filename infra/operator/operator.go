// Package operator sets up the operator's Kubernetes identity, the same
// on every backend: the user whose requests the API server's audit log
// records for the timeline, bound to a ClusterRole, with a kubeconfig in
// the run directory.
package operator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/certificate/csr"
	"k8s.io/client-go/util/keyutil"

	"github.com/gameday-sre/gameday/internal/domain/eks"
)

// User is the Kubernetes user of the operator's kubeconfig.
const User = "operator"

// Group is the operator's group.
const Group = "gameday:operators"

// WriteVerbs are the Kubernetes API verbs that change the cluster: the
// audit policy keeps their request bodies, and a write by the operator
// is what lets a failed verification run again.
var WriteVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}

// AuditPolicy records the requests of the operator and the named
// responders (everyone in Group): request bodies for writes, metadata
// for reads, nothing for anyone else.
var AuditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Request
    userGroups: ["` + Group + `"]
    verbs: ["` + strings.Join(WriteVerbs, `", "`) + `"]
  - level: Metadata
    userGroups: ["` + Group + `"]
  - level: None
`

// reserved are names a responder may not take: they already name who
// acts in a journal, or gameday's own identities.
var reserved = []string{User, "facilitator", "autopilot", "detector", "gameday", "gameday-admin", "admin", "system"}

// responderName is a responder's name: a Kubernetes user and an IAM user
// name at once, and a word on the board.
var responderName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// CheckResponders checks the names of a team's responders: lowercase
// letters, digits and '-', starting with a letter, at most 31
// characters, unique, none of gameday's own names.
func CheckResponders(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case !responderName.MatchString(n):
			return fmt.Errorf("responder %q: want lowercase letters, digits and '-', starting with a letter, at most 31 characters", n)
		case slices.Contains(reserved, n):
			return fmt.Errorf("responder %q: the name is gameday's own; pick another", n)
		case seen[n]:
			return fmt.Errorf("responder %q is named twice", n)
		}
		seen[n] = true
	}
	return nil
}

// Bind binds clusterRole to the operator.
func Bind(ctx context.Context, cs kubernetes.Interface, runID, clusterRole string) error {
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "gameday-operator", Labels: map[string]string{eks.RunIDLabel: runID}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects: []rbacv1.Subject{
			{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: User},
			{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: Group}, // the named responders
		},
	}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("bind operator role: %w", err)
	}
	return nil
}

// certLifetime is how long an operator certificate issued through the
// CSR API lasts: longer than any game, short enough not to matter.
const certLifetime = 24 * time.Hour

// IssueKubeconfig gets user, in Group, a client certificate from the
// cluster's own signer through the CertificateSigningRequest API (a kind
// cluster's CA key stays inside its control-plane node), approves it as
// admin, and writes a kubeconfig for it to path. admin supplies the
// server address and CA. user is User, or a responder's name.
func IssueKubeconfig(ctx context.Context, cs kubernetes.Interface, admin *rest.Config, runID, clusterName, user, path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("operator key: %w", err)
	}
	der, err := cert.MakeCSR(key, &pkix.Name{CommonName: user, Organization: []string{Group}}, nil, nil)
	if err != nil {
		return fmt.Errorf("operator csr: %w", err)
	}
	req := &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "gameday-" + user + "-" + runID, Labels: map[string]string{eks.RunIDLabel: runID}},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:           der,
			SignerName:        certificatesv1.KubeAPIServerClientSignerName,
			ExpirationSeconds: csr.DurationToExpirationSeconds(certLifetime),
			Usages:            []certificatesv1.KeyUsage{certificatesv1.UsageDigitalSignature, certificatesv1.UsageClientAuth},
		},
	}
	csrs := cs.CertificatesV1().CertificateSigningRequests()
	created, err := csrs.Create(ctx, req, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create operator csr: %w", err)
	}
	created.Status.Conditions = append(created.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type: certificatesv1.CertificateApproved, Status: "True",
		Reason: "GamedayOperator", Message: "the operator of gameday run " + runID,
	})
	if _, err := csrs.UpdateApproval(ctx, created.Name, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("approve operator csr: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	certPEM, err := csr.WaitForCertificate(ctx, cs, created.Name, created.UID)
	if err != nil {
		return fmt.Errorf("wait for the operator certificate: %w", err)
	}
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return fmt.Errorf("operator key: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[clusterName] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: admin.CAData}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts[clusterName] = &clientcmdapi.Context{Cluster: clusterName, AuthInfo: user}
	cfg.CurrentContext = clusterName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write operator kubeconfig: %w", err)
	}
	return nil
}
