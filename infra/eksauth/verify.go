// Package eksauth authenticates requests to a game's API server as EKS
// does: a kubectl configured by `aws eks update-kubeconfig` sends a
// `k8s-aws-v1.` bearer token from `aws eks get-token`, which is a
// presigned STS GetCallerIdentity URL, and EKS's authenticator calls that
// URL to learn the caller's ARN.
//
// The Verifier follows the rules of the authenticator's own verifier
// (sigs.k8s.io/aws-iam-authenticator, pkg/token), but for the one it
// cannot keep offline: the URL must point at the game's STS (the AWS
// front door on loopback) rather than at sts.REGION.amazonaws.com. The
// caller's ARN is canonicalised by the authenticator's own pkg/arn (an
// assumed role maps as its role), and identities are the authenticator's
// token.Identity, which its mappers take.
package eksauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/aws-iam-authenticator/pkg/arn"
	"sigs.k8s.io/aws-iam-authenticator/pkg/token"
)

// Token format, as `aws eks get-token` writes it and EKS reads it.
const (
	// TokenPrefix starts every EKS bearer token.
	TokenPrefix = "k8s-aws-v1."
	// ClusterIDHeader is the signed header that binds a token to one
	// cluster.
	ClusterIDHeader = "x-k8s-aws-id"
	// maxTokenLen bounds a token's size.
	maxTokenLen = 4 << 10
	// validity is how long STS honours a presigned URL after its
	// X-Amz-Date.
	validity = 15 * time.Minute
	amzTime  = "20060102T150405Z"
)

// ErrFormat is the kind of every error about a token's form (as opposed
// to STS refusing it).
var ErrFormat = errors.New("malformed token")

// ErrSTS is the kind of every error from STS's answer.
var ErrSTS = errors.New("sts refused the token")

// allowedParams are the only query parameters a token's URL may carry.
var allowedParams = map[string]bool{
	"action": true, "version": true, "x-amz-algorithm": true, "x-amz-credential": true, "x-amz-date": true,
	"x-amz-expires": true, "x-amz-security-token": true, "x-amz-signature": true, "x-amz-signedheaders": true,
}

// Verifier checks tokens for one cluster against one STS endpoint.
type Verifier struct {
	// ClusterID is the cluster's name, which the token must be signed for.
	ClusterID string
	// STSEndpoint is the base URL of the game's STS (the AWS front door).
	STSEndpoint string
	// Client calls STS; nil means a client with a 10 s timeout that
	// follows no redirects, as the authenticator's.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verify checks token and returns the identity STS vouches for. Every
// error wraps ErrFormat or ErrSTS.
func (v *Verifier) Verify(ctx context.Context, tok string) (*token.Identity, error) {
	u, accessKeyID, err := v.parse(tok)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	req.Header.Set(ClusterIDHeader, v.ClusterID)
	req.Header.Set("Accept", "application/json")
	resp, err := v.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: call STS: %v", ErrSTS, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: read STS's answer: %v", ErrSTS, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: STS answered %d: %s", ErrSTS, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var answer struct {
		Response struct {
			Result struct {
				Account string `json:"Account"`
				Arn     string `json:"Arn"`
				UserID  string `json:"UserId"`
			} `json:"GetCallerIdentityResult"`
		} `json:"GetCallerIdentityResponse"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return nil, fmt.Errorf("%w: STS's answer: %v", ErrSTS, err)
	}
	r := answer.Response.Result
	id := &token.Identity{ARN: r.Arn, AccountID: r.Account, AccessKeyID: accessKeyID}
	kind, canonical, err := arn.Canonicalize(r.Arn)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSTS, err)
	}
	id.CanonicalARN = canonical
	switch kind {
	case arn.USER, arn.ROOT, arn.FEDERATED_USER:
		id.UserID = r.UserID
	default: // an assumed role: "ROLEID:SESSION"
		roleID, session, ok := strings.Cut(r.UserID, ":")
		if !ok {
			return nil, fmt.Errorf("%w: malformed UserId %q", ErrSTS, r.UserID)
		}
		id.UserID, id.SessionName = roleID, session
	}
	return id, nil
}

// parse checks the token's form and returns its URL and access key.
func (v *Verifier) parse(tok string) (*url.URL, string, error) {
	bad := func(format string, args ...any) (*url.URL, string, error) {
		return nil, "", fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
	if len(tok) > maxTokenLen {
		return bad("token is too large")
	}
	rest, ok := strings.CutPrefix(tok, TokenPrefix)
	if !ok {
		return bad("token is missing expected %q prefix", TokenPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return bad("%v", err)
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		return bad("%v", err)
	}
	sts, err := url.Parse(v.STSEndpoint)
	if err != nil {
		return bad("STS endpoint: %v", err)
	}
	if u.Scheme != sts.Scheme {
		return bad("unexpected scheme %q in pre-signed URL", u.Scheme)
	}
	if u.Host != sts.Host {
		return bad("unexpected hostname %q in pre-signed URL", u.Host)
	}
	if u.Path != "/" {
		return bad("unexpected path in pre-signed URL")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("malformed query parameter")
	}
	lower := url.Values{}
	for key, vals := range q {
		k := strings.ToLower(key)
		if !allowedParams[k] {
			return bad("non-whitelisted query parameter %q", key)
		}
		if len(vals) != 1 || lower.Has(k) {
			return bad("duplicate query parameter found: %q", key)
		}
		lower.Set(k, vals[0])
	}
	if lower.Get("action") != "GetCallerIdentity" {
		return bad("unexpected action parameter in pre-signed URL")
	}
	signed := false
	for _, h := range strings.Split(lower.Get("x-amz-signedheaders"), ";") {
		signed = signed || strings.EqualFold(h, ClusterIDHeader)
	}
	if !signed {
		return bad("client did not sign the %s header in the pre-signed URL", ClusterIDHeader)
	}
	expires, err := strconv.Atoi(lower.Get("x-amz-expires"))
	if err != nil || expires < 0 || expires > 900 {
		return bad("invalid X-Amz-Expires parameter in pre-signed URL: %d", expires)
	}
	date := lower.Get("x-amz-date")
	if date == "" {
		return bad("X-Amz-Date parameter must be present in pre-signed URL")
	}
	signedAt, err := time.Parse(amzTime, date)
	if err != nil {
		return bad("error parsing X-Amz-Date parameter %s into format %s: %v", date, amzTime, err)
	}
	if v.now().After(signedAt.Add(validity)) {
		return bad("X-Amz-Date parameter is expired (%.f minute expiration) %s", validity.Minutes(), signedAt)
	}
	accessKeyID, _, _ := strings.Cut(lower.Get("x-amz-credential"), "/")
	return u, accessKeyID, nil
}

func (v *Verifier) client() *http.Client {
	if v.Client != nil {
		return v.Client
	}
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}
