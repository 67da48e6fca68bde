package aws

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	jose "gopkg.in/go-jose/go-jose.v2"
)

// EKS access entries and the cluster's authentication mode, which moto
// does not implement: the front door keeps them and answers their APIs
// (create, describe, list, update and delete access entries; associate,
// disassociate and list access policies; the authentication mode in
// DescribeCluster and UpdateClusterConfig) with EKS's own shapes and
// errors. A cluster is known from its CreateCluster answer; the caller
// who created it is its bootstrap administrator, as on EKS.

// Authentication modes of an EKS cluster.
const (
	ModeAPI              = "API"
	ModeAPIAndConfigMap  = "API_AND_CONFIG_MAP"
	ModeConfigMap        = "CONFIG_MAP"
	accessPolicyARNStart = "arn:aws:eks::aws:cluster-access-policy/"
)

// AccessPolicies are the EKS access policies the front door lists and
// accepts, by name.
var AccessPolicies = []string{
	"AmazonEKSAdminPolicy",
	"AmazonEKSAdminViewPolicy",
	"AmazonEKSClusterAdminPolicy",
	"AmazonEKSEditPolicy",
	"AmazonEKSViewPolicy",
}

// AccessScope is where an access policy applies: the whole cluster, or
// some namespaces.
type AccessScope struct {
	Type       string   `json:"type"`
	Namespaces []string `json:"namespaces"`
}

// AccessEntry is one principal's access to a cluster.
type AccessEntry struct {
	ClusterName      string            `json:"clusterName"`
	PrincipalARN     string            `json:"principalArn"`
	KubernetesGroups []string          `json:"kubernetesGroups"`
	AccessEntryARN   string            `json:"accessEntryArn"`
	CreatedAt        epoch             `json:"createdAt"`
	ModifiedAt       epoch             `json:"modifiedAt"`
	Tags             map[string]string `json:"tags"`
	Username         string            `json:"username"`
	Type             string            `json:"type"`
	// Policies are the access policies associated with the entry, in the
	// order of association.
	Policies []AssociatedPolicy `json:"-"`
}

// AssociatedPolicy is an access policy associated with an entry.
type AssociatedPolicy struct {
	PolicyARN    string      `json:"policyArn"`
	AccessScope  AccessScope `json:"accessScope"`
	AssociatedAt epoch       `json:"associatedAt"`
	ModifiedAt   epoch       `json:"modifiedAt"`
}

// ClusterAccess is what decides who may use a cluster: its
// authentication mode and its access entries.
type ClusterAccess struct {
	// Mode is the authentication mode.
	Mode string
	// BootstrapAdmin says the creator was made an administrator.
	BootstrapAdmin bool
	// Creator is the ARN of the principal that created the cluster.
	Creator string
	// Entries are the access entries, in the order of creation.
	Entries []AccessEntry

	region string // of the cluster's ARN, for the entries' ARNs
	// serving is where the cluster serves, once it does.
	serving *ClusterEndpoint
}

// ClusterEndpoint is where a cluster's API server serves, as
// DescribeCluster shows it.
type ClusterEndpoint struct {
	// URL is the API server's URL.
	URL string
	// CAPEM is the CA that signed its certificate.
	CAPEM []byte
	// OIDCIssuer is its service-account token issuer; "" keeps moto's.
	OIDCIssuer string
	// JWKS is the issuer's key set (the API server's /openid/v1/jwks),
	// which STS checks web identity tokens against.
	JWKS []byte
}

// epoch is a time that EKS's JSON writes as seconds since the epoch.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', 3, 64)), nil
}

// eksAccess keeps every cluster's access state.
type eksAccess struct {
	mu       sync.Mutex
	clusters map[string]*ClusterAccess
	now      func() time.Time
}

func newEKSAccess() *eksAccess {
	return &eksAccess{clusters: map[string]*ClusterAccess{}, now: time.Now}
}

// eksError is an EKS error answer.
type eksError struct {
	status  int
	kind    string
	message string
	cluster string
}

func (e *eksError) Error() string { return e.kind + ": " + e.message }

func (e *eksError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", e.kind)
	w.WriteHeader(e.status)
	body := map[string]string{"message": e.message}
	if e.cluster != "" {
		body["clusterName"] = e.cluster
	}
	_ = json.NewEncoder(w).Encode(body)
}

// EKS's errors, in its words.
func noCluster(name string) *eksError {
	return &eksError{http.StatusNotFound, "ResourceNotFoundException", "No cluster found for name: " + name + ".", name}
}

