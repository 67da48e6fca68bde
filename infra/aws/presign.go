package aws

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Presigned URLs (SigV4 in the query string) are how `aws eks get-token`
// proves an identity: the token is a presigned STS GetCallerIdentity URL,
// and EKS's authenticator calls it. moto checks only signatures in the
// Authorization header, so the front door checks a presigned request
// itself, as STS does, and passes it on to moto signed in the header
// with the same key.

// presignWindow is how long STS honours a presigned URL after its
// X-Amz-Date, whatever its X-Amz-Expires says.
const presignWindow = 15 * time.Minute

// amzTime is SigV4's timestamp layout.
const amzTime = "20060102T150405Z"

// emptySHA256 is the SHA-256 of an empty payload, which botocore and the
// Go SDK sign for a presigned GET.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// servePresigned checks a request signed in its query string and, when
// the signature holds, sends it on to moto signed in the header.
// GetCallerIdentity answers in JSON when the caller accepts only JSON,
// as STS does (EKS's authenticator asks for it).
func (f *frontDoor) servePresigned(w http.ResponseWriter, r *http.Request, body []byte) {
	q := r.URL.Query()
	auth, ok := parseCredential(q)
	call := Call{Time: time.Now(), User: auth.keyID, Service: auth.service}
	if !ok { // not a presigned URL a client makes: moto answers as it does
		f.pass(w, r, body, call)
		return
	}
	k, known := f.key(auth.keyID)
	if !known {
		writeSTSError(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		f.record(call, r, body, http.StatusForbidden)
		return
	}
	call.User = k.user
	signedQuery := url.Values{}
	for name, vs := range q {
		if name != "X-Amz-Signature" {
			signedQuery[name] = vs
		}
	}
	amzDate := q.Get("X-Amz-Date")
	canon := canonicalValues(signedQuery)
	sig := q.Get("X-Amz-Signature")
	if !hmac.Equal([]byte(sigV4(r, canon, emptySHA256, amzDate, auth, k.secret)), []byte(sig)) &&
		!hmac.Equal([]byte(sigV4(r, canon, "UNSIGNED-PAYLOAD", amzDate, auth, k.secret)), []byte(sig)) {
		writeSignatureMismatch(w)
		f.record(call, r, body, http.StatusForbidden)
		return
	}
	signedAt, err := time.Parse(amzTime, amzDate)
	now := time.Now().UTC()
	if err != nil || now.After(signedAt.Add(presignWindow)) {
		writeSTSError(w, http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-presignWindow).Format(amzTime), now.Format(amzTime)))
		f.record(call, r, body, http.StatusForbidden)
		return
	}

	// The same call, signed in the header with the same key now, and
	// posted as a form: moto hashes the headers of a GET as its payload,
	// so no signature of a GET matches.
	params := url.Values{}
	for name, vs := range q {
		if !strings.HasPrefix(name, "X-Amz-") {
			params[name] = vs
		}
	}
	out := signedForm(r, []byte(params.Encode()), auth.keyID, k.secret, auth.region, auth.service, q.Get("X-Amz-Security-Token"))

	rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	f.proxy.ServeHTTP(rec, out)
	f.record(call, r, body, rec.status)
	if params.Get("Action") == "GetCallerIdentity" && rec.status == http.StatusOK && wantsJSON(r) {
		if b, err := callerIdentityJSON(rec.body.Bytes()); err == nil {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
			return
		}
	}
	rec.send(w, rec.body.Bytes())
}

