package aws

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Call is one AWS API request that passed the front door.
type Call struct {
	// Time is when the request arrived.
	Time time.Time
	// User is the IAM user (or "assumed-role") of the access key, or the
	// key id when unknown.
	User string
	// Service is the signing service (iam, sts, ecr, eks, ...).
	Service string
	// Action is the API operation (AttachRolePolicy, DescribeNodegroup, ...).
	Action string
	// Params are the request's parameters that identify its target
	// (RoleName, PolicyArn, repository, path parameters).
	Params map[string]string
	// Status is the HTTP status of the answer.
	Status int
}

// frontDoor is a reverse proxy in front of moto. It records every call
// (moto keeps no request log) and works around moto's SigV4 check for
// body-less REST requests: moto hashes the request headers as the payload
// of a GET or DELETE, so no client's signature can match, and the stock
// `aws eks describe-nodegroup` would fail. For such requests signed by a
// key gameday issued, the front door verifies the signature itself, then
// adds an empty JSON body and signs the request again with the same key,
// which moto then verifies and authorises as usual.
type frontDoor struct {
	target *url.URL
	proxy  *httputil.ReverseProxy

	mu     sync.Mutex
	keys   map[string]knownKey // access key id → owner
	onCall func(Call)

	// access is the clusters' EKS access state, which moto lacks.
	access *eksAccess
	// iam reads moto's IAM as gameday's admin, past the front door (so
	// that its reads are not a player's calls); nil until the admin
	// exists.
	iam *iam.Client
	// admin signs the calls the front door decides itself; region is
	// the emulator's.
	admin  Credentials
	region string
}

type knownKey struct {
	user   string
	secret string
	// principal is the IAM principal in its account: "user/NAME", or a
	// session's "role/NAME".
	principal string
}

// startFrontDoor serves the proxy on a free loopback port.
func startFrontDoor(target string, onCall func(Call)) (string, *frontDoor, func(context.Context) error, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", nil, func(context.Context) error { return nil }, err
	}
	fd := &frontDoor{target: u, keys: map[string]knownKey{}, onCall: onCall, access: newEKSAccess()}
	fd.proxy = httputil.NewSingleHostReverseProxy(u)
	fd.proxy.ModifyResponse = fd.learnSession
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, func(context.Context) error { return nil }, fmt.Errorf("start AWS front door: %w", err)
	}
	srv := &http.Server{Handler: fd, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	}
	return "http://" + ln.Addr().String(), fd, stop, nil
}

// know registers an access key gameday issued.
func (f *frontDoor) know(user string, c Credentials) {
	f.mu.Lock()
	f.keys[c.AccessKeyID] = knownKey{user: user, secret: c.SecretAccessKey, principal: "user/" + user}
	f.mu.Unlock()
}

func (f *frontDoor) key(id string) (knownKey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	return k, ok
}

const maxBody = 8 << 20

func (f *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body.Close()
	if r.Header.Get("Authorization") == "" {
		if req, ok := parseWebIdentity(r, body); ok {
			f.serveWebIdentity(w, r, req)
			return
		}
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			f.servePresigned(w, r, body)
			return
		}
	}
	auth := parseAuth(r.Header.Get("Authorization"))
	call := Call{Time: time.Now(), User: auth.keyID, Service: auth.service}
	k, known := f.key(auth.keyID)
	if auth.service == "eks" {
		if rt, ok := route(r); ok && (rt.action != "UpdateClusterConfig" || bytes.Contains(body, []byte(`"accessConfig"`))) {
			f.serveAccess(w, r, body, call, rt, k, known, auth)
			return
		}
	}
	if known {
		call.User = k.user
		if len(body) == 0 && auth.service == "eks" && (r.Method == http.MethodGet || r.Method == http.MethodDelete) {
			if !verify(r, nil, auth, k.secret) {
				writeSignatureMismatch(w)
				f.record(call, r, body, http.StatusForbidden)
				return
			}
			body = []byte("{}")
			r.Header.Set("Authorization", sign(r, body, auth, k.secret))
		}
	} else if strings.HasPrefix(auth.keyID, "ASIA") {
		call.User = "assumed-role"
	}
	if auth.service == "eks" && clusterPath.MatchString(r.URL.Path) {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		f.serveCluster(w, r, body, call, k)
		return
	}
	f.pass(w, r, body, call)
}

// pass sends the request with body on to moto as it is, and records it.
func (f *frontDoor) pass(w http.ResponseWriter, r *http.Request, body []byte, call Call) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	f.proxy.ServeHTTP(rec, r)
	f.record(call, r, body, rec.status)
}