func noEntry(cluster string) *eksError {
	return &eksError{http.StatusNotFound, "ResourceNotFoundException", "The specified principalArn could not be found. You can view your available access entries with 'list-access-entries'.", cluster}
}

func modeForbids(cluster string) *eksError {
	return &eksError{http.StatusBadRequest, "InvalidRequestException", "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation.", cluster}
}

func invalidParameter(cluster, message string) *eksError {
	return &eksError{http.StatusBadRequest, "InvalidParameterException", message, cluster}
}

// invalidParameterDocumented is EKS's documented description of the
// error, where its exact message is not known.
const invalidParameterDocumented = "The specified parameter is invalid. Review the available parameters for the API request."

// accessRoute is one access-entry operation the front door answers.
type accessRoute struct {
	action string
	// cluster, principal and policy are the path's parameters.
	cluster, principal, policy string
}

// route names the access operation of r, if it is one. Path segments are
// unescaped one by one: a principal's ARN holds "/".
func route(r *http.Request) (accessRoute, bool) {
	var seg []string
	for _, s := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(s)
		if err != nil {
			return accessRoute{}, false
		}
		seg = append(seg, u)
	}
	m := r.Method
	switch {
	case len(seg) == 1 && seg[0] == "access-policies" && m == http.MethodGet:
		return accessRoute{action: "ListAccessPolicies"}, true
	case len(seg) < 3 || seg[0] != "clusters" || seg[2] != "access-entries":
		if len(seg) == 3 && seg[0] == "clusters" && seg[2] == "update-config" && m == http.MethodPost {
			return accessRoute{action: "UpdateClusterConfig", cluster: seg[1]}, true
		}
		return accessRoute{}, false
	}
	rt := accessRoute{cluster: seg[1]}
	switch {
	case len(seg) == 3 && m == http.MethodPost:
		rt.action = "CreateAccessEntry"
	case len(seg) == 3 && m == http.MethodGet:
		rt.action = "ListAccessEntries"
	case len(seg) == 4:
		rt.principal = seg[3]
		rt.action = map[string]string{http.MethodGet: "DescribeAccessEntry", http.MethodPost: "UpdateAccessEntry", http.MethodDelete: "DeleteAccessEntry"}[m]
	case len(seg) == 5 && seg[4] == "access-policies":
		rt.principal = seg[3]
		rt.action = map[string]string{http.MethodGet: "ListAssociatedAccessPolicies", http.MethodPost: "AssociateAccessPolicy"}[m]
	case len(seg) == 6 && seg[4] == "access-policies" && m == http.MethodDelete:
		rt.principal, rt.policy = seg[3], seg[5]
		rt.action = "DisassociateAccessPolicy"
	}
	if rt.action == "" {
		return accessRoute{}, false
	}
	return rt, true
}

