// Package podidentity runs EKS's pod identity webhook, the real one
// (github.com/aws/amazon-eks-pod-identity-webhook, linked in process), for
// a game's cluster: a pod whose service account carries
// `eks.amazonaws.com/role-arn` gets what EKS injects (AWS_ROLE_ARN,
// AWS_WEB_IDENTITY_TOKEN_FILE, the region and a projected token for
// audience sts.amazonaws.com), so that its SDK calls STS's
// AssumeRoleWithWebIdentity with that token (IRSA).
//
// It is served over TLS on loopback and registered as EKS registers it:
// a MutatingWebhookConfiguration for pod creation, failurePolicy Ignore,
// skipped for pods labelled eks.amazonaws.com/skip-pod-identity-webhook.
package podidentity

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/amazon-eks-pod-identity-webhook/pkg/cache"
	"github.com/aws/amazon-eks-pod-identity-webhook/pkg/containercredentials"
	"github.com/aws/amazon-eks-pod-identity-webhook/pkg/handler"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/gameday-sre/gameday/internal/ground/selfsigned"
)

// The webhook's settings, as EKS runs it.
const (
	// Name is the MutatingWebhookConfiguration's name.
	Name = "pod-identity-webhook"
	// Audience is the audience of the injected token.
	Audience = "sts.amazonaws.com"
	// AnnotationDomain prefixes the service-account annotations it reads
	// (eks.amazonaws.com/role-arn, ...).
	AnnotationDomain = "eks.amazonaws.com"
	// MountPath is where the token is mounted.
	MountPath = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	// tokenExpiration is the token's lifetime in seconds (the webhook's
	// default, a day).
	tokenExpiration = 86400
)

// Options configure Start.
type Options struct {
	// Region is injected as AWS_REGION and AWS_DEFAULT_REGION.
	Region string
	// Labels are put on the MutatingWebhookConfiguration (the run id).
	Labels map[string]string
}

// Start serves the webhook and registers it with the cluster. The
// returned stop function is never nil; it unregisters and stops serving.
func Start(ctx context.Context, client kubernetes.Interface, o Options) (func(context.Context) error, error) {
	noop := func(context.Context) error { return nil }
	cert, caPEM, err := selfsigned.Cert("127.0.0.1")
	if err != nil {
		return noop, fmt.Errorf("pod identity webhook: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return noop, fmt.Errorf("pod identity webhook: %w", err)
	}
	done := make(chan struct{})
	factory := informers.NewSharedInformerFactory(client, time.Minute)
	saCache := cache.New(Audience, AnnotationDomain, true, tokenExpiration,
		factory.Core().V1().ServiceAccounts(), nil, cache.ComposeRoleArn{}, client.CoreV1())
	factory.Start(done)
	saCache.Start(done)
	mod := handler.NewModifier(nil,
		handler.WithAnnotationDomain(AnnotationDomain),
		handler.WithMountPath(MountPath),
		handler.WithServiceAccountCache(saCache),
		handler.WithContainerCredentialsConfig(containercredentials.NewFileConfig("pods.eks.amazonaws.com",
			"/var/run/secrets/pods.eks.amazonaws.com/serviceaccount", "eks-pod-identity-token", "eks-pod-identity-token",
			"http://169.254.170.23/v1/credentials")),
		handler.WithRegion(o.Region),
	)
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", mod.Handle)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		_ = srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	}()
	shutdown := func(ctx context.Context) error {
		close(done)
		factory.Shutdown()
		return srv.Shutdown(ctx)
	}
	url := "https://" + ln.Addr().String() + "/mutate"
	ignore, none := admissionv1.Ignore, admissionv1.SideEffectClassNone
	cfg := &admissionv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: o.Labels},
		Webhooks: []admissionv1.MutatingWebhook{{
			Name:          "iam-for-pods.amazonaws.com",
			ClientConfig:  admissionv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			FailurePolicy: &ignore,
			SideEffects:   &none,
			ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: AnnotationDomain + "/skip-pod-identity-webhook", Operator: metav1.LabelSelectorOpDoesNotExist,
			}}},
			Rules: []admissionv1.RuleWithOperations{{
				Operations: []admissionv1.OperationType{admissionv1.Create},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			AdmissionReviewVersions: []string{"v1beta1"},
		}},
	}
	if _, err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		return noop, errors.Join(fmt.Errorf("register the pod identity webhook: %w", err), shutdown(ctx))
	}
	return func(ctx context.Context) error {
		err := client.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(ctx, Name, metav1.DeleteOptions{})
		return errors.Join(err, shutdown(ctx))
	}, nil
}
