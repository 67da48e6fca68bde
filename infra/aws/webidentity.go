package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	jose "gopkg.in/go-jose/go-jose.v2"

	"github.com/gameday-sre/gameday/internal/domain/iampolicy"
)

// STS AssumeRoleWithWebIdentity, which IRSA's SDKs call with a pod's
// projected service-account token. moto issues credentials for any token
// and any role; the front door first checks what STS checks, in its
// order, and answers with STS's own errors:
//
//  1. the token is a JWT signed by a key of a cluster's issuer (the
//     issuer's JWKS, which the environment gives), and has not expired;
//  2. the account has an IAM OIDC provider for the issuer, whose client
//     IDs include the token's audience;
//  3. the role's trust policy lets the provider's principal assume it,
//     with the token's sub and aud as its condition keys.
//
// Then moto issues the credentials, and the front door learns them, so
// that the role's permissions are enforced for every call made with
// them.

// webIdentityRequest is what the front door reads of the call.
type webIdentityRequest struct {
	roleARN, token string
	// params are the call's parameters, passed on to moto.
	params url.Values
}

// parseWebIdentity reads an AssumeRoleWithWebIdentity call (form body or
// query string); ok is false for any other call.
func parseWebIdentity(r *http.Request, body []byte) (webIdentityRequest, bool) {
	q := r.URL.Query()
	if q.Get("Action") != "AssumeRoleWithWebIdentity" {
		form, err := url.ParseQuery(string(body))
		if err != nil || form.Get("Action") != "AssumeRoleWithWebIdentity" {
			return webIdentityRequest{}, false
		}
		q = form
	}
	return webIdentityRequest{roleARN: q.Get("RoleArn"), token: q.Get("WebIdentityToken"), params: q}, true
}

// stsError is an STS error answer.
type stsError struct {
	status        int
	code, message string
}

func (e *stsError) Error() string { return e.code + ": " + e.message }

var errNotValidated = &stsError{http.StatusBadRequest, "InvalidIdentityToken", "The web identity token provided could not be validated"}

// serveWebIdentity checks an AssumeRoleWithWebIdentity call and passes it
// to moto only when STS would grant it.
func (f *frontDoor) serveWebIdentity(w http.ResponseWriter, r *http.Request, req webIdentityRequest) {
	call := Call{Time: time.Now(), Service: "sts", User: "web-identity", Action: "AssumeRoleWithWebIdentity", Params: map[string]string{"RoleArn": req.roleARN}}
	sub, err := f.checkWebIdentity(r.Context(), req)
	if sub != "" {
		call.User = sub
	}
	status := http.StatusOK
	defer func() {
		if f.onCall != nil {
			call.Status = status
			f.onCall(call)
		}
	}()
	if err != nil {
		var e *stsError
		if !errors.As(err, &e) {
			e = &stsError{http.StatusInternalServerError, "InternalFailure", err.Error()}
		}
		writeSTSError(w, e.status, e.code, e.message)
		status = e.status
		return
	}
	// moto, with IAM enforcement on, refuses an unsigned call: the front
	// door, having decided, signs it as gameday's admin.
	rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	f.proxy.ServeHTTP(rec, signedForm(r, []byte(req.params.Encode()), f.admin.AccessKeyID, f.admin.SecretAccessKey, f.region, "sts", ""))
	if rec.status == http.StatusOK {
		f.learnCredentials(rec.body.Bytes())
	}
	status = rec.status
	rec.send(w, rec.body.Bytes())
}

// checkWebIdentity returns the token's subject, and an *stsError when
// STS would refuse the call.
func (f *frontDoor) checkWebIdentity(ctx context.Context, req webIdentityRequest) (string, error) {
	jws, err := jose.ParseSigned(req.token)
	if err != nil {
		return "", errNotValidated
	}
	var claims struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
	}
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims) != nil {
		return "", errNotValidated
	}
	keys, ok := f.access.issuerKeys(claims.Iss)
	if !ok {
		return claims.Sub, errNotValidated
	}
	verified := false
	for _, k := range keys.Keys {
		if _, err := jws.Verify(k); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return claims.Sub, errNotValidated
	}
	if now := time.Now().Unix(); claims.Exp <= now {
		return claims.Sub, &stsError{http.StatusBadRequest, "ExpiredTokenException", fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", now, claims.Exp)}
	}
	var aud iampolicy.List
	if json.Unmarshal(claims.Aud, &aud) != nil {
		return claims.Sub, errNotValidated
	}
	// A malformed role ARN names no account, so no provider is found.
	_, account, roleName, _ := ParsePrincipal(req.roleARN)
	host := strings.TrimPrefix(claims.Iss, "https://")
	provider := "arn:aws:iam::" + account + ":oidc-provider/" + host
	if f.iam == nil {
		return claims.Sub, errors.New("the front door cannot read IAM")
	}
	p, err := f.iam.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(provider)})
	if err != nil {
		return claims.Sub, &stsError{http.StatusBadRequest, "InvalidIdentityToken", "No OpenIDConnect provider found in your account for " + claims.Iss}
	}
	if !slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(p.ClientIDList, a) }) {
		return claims.Sub, &stsError{http.StatusBadRequest, "InvalidIdentityToken", "Incorrect token audience"}
	}
	role, err := f.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleName)})
	if err != nil || role.Role.AssumeRolePolicyDocument == nil {
		return claims.Sub, notAuthorizedWebIdentity
	}
	doc, err := iampolicy.Parse(*role.Role.AssumeRolePolicyDocument)
	if err != nil {
		return claims.Sub, notAuthorizedWebIdentity
	}
	keysOf := map[string][]string{host + ":sub": {claims.Sub}, host + ":aud": aud}
	if !iampolicy.TrustsWebIdentity(doc, iampolicy.WebIdentity{Provider: provider, Keys: keysOf}) {
		return claims.Sub, notAuthorizedWebIdentity
	}
	return claims.Sub, nil
}

var notAuthorizedWebIdentity = &stsError{http.StatusForbidden, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"}