// clusterPath is the path of CreateCluster, DescribeCluster and
// DeleteCluster, whose answers carry or change a cluster's access.
var clusterPath = regexp.MustCompile(`^/clusters(/[^/]+)?$`)

// serveCluster passes a cluster call to moto and keeps the cluster's
// access state in step: a new cluster is registered, a deleted one
// forgotten, and DescribeCluster shows the access configuration.
func (f *frontDoor) serveCluster(w http.ResponseWriter, r *http.Request, body []byte, call Call, k knownKey) {
	rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	f.proxy.ServeHTTP(rec, r)
	f.record(call, r, body, rec.status)
	answer := rec.body.Bytes()
	if rec.status == http.StatusOK {
		name := strings.TrimPrefix(r.URL.Path, "/clusters/")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/clusters":
			f.access.register(body, answer, k.principal)
		case r.Method == http.MethodGet && r.URL.Path != "/clusters":
			answer = f.access.describeInto(answer)
		case r.Method == http.MethodDelete:
			f.access.forget(name)
		}
	}
	rec.send(w, answer)
}

// serveAccess answers an access-entry call itself (moto has none), for
// a key it knows and a signature that holds.
func (f *frontDoor) serveAccess(w http.ResponseWriter, r *http.Request, body []byte, call Call, rt accessRoute, k knownKey, known bool, auth sigv4) {
	call.Action = rt.action
	switch {
	case !known:
		(&eksError{http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.", ""}).write(w)
		f.recordAs(call, rt, http.StatusForbidden)
	case !verify(r, body, auth, k.secret):
		(&eksError{http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.", ""}).write(w)
		f.recordAs(call, rt, http.StatusForbidden)
	default:
		call.User = k.user
		f.recordAs(call, rt, f.access.serve(w, r, rt, body))
	}
}

// recordAs records an access-entry call, which describeCall cannot name.
func (f *frontDoor) recordAs(c Call, rt accessRoute, status int) {
	if f.onCall == nil {
		return
	}
	c.Status, c.Action = status, rt.action
	c.Params = map[string]string{}
	for k, v := range map[string]string{"clusterName": rt.cluster, "principalArn": rt.principal, "policyArn": rt.policy} {
		if v != "" {
			c.Params[k] = v
		}
	}
	f.onCall(c)
}

func (f *frontDoor) record(c Call, r *http.Request, body []byte, status int) {
	if f.onCall == nil || c.Service == "" {
		return
	}
	c.Status = status
	c.Action, c.Params = describeCall(c.Service, r, body)
	f.onCall(c)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func writeSignatureMismatch(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(http.StatusForbidden)
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+
		`<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.</Message><Type>Sender</Type></Error></Errors></ErrorResponse>`)
}

// sigv4 is a parsed SigV4 Authorization header.
type sigv4 struct {
	keyID, date, region, service string
	signedHeaders                []string
	signature                    string
}

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$`)

func parseAuth(h string) sigv4 {
	m := authRE.FindStringSubmatch(strings.TrimSpace(h))
	if m == nil {
		return sigv4{}
	}
	return sigv4{keyID: m[1], date: m[2], region: m[3], service: m[4], signedHeaders: strings.Split(m[5], ";"), signature: m[6]}
}

// verify recomputes the request's signature with secret.
func verify(r *http.Request, body []byte, a sigv4, secret string) bool {
	return hmac.Equal([]byte(signature(r, body, a, secret)), []byte(a.signature))
}

// sign returns an Authorization header for the request with body.
func sign(r *http.Request, body []byte, a sigv4, secret string) string {
	return fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, Signature=%s",
		a.keyID, a.date, a.region, a.service, strings.Join(a.signedHeaders, ";"), signature(r, body, a, secret))
}

// signature computes SigV4 over the headers the client signed, the way
// botocore (and so moto) canonicalises a request.
func signature(r *http.Request, body []byte, a sigv4, secret string) string {
	payload := sha256.Sum256(body)
	return sigV4(r, canonicalQuery(r.URL.RawQuery), hex.EncodeToString(payload[:]), r.Header.Get("X-Amz-Date"), a, secret)
}

// sigV4 computes a SigV4 signature of r from its canonical query, the
// hash of its payload and its signing time.
func sigV4(r *http.Request, query, payloadHash, amzDate string, a sigv4, secret string) string {
	var ch strings.Builder
	for _, name := range a.signedHeaders {
		var v string
		if name == "host" {
			v = r.Host
		} else {
			v = strings.Join(r.Header.Values(name), ",")
		}
		ch.WriteString(name + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	canonical := strings.Join([]string{
		r.Method,
		canonicalURI(r.URL.EscapedPath()),
		query,
		ch.String(),
		strings.Join(a.signedHeaders, ";"),
		payloadHash,
	}, "\n")
	scope := strings.Join([]string{a.date, a.region, a.service, "aws4_request"}, "/")
	hash := sha256.Sum256([]byte(canonical))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", amzDate, scope, hex.EncodeToString(hash[:])}, "\n")
	k := hmacSHA256([]byte("AWS4"+secret), a.date)
	k = hmacSHA256(k, a.region)
	k = hmacSHA256(k, a.service)
	k = hmacSHA256(k, "aws4_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// canonicalURI encodes the (already escaped) path once more, as SigV4
// does for every service but S3.
func canonicalURI(escaped string) string {
	if escaped == "" {
		return "/"
	}
	return awsEscape(escaped, "/~")
}

func canonicalQuery(raw string) string {
	vals, _ := url.ParseQuery(raw)
	return canonicalValues(vals)
}

func canonicalValues(vals url.Values) string {
	var pairs []string
	for k, vs := range vals {
		for _, v := range vs {
			pairs = append(pairs, awsEscape(k, "-_.~")+"="+awsEscape(v, "-_.~"))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// awsEscape percent-encodes every byte except unreserved characters and
// those in safe (Python's urllib.parse.quote semantics).
func awsEscape(s, safe string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || strings.IndexByte(safe, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// eksRoutes names EKS's REST operations.
var eksRoutes = []struct {
	method string
	re     *regexp.Regexp
	action string
}{
	{"GET", regexp.MustCompile(`^/clusters/([^/]+)/node-groups/([^/]+)$`), "DescribeNodegroup"},
	{"DELETE", regexp.MustCompile(`^/clusters/([^/]+)/node-groups/([^/]+)$`), "DeleteNodegroup"},
	{"POST", regexp.MustCompile(`^/clusters/([^/]+)/node-groups/([^/]+)/update-config$`), "UpdateNodegroupConfig"},
	{"GET", regexp.MustCompile(`^/clusters/([^/]+)/node-groups$`), "ListNodegroups"},
	{"POST", regexp.MustCompile(`^/clusters/([^/]+)/node-groups$`), "CreateNodegroup"},
	{"GET", regexp.MustCompile(`^/clusters/([^/]+)$`), "DescribeCluster"},
	{"GET", regexp.MustCompile(`^/clusters$`), "ListClusters"},
	{"POST", regexp.MustCompile(`^/clusters$`), "CreateCluster"},
}

// describeCall names the operation and its identifying parameters.
func describeCall(service string, r *http.Request, body []byte) (string, map[string]string) {
	params := map[string]string{}
	if t := r.Header.Get("X-Amz-Target"); t != "" { // JSON protocol (ECR)
		action := t[strings.LastIndex(t, ".")+1:]
		for k, re := range jsonFields {
			if m := re.FindSubmatch(body); m != nil {
				params[k] = string(m[1])
			}
		}
		return action, params
	}
	if service == "eks" {
		path, _ := url.PathUnescape(r.URL.Path)
		for _, rt := range eksRoutes {
			if r.Method != rt.method {
				continue
			}
			if m := rt.re.FindStringSubmatch(path); m != nil {
				if len(m) > 1 {
					params["clusterName"] = m[1]
				}
				if len(m) > 2 {
					params["nodegroupName"] = m[2]
				}
				return rt.action, params
			}
		}
		return r.Method + " " + path, params
	}
	// Query protocol (IAM, STS): form body or query string.
	vals, _ := url.ParseQuery(r.URL.RawQuery)
	if form, err := url.ParseQuery(string(body)); err == nil {
		for k, v := range form {
			vals[k] = v
		}
	}
	for _, k := range []string{"RoleName", "PolicyArn", "PolicyName", "UserName", "RoleArn", "RoleSessionName"} {
		if v := vals.Get(k); v != "" {
			params[k] = v
		}
	}
	return vals.Get("Action"), params
}

// jsonFields extract the top-level string fields that identify an ECR
// call's target, without decoding the rest of the body.
var jsonFields = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for _, k := range []string{"repositoryName", "imageIds", "policyText"} {
		m[k] = regexp.MustCompile(`"` + k + `"\s*:\s*"((?:[^"\\]|\\.)*)"`)
	}
	return m
}()