// parseCredential reads a presigned request's X-Amz-Credential and
// X-Amz-SignedHeaders.
func parseCredential(q url.Values) (sigv4, bool) {
	parts := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" ||
		q.Get("X-Amz-Date") == "" || q.Get("X-Amz-SignedHeaders") == "" || q.Get("X-Amz-Signature") == "" {
		return sigv4{keyID: parts[0]}, false
	}
	return sigv4{keyID: parts[0], date: parts[1], region: parts[2], service: parts[3],
		signedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), signature: q.Get("X-Amz-Signature")}, true
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// callerIdentityJSON turns STS's XML answer to GetCallerIdentity into
// the JSON STS gives a caller that accepts JSON.
func callerIdentityJSON(x []byte) ([]byte, error) {
	var doc struct {
		Result struct {
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
			Arn     string `xml:"Arn"`
		} `xml:"GetCallerIdentityResult"`
		RequestID string `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal(x, &doc); err != nil {
		return nil, err
	}
	if doc.Result.Arn == "" {
		return nil, fmt.Errorf("no caller identity in the answer")
	}
	type result struct {
		Account string `json:"Account"`
		Arn     string `json:"Arn"`
		UserID  string `json:"UserId"`
	}
	type metadata struct {
		RequestID string `json:"RequestId"`
	}
	type response struct {
		Result   result   `json:"GetCallerIdentityResult"`
		Metadata metadata `json:"ResponseMetadata"`
	}
	return json.Marshal(map[string]response{"GetCallerIdentityResponse": {
		Result:   result{Account: doc.Result.Account, Arn: doc.Result.Arn, UserID: doc.Result.UserID},
		Metadata: metadata{RequestID: doc.RequestID},
	}})
}

// learnSession remembers the credentials that an STS AssumeRole answer
// or an IAM CreateAccessKey answer issues, so that the front door can
// check (and re-sign) requests signed with them, as it does for the keys
// gameday issued.
func (f *frontDoor) learnSession(resp *http.Response) error {
	service := parseAuth(resp.Request.Header.Get("Authorization")).service
	if resp.StatusCode != http.StatusOK || (service != "sts" && service != "iam") {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	if err == nil {
		f.learnCredentials(b)
	}
	return nil
}

// learnCredentials remembers the keys in an STS answer that issues
// session credentials (AssumeRole, AssumeRoleWithWebIdentity) or an IAM
// CreateAccessKey answer.
func (f *frontDoor) learnCredentials(b []byte) {
	if !bytes.Contains(b, []byte("<Credentials>")) && !bytes.Contains(b, []byte("<CreateAccessKeyResult>")) {
		return
	}
	var doc struct {
		Result struct {
			Credentials struct {
				AccessKeyID     string `xml:"AccessKeyId"`
				SecretAccessKey string `xml:"SecretAccessKey"`
			} `xml:"Credentials"`
			User struct {
				Arn string `xml:"Arn"`
			} `xml:"AssumedRoleUser"`
			AccessKey struct {
				UserName        string `xml:"UserName"`
				AccessKeyID     string `xml:"AccessKeyId"`
				SecretAccessKey string `xml:"SecretAccessKey"`
			} `xml:"AccessKey"`
		} `xml:",any"`
	}
	if xml.Unmarshal(b, &doc) != nil {
		return
	}
	if k := doc.Result.AccessKey; k.AccessKeyID != "" && k.UserName != "" {
		f.know(k.UserName, Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey})
		return
	}
	c := doc.Result.Credentials
	if c.AccessKeyID == "" {
		return
	}
	principal := ""
	if _, res, ok := strings.Cut(doc.Result.User.Arn, ":assumed-role/"); ok {
		role, _, _ := strings.Cut(res, "/")
		principal = "role/" + role
	}
	f.mu.Lock()
	f.keys[c.AccessKeyID] = knownKey{user: "assumed-role", secret: c.SecretAccessKey, principal: principal}
	f.mu.Unlock()
}

// signedForm is r's call as a form POST of form, signed in the header
// with the key keyID (and session token, if any) now: moto hashes the
// headers of a GET as its payload, so no signature of a GET matches, and
// with IAM enforcement on it refuses an unsigned call.
func signedForm(r *http.Request, form []byte, keyID, secret, region, service, token string) *http.Request {
	now := time.Now().UTC()
	out := r.Clone(r.Context())
	out.Method = http.MethodPost
	out.URL.RawQuery = ""
	out.RequestURI = ""
	for name := range out.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-") {
			out.Header.Del(name)
		}
	}
	out.Header.Set("X-Amz-Date", now.Format(amzTime))
	out.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	signed := []string{"content-type", "host", "x-amz-date"}
	if token != "" {
		out.Header.Set("X-Amz-Security-Token", token)
		signed = append(signed, "x-amz-security-token")
	}
	resigned := sigv4{keyID: keyID, date: now.Format("20060102"), region: region, service: service, signedHeaders: signed}
	out.Header.Set("Authorization", sign(out, form, resigned, secret))
	out.Body = io.NopCloser(bytes.NewReader(form))
	out.ContentLength = int64(len(form))
	return out
}

// bufferedResponse keeps moto's answer to a call the front door made on
// a caller's behalf, to pass on or translate.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(code int)        { b.status = code }

// send writes the kept answer's status and headers to w, with body (the
// answer's, or a changed one: its length is w's to set).
func (b *bufferedResponse) send(w http.ResponseWriter, body []byte) {
	for name, vs := range b.header {
		w.Header()[name] = vs
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(b.status)
	_, _ = w.Write(body)
}

// writeSTSError answers with a query-protocol error document.
func writeSTSError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	var esc bytes.Buffer
	_ = xml.EscapeText(&esc, []byte(message))
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
		code, esc.String(), uuid.NewString())
}