// serve answers an access operation; it returns the answer's status.
func (a *eksAccess) serve(w http.ResponseWriter, r *http.Request, rt accessRoute, body []byte) int {
	out, err := a.do(r, rt, body)
	if err != nil {
		e, ok := err.(*eksError)
		if !ok {
			e = invalidParameter(rt.cluster, err.Error())
		}
		e.write(w)
		return e.status
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
	return http.StatusOK
}

func (a *eksAccess) do(r *http.Request, rt accessRoute, body []byte) (any, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if rt.action == "ListAccessPolicies" {
		var list []map[string]string
		for _, p := range AccessPolicies {
			list = append(list, map[string]string{"name": p, "arn": accessPolicyARNStart + p})
		}
		return map[string]any{"accessPolicies": list}, nil
	}
	c, ok := a.clusters[rt.cluster]
	if !ok {
		return nil, noCluster(rt.cluster)
	}
	if rt.action == "UpdateClusterConfig" {
		return a.updateMode(c, rt.cluster, body)
	}
	if c.Mode == ModeConfigMap {
		return nil, modeForbids(rt.cluster)
	}
	var in struct {
		PrincipalARN     string            `json:"principalArn"`
		KubernetesGroups *[]string         `json:"kubernetesGroups"`
		Username         *string           `json:"username"`
		Type             string            `json:"type"`
		Tags             map[string]string `json:"tags"`
		PolicyARN        string            `json:"policyArn"`
		AccessScope      *AccessScope      `json:"accessScope"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &in); err != nil {
			return nil, invalidParameter(rt.cluster, invalidParameterDocumented)
		}
	}
	now := epoch(a.now())
	switch rt.action {
	case "CreateAccessEntry":
		return a.create(c, rt.cluster, in.PrincipalARN, in.Type, in.KubernetesGroups, in.Username, in.Tags, now)
	case "ListAccessEntries":
		arns := []string{}
		for _, e := range c.Entries {
			arns = append(arns, e.PrincipalARN)
		}
		return paginate(r.URL.Query(), "accessEntries", arns, nil), nil
	}
	i := c.entry(rt.principal)
	if i < 0 {
		return nil, noEntry(rt.cluster)
	}
	e := &c.Entries[i]
	switch rt.action {
	case "DescribeAccessEntry":
		return map[string]any{"accessEntry": e}, nil
	case "DeleteAccessEntry":
		c.Entries = slices.Delete(c.Entries, i, i+1)
		return map[string]any{}, nil
	case "UpdateAccessEntry":
		if err := checkNames(rt.cluster, in.KubernetesGroups, in.Username); err != nil {
			return nil, err
		}
		if in.KubernetesGroups != nil {
			e.KubernetesGroups = *in.KubernetesGroups
		}
		if in.Username != nil && *in.Username != "" {
			e.Username = *in.Username
		}
		e.ModifiedAt = now
		return map[string]any{"accessEntry": e}, nil
	case "ListAssociatedAccessPolicies":
		out := map[string]any{"clusterName": rt.cluster, "principalArn": e.PrincipalARN}
		return paginate(r.URL.Query(), "associatedAccessPolicies", e.Policies, out), nil
	case "AssociateAccessPolicy":
		return associate(e, rt.cluster, in.PolicyARN, in.AccessScope, now)
	case "DisassociateAccessPolicy":
		j := slices.IndexFunc(e.Policies, func(p AssociatedPolicy) bool { return p.PolicyARN == rt.policy })
		if j >= 0 {
			e.Policies = slices.Delete(e.Policies, j, j+1)
		}
		return map[string]any{}, nil
	}
	return nil, invalidParameter(rt.cluster, invalidParameterDocumented)
}

// create adds an access entry.
func (a *eksAccess) create(c *ClusterAccess, cluster, principal, typ string, groups *[]string, username *string, tags map[string]string, now epoch) (any, error) {
	kind, account, name, ok := ParsePrincipal(principal)
	if !ok {
		return nil, invalidParameter(cluster, "The specified principalArn is invalid: invalid principal.")
	}
	if c.entry(principal) >= 0 {
		return nil, &eksError{http.StatusConflict, "ResourceInUseException", "The specified access entry resource is already in use on this cluster.", cluster}
	}
	if err := checkNames(cluster, groups, username); err != nil {
		return nil, err
	}
	if typ == "" {
		typ = "STANDARD"
	}
	e := AccessEntry{
		ClusterName: cluster, PrincipalARN: principal, KubernetesGroups: []string{}, Tags: map[string]string{}, Type: typ,
		CreatedAt: now, ModifiedAt: now, Username: principal,
		AccessEntryARN: fmt.Sprintf("arn:aws:eks:%s:%s:access-entry/%s/%s/%s/%s/%s", c.region, account, cluster, kind, account, name, uuid.NewString()),
	}
	if kind == "role" { // EKS names a role's callers by their session
		e.Username = "arn:aws:sts::" + account + ":assumed-role/" + name + "/{{SessionName}}"
	}
	if groups != nil {
		e.KubernetesGroups = *groups
	}
	if username != nil && *username != "" {
		e.Username = *username
	}
	for k, v := range tags {
		e.Tags[k] = v
	}
	c.Entries = append(c.Entries, e)
	return map[string]any{"accessEntry": e}, nil
}

// associate associates an access policy with e, or changes its scope.
func associate(e *AccessEntry, cluster, policy string, scope *AccessScope, now epoch) (any, error) {
	if e.Type != "STANDARD" {
		return nil, invalidParameter(cluster, `This operation can only be performed on Access Entries with a type of "STANDARD".`)
	}
	name, ok := strings.CutPrefix(policy, accessPolicyARNStart)
	if !ok || !slices.Contains(AccessPolicies, name) || scope == nil ||
		(scope.Type != "cluster" && scope.Type != "namespace") || (scope.Type == "namespace") != (len(scope.Namespaces) > 0) {
		return nil, invalidParameter(cluster, invalidParameterDocumented)
	}
	if scope.Namespaces == nil {
		scope.Namespaces = []string{}
	}
	p := AssociatedPolicy{PolicyARN: policy, AccessScope: *scope, AssociatedAt: now, ModifiedAt: now}
	if j := slices.IndexFunc(e.Policies, func(q AssociatedPolicy) bool { return q.PolicyARN == policy }); j >= 0 {
		p.AssociatedAt = e.Policies[j].AssociatedAt
		e.Policies[j] = p
	} else {
		e.Policies = append(e.Policies, p)
	}
	return map[string]any{"clusterName": cluster, "principalArn": e.PrincipalARN, "associatedAccessPolicy": p}, nil
}

// updateMode changes the authentication mode, one way only, as EKS does:
// CONFIG_MAP → API_AND_CONFIG_MAP → API.
func (a *eksAccess) updateMode(c *ClusterAccess, cluster string, body []byte) (any, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, invalidParameter(cluster, invalidParameterDocumented)
	}
	var access struct {
		Mode string `json:"authenticationMode"`
	}
	if err := json.Unmarshal(in["accessConfig"], &access); err != nil {
		return nil, invalidParameter(cluster, invalidParameterDocumented)
	}
	for k := range in {
		if k != "accessConfig" && k != "clientRequestToken" && k != "name" {
			return nil, invalidParameter(cluster, "Only one type of update can be allowed.")
		}
	}
	next := map[string]string{ModeConfigMap: ModeAPIAndConfigMap, ModeAPIAndConfigMap: ModeAPI}
	if next[c.Mode] != access.Mode {
		return nil, invalidParameter(cluster, fmt.Sprintf("Unsupported authentication mode update from %s to %s", c.Mode, access.Mode))
	}
	c.Mode = access.Mode
	return map[string]any{"update": map[string]any{
		"id": uuid.NewString(), "status": "Successful", "type": "AccessConfigUpdate", "createdAt": epoch(a.now()),
		"params": []map[string]string{{"type": "AuthenticationMode", "value": access.Mode}}, "errors": []any{},
	}}, nil
}

// checkNames refuses the Kubernetes names EKS keeps for itself.
func checkNames(cluster string, groups *[]string, username *string) error {
	if groups != nil {
		for _, g := range *groups {
			if strings.HasPrefix(g, "system:") {
				return invalidParameter(cluster, "The kubernetes group name "+g+" is invalid, it cannot start with system:")
			}
		}
	}
	if username != nil && strings.HasPrefix(*username, "system:") {
		return invalidParameter(cluster, "The username must not begin with system:")
	}
	return nil
}

// entry is the index of principal's access entry, or -1.
func (c *ClusterAccess) entry(principal string) int {
	return slices.IndexFunc(c.Entries, func(e AccessEntry) bool { return e.PrincipalARN == principal })
}

// paginate lists items by maxResults and nextToken (an offset) under key,
// adding to out.
func paginate[T any](q url.Values, key string, items []T, out map[string]any) map[string]any {
	if out == nil {
		out = map[string]any{}
	}
	start, _ := strconv.Atoi(q.Get("nextToken"))
	size := 100
	if n, err := strconv.Atoi(q.Get("maxResults")); err == nil && n >= 1 && n <= 100 {
		size = n
	}
	start = min(max(start, 0), len(items))
	end := min(start+size, len(items))
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	out[key] = page
	if end < len(items) {
		out["nextToken"] = strconv.Itoa(end)
	}
	return out
}

// ParsePrincipal splits an IAM user's or role's ARN into its kind ("user"
// or "role"), its account and its name (the last part of its path).
func ParsePrincipal(arn string) (kind, account, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", "", false
	}
	account, res, ok := strings.Cut(rest, ":")
	if !ok || len(account) != 12 {
		return "", "", "", false
	}
	kind, path, ok := strings.Cut(res, "/")
	if !ok || (kind != "user" && kind != "role") || path == "" {
		return "", "", "", false
	}
	return kind, account, path[strings.LastIndex(path, "/")+1:], true
}

// register records a cluster from its CreateCluster request and answer;
// principal is the caller in its account ("user/NAME", "role/NAME").
// With the creator's bootstrap permissions in a mode that has access
// entries, the creator gets an entry with AmazonEKSClusterAdminPolicy,
// as on EKS.
func (a *eksAccess) register(request, answer []byte, principal string) {
	var in struct {
		Access struct {
			Mode           string `json:"authenticationMode"`
			BootstrapAdmin *bool  `json:"bootstrapClusterCreatorAdminPermissions"`
		} `json:"accessConfig"`
	}
	var out struct {
		Cluster struct {
			Name string `json:"name"`
			ARN  string `json:"arn"`
		} `json:"cluster"`
	}
	if json.Unmarshal(request, &in) != nil || json.Unmarshal(answer, &out) != nil || out.Cluster.Name == "" {
		return
	}
	parts := strings.Split(out.Cluster.ARN, ":")
	if len(parts) < 5 {
		return
	}
	c := &ClusterAccess{Mode: in.Access.Mode, BootstrapAdmin: in.Access.BootstrapAdmin == nil || *in.Access.BootstrapAdmin, region: parts[3]}
	if principal != "" {
		c.Creator = "arn:aws:iam::" + parts[4] + ":" + principal
	}
	if c.Mode == "" {
		c.Mode = ModeConfigMap
	}
	if c.Creator != "" && c.BootstrapAdmin && c.Mode != ModeConfigMap {
		now := epoch(a.now())
		if _, err := a.create(c, out.Cluster.Name, c.Creator, "STANDARD", nil, nil, nil, now); err == nil {
			_, _ = associate(&c.Entries[len(c.Entries)-1], out.Cluster.Name, accessPolicyARNStart+"AmazonEKSClusterAdminPolicy", &AccessScope{Type: "cluster"}, now)
		}
	}
	a.mu.Lock()
	a.clusters[out.Cluster.Name] = c
	a.mu.Unlock()
}

// describeInto adds what the front door knows of a cluster to a
// DescribeCluster answer: its access configuration and, once the cluster
// serves, its API server's endpoint, CA bundle and OIDC issuer in place
// of moto's made-up ones, so that `aws eks update-kubeconfig` reaches it
// and IRSA trust policies name the issuer that signs its tokens.
func (a *eksAccess) describeInto(answer []byte) []byte {
	var doc map[string]map[string]any
	dec := json.NewDecoder(bytes.NewReader(answer))
	dec.UseNumber()
	if dec.Decode(&doc) != nil || doc["cluster"] == nil {
		return answer
	}
	name, _ := doc["cluster"]["name"].(string)
	a.mu.Lock()
	c, ok := a.clusters[name]
	if ok {
		doc["cluster"]["accessConfig"] = map[string]any{"authenticationMode": c.Mode, "bootstrapClusterCreatorAdminPermissions": c.BootstrapAdmin}
		if c.serving != nil {
			doc["cluster"]["endpoint"] = c.serving.URL
			doc["cluster"]["certificateAuthority"] = map[string]any{"data": base64.StdEncoding.EncodeToString(c.serving.CAPEM)}
			if c.serving.OIDCIssuer != "" {
				doc["cluster"]["identity"] = map[string]any{"oidc": map[string]any{"issuer": c.serving.OIDCIssuer}}
			}
		}
	}
	a.mu.Unlock()
	if !ok {
		return answer
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return answer
	}
	return b
}

// setServing records where a known cluster's API server serves; it fails for
// a cluster the front door does not know.
func (a *eksAccess) setServing(name string, at ClusterEndpoint) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.clusters[name]
	if !ok {
		return fmt.Errorf("no EKS cluster %q in the AWS plane", name)
	}
	c.serving = &at
	return nil
}

// issuerKeys returns the key set of the cluster whose OIDC issuer is iss.
func (a *eksAccess) issuerKeys(iss string) (jose.JSONWebKeySet, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.clusters {
		if c.serving == nil || c.serving.OIDCIssuer != iss || iss == "" {
			continue
		}
		var set jose.JSONWebKeySet
		if json.Unmarshal(c.serving.JWKS, &set) != nil {
			return jose.JSONWebKeySet{}, false
		}
		return set, true
	}
	return jose.JSONWebKeySet{}, false
}

// forget drops a deleted cluster.
func (a *eksAccess) forget(name string) {
	a.mu.Lock()
	delete(a.clusters, name)
	a.mu.Unlock()
}

// Access returns a copy of the cluster's access state, and whether the
// cluster is known.
func (a *eksAccess) Access(cluster string) (ClusterAccess, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.clusters[cluster]
	if !ok {
		return ClusterAccess{}, false
	}
	cp := *c
	cp.Entries = slices.Clone(c.Entries)
	for i := range cp.Entries {
		cp.Entries[i].Policies = slices.Clone(c.Entries[i].Policies)
		cp.Entries[i].KubernetesGroups = slices.Clone(c.Entries[i].KubernetesGroups)
	}
	return cp, true
}
