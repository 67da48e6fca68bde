package operator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/cert"

	"github.com/gameday-sre/gameday/internal/domain/eks"
)

// signer plays the controller manager's kube-apiserver-client signer: it
// signs a CSR once it is approved.
func signer(t *testing.T, cs *fake.Clientset) *x509.Certificate {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := cert.NewSelfSignedCACert(cert.Config{CommonName: "kubernetes"}, caKey)
	if err != nil {
		t.Fatal(err)
	}
	cs.PrependReactor("update", "certificatesigningrequests", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.UpdateAction)
		if u.GetSubresource() != "approval" {
			return false, nil, nil
		}
		req := u.GetObject().(*certificatesv1.CertificateSigningRequest).DeepCopy()
		approved := slices.ContainsFunc(req.Status.Conditions, func(c certificatesv1.CertificateSigningRequestCondition) bool {
			return c.Type == certificatesv1.CertificateApproved && c.Status == "True"
		})
		if approved && req.Spec.SignerName == certificatesv1.KubeAPIServerClientSignerName {
			block, _ := pem.Decode(req.Spec.Request)
			cr, err := x509.ParseCertificateRequest(block.Bytes)
			if err != nil {
				return true, nil, err
			}
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(2), Subject: cr.Subject, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour),
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, cr.PublicKey, caKey)
			if err != nil {
				return true, nil, err
			}
			req.Status.Certificate = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		}
		if err := cs.Tracker().Update(certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests"), req, ""); err != nil {
			return true, nil, err
		}
		return true, req, nil
	})
	return ca
}

func TestIssueKubeconfig(t *testing.T) {
	for _, name := range []string{User, "alice"} {
		t.Run(name, func(t *testing.T) { checkIssueKubeconfig(t, name) })
	}
}

// checkIssueKubeconfig issues a kubeconfig for name and checks it.
func checkIssueKubeconfig(t *testing.T, name string) {
	cs := fake.NewClientset()
	ca := signer(t, cs)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})
	admin := &rest.Config{Host: "https://127.0.0.1:40123", TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}}
	path := filepath.Join(t.TempDir(), "operator.kubeconfig")
	if err := IssueKubeconfig(context.Background(), cs, admin, "r1", "gameday-r1", name, path); err != nil {
		t.Fatal(err)
	}

	req, err := cs.CertificatesV1().CertificateSigningRequests().Get(context.Background(), "gameday-"+name+"-r1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if req.Labels[eks.RunIDLabel] != "r1" {
		t.Errorf("csr labels = %v, want the run id", req.Labels)
	}
	if !slices.Contains(req.Spec.Usages, certificatesv1.UsageClientAuth) {
		t.Errorf("usages = %v", req.Spec.Usages)
	}

	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kctx := cfg.Contexts[cfg.CurrentContext]
	if cfg.CurrentContext != "gameday-r1" || kctx == nil || kctx.AuthInfo != name {
		t.Fatalf("context = %q %+v", cfg.CurrentContext, kctx)
	}
	cl := cfg.Clusters[kctx.Cluster]
	if cl.Server != admin.Host || string(cl.CertificateAuthorityData) != string(caPEM) {
		t.Errorf("cluster = %s, CA copied: %v", cl.Server, string(cl.CertificateAuthorityData) == string(caPEM))
	}
	user := cfg.AuthInfos[name]
	block, _ := pem.Decode(user.ClientCertificateData)
	if block == nil {
		t.Fatal("no client certificate in the kubeconfig")
	}
	got, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	want := pkix.Name{CommonName: name, Organization: []string{Group}}
	if got.Subject.CommonName != want.CommonName || !slices.Equal(got.Subject.Organization, want.Organization) {
		t.Errorf("subject = %v, want %v", got.Subject, want)
	}
	if err := got.CheckSignatureFrom(ca); err != nil {
		t.Errorf("certificate not signed by the cluster CA: %v", err)
	}
	if _, err := cert.ParseCertsPEM(user.ClientCertificateData); err != nil {
		t.Error(err)
	}
	if len(user.ClientKeyData) == 0 {
		t.Error("no client key in the kubeconfig")
	}
}

func TestIssueKubeconfigDenied(t *testing.T) {
	cs := fake.NewClientset()
	cs.PrependReactor("update", "certificatesigningrequests", func(a k8stesting.Action) (bool, runtime.Object, error) {
		req := a.(k8stesting.UpdateAction).GetObject().(*certificatesv1.CertificateSigningRequest).DeepCopy()
		req.Status.Conditions = []certificatesv1.CertificateSigningRequestCondition{{Type: certificatesv1.CertificateDenied, Status: "True", Reason: "Policy"}}
		return true, req, cs.Tracker().Update(certificatesv1.SchemeGroupVersion.WithResource("certificatesigningrequests"), req, "")
	})
	err := IssueKubeconfig(context.Background(), cs, &rest.Config{Host: "https://127.0.0.1:1"}, "r2", "c", User, filepath.Join(t.TempDir(), "k"))
	if err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("err = %v, want the denial", err)
	}
}

func TestBind(t *testing.T) {
	cs := fake.NewClientset()
	for range 2 { // idempotent
		if err := Bind(context.Background(), cs, "r1", "view"); err != nil {
			t.Fatal(err)
		}
	}
	crb, err := cs.RbacV1().ClusterRoleBindings().Get(context.Background(), "gameday-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if crb.RoleRef.Name != "view" || crb.Subjects[0].Name != User || crb.Labels[eks.RunIDLabel] != "r1" {
		t.Errorf("binding = %+v", crb)
	}
	if len(crb.Subjects) != 2 || crb.Subjects[1].Kind != rbacv1.GroupKind || crb.Subjects[1].Name != Group {
		t.Errorf("subjects = %+v, want the operator and the responders' group", crb.Subjects)
	}
}

func TestCheckResponders(t *testing.T) {
	tests := []struct {
		name    string
		names   []string
		wantErr string
	}{
		{"a team", []string{"alice", "bob", "carol-2"}, ""},
		{"nobody", nil, ""},
		{"upper case", []string{"Alice"}, "lowercase"},
		{"a leading digit", []string{"2bob"}, "starting with a letter"},
		{"too long", []string{strings.Repeat("a", 32)}, "at most 31"},
		{"gameday's own", []string{"alice", "operator"}, "gameday's own"},
		{"the facilitator", []string{"facilitator"}, "gameday's own"},
		{"twice", []string{"bob", "bob"}, "named twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckResponders(tt.names)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("CheckResponders(%q) = %v, want %q", tt.names, err, tt.wantErr)
			}
		})
	}
}
