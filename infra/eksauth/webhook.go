package eksauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	gdaws "github.com/gameday-sre/gameday/infra/aws"
)

// Cluster is what the webhook reads of the cluster it authenticates for.
type Cluster interface {
	// Access is the cluster's authentication mode and access entries.
	Access() (gdaws.ClusterAccess, bool)
	// AWSAuth is the data of the kube-system/aws-auth ConfigMap; nil
	// when it does not exist.
	AWSAuth(ctx context.Context) (map[string]string, error)
}

// Webhook is the API server's token webhook (authentication.k8s.io/v1
// TokenReview): it verifies the bearer token and maps the caller.
type Webhook struct {
	Verifier *Verifier
	Cluster  Cluster
	// Log gets one line per review; nil discards.
	Log *slog.Logger
}

// maxReview bounds a TokenReview's size.
const maxReview = 64 << 10

// readReview reads a review the API server posts into v, or answers
// the error itself and returns false.
func readReview(w http.ResponseWriter, r *http.Request, v any, kind string) bool {
	if r.Method != http.MethodPost {
		http.Error(w, "expected POST", http.StatusMethodNotAllowed)
		return false
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxReview)).Decode(v); err != nil {
		http.Error(w, "expected a request body to be a "+kind, http.StatusBadRequest)
		return false
	}
	return true
}

// ServeHTTP answers a TokenReview.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var review authnv1.TokenReview
	if !readReview(w, r, &review, "TokenReview") {
		return
	}
	user, err := h.Review(r.Context(), review.Spec.Token)
	out := authnv1.TokenReview{
		TypeMeta: metav1.TypeMeta{APIVersion: authnv1.SchemeGroupVersion.String(), Kind: "TokenReview"},
	}
	status := http.StatusOK
	if err != nil {
		logOf(h.Log).Warn("access denied", "err", err)
		status = http.StatusForbidden
	} else {
		logOf(h.Log).Info("access granted", "username", user.Username, "groups", user.Groups, "via", user.Source, "arn", user.Extra["arn"])
		extra := map[string]authnv1.ExtraValue{}
		for k, v := range user.Extra {
			extra[k] = v
		}
		out.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra}}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

// Review verifies token and maps its caller.
func (h *Webhook) Review(ctx context.Context, tok string) (User, error) {
	id, err := h.Verifier.Verify(ctx, tok)
	if err != nil {
		return User{}, err
	}
	access, ok := h.Cluster.Access()
	if !ok {
		return User{}, errors.New("the cluster is not known to the AWS plane")
	}
	var awsAuth map[string]string
	if access.Mode != gdaws.ModeAPI {
		if awsAuth, err = h.Cluster.AWSAuth(ctx); err != nil {
			return User{}, err
		}
	}
	return Map(id, access, awsAuth)
}
