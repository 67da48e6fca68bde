package environment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/gameday-sre/gameday/infra/aws"
	"github.com/gameday-sre/gameday/infra/cloud"
	"github.com/gameday-sre/gameday/infra/eksauth"
	"github.com/gameday-sre/gameday/infra/operator"
	"github.com/gameday-sre/gameday/infra/podidentity"
	"github.com/gameday-sre/gameday/internal/domain/eks"
	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// Webhooks are the files that point a backend's API server at EKS's
// authenticator and authorizer (infra/eksauth), which the environment
// serves: kubeconfig-format files for kube-apiserver's
// --authentication-token-webhook-config-file and
// --authorization-webhook-config-file.
type Webhooks struct {
	TokenConfig, AuthorizationConfig string
}

// Names of the webhook config files in the run directory.
const (
	tokenWebhookFile = "eks-token-webhook.kubeconfig"
	authzWebhookFile = "eks-authz-webhook.kubeconfig"
)

// oidcIssuer makes a cluster's OIDC issuer URL as EKS's look:
// https://oidc.eks.REGION.amazonaws.com/id/ and 32 upper-case hex digits.
func oidcIssuer(region string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "https://oidc.eks." + region + ".amazonaws.com/id/" + strings.ToUpper(hex.EncodeToString(b)), nil
}

// startIdentity serves EKS's webhooks on loopback, before the cluster
// and the AWS plane exist, and writes their config files in dir.
func startIdentity(dir string) (*eksauth.Server, *Webhooks, error) {
	srv, err := eksauth.Listen("127.0.0.1:0")
	if err != nil {
		return nil, nil, errkind.E(errkind.Infra, err)
	}
	w := &Webhooks{TokenConfig: filepath.Join(dir, tokenWebhookFile), AuthorizationConfig: filepath.Join(dir, authzWebhookFile)}
	if err := srv.WriteConfig(w.TokenConfig, eksauth.AuthenticatePath); err != nil {
		return srv, nil, errkind.E(errkind.Infra, err)
	}
	if err := srv.WriteConfig(w.AuthorizationConfig, eksauth.AuthorizePath); err != nil {
		return srv, nil, errkind.E(errkind.Infra, err)
	}
	return srv, w, nil
}

// useIdentity, once the cluster and the AWS plane are up, makes the
// webhooks answer for the scenario's EKS cluster, runs EKS's pod identity
// webhook (infra/podidentity) for IRSA, makes DescribeCluster
// show where the API server serves (so `aws eks update-kubeconfig`
// reaches it) and the issuer of its service-account tokens, and gives
// the operator's IAM user an access entry in the
// operators' group.
func (e *Env) useIdentity(ctx context.Context, srv *eksauth.Server, c *cloud.Cloud, cluster, issuer string, stops *cloud.Stops) error {
	e.clusterName = cluster
	ca, err := caOf(e.Cluster.Admin())
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	jwks, err := e.client.CoreV1().RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(ctx)
	if err != nil {
		return errkind.E(errkind.Infra, fmt.Errorf("the issuer's keys: %w", err))
	}
	if err := c.AWS.SetClusterEndpoint(cluster, aws.ClusterEndpoint{URL: e.Cluster.Admin().Host, CAPEM: ca, OIDCIssuer: issuer, JWKS: jwks}); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	view := &clusterIdentity{aws: c.AWS, name: cluster, client: e.client}
	srv.Use(
		&eksauth.Webhook{Verifier: &eksauth.Verifier{ClusterID: cluster, STSEndpoint: c.AWS.Endpoint}, Cluster: view, Log: c.Log},
		&eksauth.Authorizer{Cluster: view, Roles: view, Log: c.Log},
	)
	if err := c.Account.GrantClusterAccess(ctx, c.Account.UserARN(aws.OperatorUser), operator.User, []string{operator.Group}); err != nil {
		return errkind.E(errkind.Infra, err)
	}
	stop, err := podidentity.Start(ctx, e.client, podidentity.Options{Region: c.AWS.Region, Labels: map[string]string{eks.RunIDLabel: c.RunID}})
	stops.Add(stop)
	if err != nil {
		return errkind.E(errkind.Infra, err)
	}
	return nil
}

// clusterIdentity is what the webhooks read of a game's cluster.
type clusterIdentity struct {
	aws    *aws.Emulator
	name   string
	client kubernetes.Interface
}

// Access implements eksauth.Cluster.
func (c *clusterIdentity) Access() (aws.ClusterAccess, bool) { return c.aws.ClusterAccess(c.name) }

// AWSAuth implements eksauth.Cluster: the aws-auth ConfigMap's data, read
// afresh so that an edit counts at once.
func (c *clusterIdentity) AWSAuth(ctx context.Context) (map[string]string, error) {
	cm, err := c.client.CoreV1().ConfigMaps("kube-system").Get(ctx, "aws-auth", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read aws-auth: %w", err)
	}
	if cm.Data == nil {
		return map[string]string{}, nil
	}
	return cm.Data, nil
}

// ClusterRoleRules implements eksauth.Roles.
func (c *clusterIdentity) ClusterRoleRules(ctx context.Context, name string) ([]rbacv1.PolicyRule, error) {
	r, err := c.client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read ClusterRole %s: %w", name, err)
	}
	return r.Rules, nil
}

// writeIAMKubeconfig writes to path the kubeconfig `aws eks
// update-kubeconfig` writes for the cluster: its endpoint and CA, and a
// user whose token comes from `aws eks get-token`, run with the
// credentials in kubectl's environment.
func (e *Env) writeIAMKubeconfig(path, user string) error {
	admin := e.Cluster.Admin()
	ca, err := caOf(admin)
	if err != nil {
		return err
	}
	arn := fmt.Sprintf("arn:aws:eks:%s:%s:cluster/%s", e.AWS.Region, e.AWS.AccountID, e.clusterName)
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[arn] = &clientcmdapi.Cluster{Server: admin.Host, CertificateAuthorityData: ca}
	cfg.AuthInfos[arn] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion:      "client.authentication.k8s.io/v1beta1",
		Command:         "aws",
		Args:            []string{"--region", e.AWS.Region, "eks", "get-token", "--cluster-name", e.clusterName, "--output", "json"},
		InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
	}}
	cfg.Contexts[arn] = &clientcmdapi.Context{Cluster: arn, AuthInfo: arn}
	cfg.CurrentContext = arn
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("kubeconfig for %s: %w", user, err)
	}
	return nil
}

// caOf returns the PEM of the CA that signed the API server's certificate.
func caOf(c *rest.Config) ([]byte, error) {
	if len(c.CAData) > 0 || c.CAFile == "" {
		return c.CAData, nil
	}
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("cluster CA: %w", err)
	}
	return ca, nil
}
