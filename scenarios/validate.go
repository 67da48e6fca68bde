package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gameday-sre/gameday/internal/domain/eks"
)

// Checker checks a decoded, defaulted scenario and resolves its
// manifests. Every problem is recorded; nothing stops at the first.
type Checker struct {
	errs *errorList
	s    *Scenario
	fsys fs.FS
	dir  string

	roles       map[string]*Role
	nodeGroups  map[string]*NodeGroup
	repos       map[string]*Repository
	namespaces  map[string]bool
	workloads   map[string]*Workload
	deployments map[string]*Object // "ns/name"
	services    map[string]*Object // "ns/name"
	causes      map[string]bool
	objectives  map[string]*Objective
	// inObjectives is set while checking a condition of an objective or a
	// penalty, which may refer to objectives.
	inObjectives bool
	// created and applied are the node groups and workloads that steps
	// create and apply, so far.
	created, applied map[string]bool
	// brokenWorkloads is set when a workload failed to load; references
	// to its objects are then not reported as unknown, since the real
	// problem is already reported.
	brokenWorkloads bool
}

var (
	nameRE       = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	idRE         = nameRE
	accountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	policyNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	policyARNRE  = regexp.MustCompile(`^arn:aws:iam::(aws|[0-9]{12}):policy/[\w+=,.@/-]+$`)
	repoNameRE   = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$`)
	tagRE        = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	clusterRE    = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$`)
	nodeGroupRE  = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]{0,62}$`)
	actionRE     = regexp.MustCompile(`^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$`)
	difficulties = []string{"beginner", "intermediate", "advanced"}
	categories   = []string{CategoryDetect, CategoryRootCause, CategoryFix, CategoryRestart, CategoryRecover, CategoryOther}
	phases       = []string{"Pending", "Running", "Succeeded", "Failed", "Unknown"}
	taintEffects = []string{"NoSchedule", "PreferNoSchedule", "NoExecute"}
)

func (v *Checker) validate() {
	v.metadata()
	v.environment()
	v.checkTimings()
	v.loadWorkloads()
	v.catalogues()
	v.steps()
	v.symptoms()
	v.checkObjectives()
	v.checkDecoys()
	v.checkControl()
	v.checkVerification()
	v.checkPenalties()
	v.checkHints()
	v.checkSolution()
	v.checkWrongFixes()
	v.parameters() // after the workloads: their files use parameters too
}

// checkDecoys requires, when objectives are achieved by claims, at least
// one cause in the catalogue that no objective's claim names: wrong
// claims are what cost points (see verify.ClaimCost), so a catalogue with
// no wrong answer would make claiming every cause free.
func (v *Checker) checkDecoys() {
	named := v.answers()
	if len(named) == 0 || len(v.s.Spec.Causes) == 0 {
		return
	}
	for _, c := range v.s.Spec.Causes {
		if !named[c.ID] {
			return
		}
	}
	v.errs.add("spec.causes", "needs at least one wrong answer: every cause is named by an objective, so claiming them all would cost nothing; add plausible wrong causes")
}

// answers returns the causes that objectives' finding conditions name.
func (v *Checker) answers() map[string]bool {
	named := map[string]bool{}
	var walk func(c *Condition)
	walk = func(c *Condition) {
		if f, ok := c.Leaf.(*FindingCondition); ok {
			named[f.Cause] = true
		}
		for i := range c.All {
			walk(&c.All[i])
		}
		for i := range c.Any {
			walk(&c.Any[i])
		}
	}
	for i := range v.s.Spec.Objectives {
		walk(&v.s.Spec.Objectives[i].When)
	}
	return named
}

func (v *Checker) required(p, val string) bool {
	if strings.TrimSpace(val) == "" {
		v.errs.add(p, "required field missing")
		return false
	}
	return true
}

func (v *Checker) oneOf(p, val string, allowed []string) {
	if val != "" && !slices.Contains(allowed, val) {
		v.errs.add(p, "must be one of %s, got %q%s", strings.Join(allowed, ", "), val, didYouMean(val, allowed))
	}
}

// unique reports a duplicate name at p.
func (v *Checker) unique(seen map[string]bool, p, what, name string) {
	if name == "" {
		return
	}
	if seen[name] {
		v.errs.add(p, "duplicate %s %q", what, name)
	}
	seen[name] = true
}

// ref reports an unknown reference with a suggestion.
func (v *Checker) ref(p, what, name string, known []string) {
	v.errs.add(p, "unknown %s %q%s", what, name, didYouMean(name, known))
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (v *Checker) metadata() {
	md := v.s.Metadata
	if v.required("metadata.name", md.Name) && (!nameRE.MatchString(md.Name) || len(md.Name) > 63) {
		v.errs.add("metadata.name", "must be a DNS label (lowercase letters, digits and '-', at most 63), got %q", md.Name)
	}
	v.required("metadata.title", md.Title)
	v.oneOf("metadata.difficulty", md.Difficulty, difficulties)
	v.required("spec.briefing", v.s.Spec.Briefing)
}

func (v *Checker) environment() {
	env := &v.s.Spec.Environment
	v.oneOf("spec.environment.infra", env.Infra, Infras)
	if !accountRE.MatchString(env.AWS.AccountID) {
		v.errs.add("spec.environment.aws.accountId", "must be 12 digits, got %q", env.AWS.AccountID)
	}
	if err := eks.CheckRegion(env.AWS.Region); err != nil {
		v.errs.add("spec.environment.aws.region", "%v", err)
	}
	if v.required("spec.environment.cluster.name", env.Cluster.Name) && !clusterRE.MatchString(env.Cluster.Name) {
		v.errs.add("spec.environment.cluster.name", "not a valid EKS cluster name: %q", env.Cluster.Name)
	}
	for i, a := range env.Cluster.Addons {
		v.oneOf(fmt.Sprintf("spec.environment.cluster.addons[%d]", i), a, Addons)
	}

	v.roles = v.iamRoles(env)
	v.nodeGroups = v.eksNodeGroups(env)
	v.repos = v.ecrRepositories(env)
	v.environmentNamespaces(env)
}

// iamName checks the name of an IAM role or policy: given, valid as IAM
// has it, and unique among seen.
func (v *Checker) iamName(p, kind, name string, re *regexp.Regexp, seen map[string]bool) {
	if v.required(p, name) && !re.MatchString(name) {
		v.errs.add(p, "not a valid IAM %s name: %q", kind, name)
	}
	v.unique(seen, p, kind, name)
}

// iamRoles checks the IAM roles, and returns them by name.
func (v *Checker) iamRoles(env *Environment) map[string]*Role {
	roles := map[string]*Role{}
	policies := map[string]bool{}
	for i := range env.IAM.Policies {
		pol := &env.IAM.Policies[i]
		p := fmt.Sprintf("spec.environment.iam.policies[%d]", i)
		v.iamName(p+".name", "policy", pol.Name, policyNameRE, policies)
		v.policyDocument(p+".document", &pol.Document)
	}
	seen := map[string]bool{}
	for i := range env.IAM.Roles {
		r := &env.IAM.Roles[i]
		p := fmt.Sprintf("spec.environment.iam.roles[%d]", i)
		v.iamName(p+".name", "role", r.Name, roleNameRE, seen)
		roles[r.Name] = r
		for j, pol := range r.ManagedPolicies {
			v.policyARN(fmt.Sprintf("%s.managedPolicies[%d]", p, j), pol)
		}
		inl := map[string]bool{}
		for j := range r.InlinePolicies {
			ip := fmt.Sprintf("%s.inlinePolicies[%d]", p, j)
			v.required(ip+".name", r.InlinePolicies[j].Name)
			v.unique(inl, ip+".name", "inline policy", r.InlinePolicies[j].Name)
			v.policyDocument(ip+".document", &r.InlinePolicies[j].Document)
		}
		if b := r.PermissionsBoundary; b != "" && !policies[b] {
			v.errs.add(p+".permissionsBoundary", "no policy %q in spec.environment.iam.policies", b)
		}
	}
	return roles
}

// eksNodeGroups checks the node groups (their roles must be checked first),
// and returns them by name.
func (v *Checker) eksNodeGroups(env *Environment) map[string]*NodeGroup {
	groups := map[string]*NodeGroup{}
	seen := map[string]bool{}
	for i := range env.NodeGroups {
		ng := &env.NodeGroups[i]
		p := fmt.Sprintf("spec.environment.nodeGroups[%d]", i)
		if v.required(p+".name", ng.Name) && !nodeGroupRE.MatchString(ng.Name) {
			v.errs.add(p+".name", "not a valid node group name: %q", ng.Name)
		}
		v.unique(seen, p+".name", "node group", ng.Name)
		groups[ng.Name] = ng
		if v.required(p+".role", ng.Role) && v.roles[ng.Role] == nil {
			v.ref(p+".role", "role", ng.Role, keys(v.roles))
		}
		if err := eks.CheckSize(ng.Size, 1); err != nil {
			v.errs.add(p+".size", "%v", strings.TrimPrefix(err.Error(), "size "))
		}
		v.oneOf(p+".capacityType", ng.CapacityType, []string{eks.DefaultCapacityType, "SPOT"})
		if !strings.HasPrefix(ng.Zone, env.AWS.Region) {
			v.errs.add(p+".zone", "zone %q is not in region %q", ng.Zone, env.AWS.Region)
		}
		if pfx, err := netip.ParsePrefix(ng.Subnet); err != nil {
			v.errs.add(p+".subnet", "must be an IPv4 CIDR between /%d and /%d, got %q", eks.MinSubnetBits, eks.MaxSubnetBits, ng.Subnet)
		} else if err := eks.CheckSubnet(pfx); err != nil {
			v.errs.add(p+".subnet", "%v", err)
		}
		for k, val := range ng.Labels {
			lp := joinPath(p+".labels", k)
			for _, msg := range validation.IsQualifiedName(k) {
				v.errs.add(lp, "invalid label key: %s", msg)
			}
			for _, msg := range validation.IsValidLabelValue(val) {
				v.errs.add(lp, "invalid label value: %s", msg)
			}
		}
		for j, t := range ng.Taints {
			tp := fmt.Sprintf("%s.taints[%d]", p, j)
			if v.required(tp+".key", t.Key) {
				for _, msg := range validation.IsQualifiedName(t.Key) {
					v.errs.add(tp+".key", "invalid taint key: %s", msg)
				}
			}
			if v.required(tp+".effect", t.Effect) {
				v.oneOf(tp+".effect", t.Effect, taintEffects)
			}
		}
	}
	return groups
}

// ecrRepositories checks the ECR repositories and their images, and
// returns them by name.
func (v *Checker) ecrRepositories(env *Environment) map[string]*Repository {
	repos := map[string]*Repository{}
	seen := map[string]bool{}
	for i := range env.ECR.Repositories {
		r := &env.ECR.Repositories[i]
		p := fmt.Sprintf("spec.environment.ecr.repositories[%d]", i)
		if v.required(p+".name", r.Name) && !repoNameRE.MatchString(r.Name) {
			v.errs.add(p+".name", "not a valid ECR repository name: %q", r.Name)
		}
		v.unique(seen, p+".name", "repository", r.Name)
		repos[r.Name] = r
		tags := map[string]bool{}
		for j, img := range r.Images {
			ip := fmt.Sprintf("%s.images[%d]", p, j)
			if v.required(ip+".tag", img.Tag) && !tagRE.MatchString(img.Tag) {
				v.errs.add(ip+".tag", "not a valid image tag: %q", img.Tag)
			}
			v.unique(tags, ip+".tag", "tag", img.Tag)
			if img.Layers < 1 || img.Layers > 8 {
				v.errs.add(ip+".layers", "must be between 1 and 8, got %d", img.Layers)
			}
			if img.Behaviour != nil {
				for _, problem := range img.Behaviour.Validate() {
					field, msg, _ := strings.Cut(problem, ": ")
					v.errs.add(ip+".behaviour."+field, "%s", msg)
				}
			}
		}
	}
	return repos
}

// environmentNamespaces checks the namespaces, and records them beside
// the two every cluster has.
func (v *Checker) environmentNamespaces(env *Environment) {
	v.namespaces = map[string]bool{"default": true, "kube-system": true}
	seen := map[string]bool{}
	for i, ns := range env.Namespaces {
		p := fmt.Sprintf("spec.environment.namespaces[%d]", i)
		if !nameRE.MatchString(ns) {
			v.errs.add(p, "not a valid namespace name: %q", ns)
		}
		v.unique(seen, p, "namespace", ns)
		v.namespaces[ns] = true
	}
}

func (v *Checker) policyARN(p, arn string) {
	if !policyARNRE.MatchString(arn) {
		v.errs.add(p, "not a managed policy ARN or AWS managed policy name: %q", arn)
	}
}

func (v *Checker) policyDocument(p string, d *PolicyDocument) {
	v.oneOf(p+".Version", d.Version, []string{"2012-10-17", "2008-10-17"})
	if len(d.Statement) == 0 {
		v.errs.add(p+".Statement", "at least one statement required")
	}
	for i, st := range d.Statement {
		sp := fmt.Sprintf("%s.Statement[%d]", p, i)
		if v.required(sp+".Effect", st.Effect) {
			v.oneOf(sp+".Effect", st.Effect, []string{"Allow", "Deny"})
		}
		switch {
		case len(st.Action) == 0 && len(st.NotAction) == 0:
			v.errs.add(sp, "one of Action and NotAction is required")
		case len(st.Action) > 0 && len(st.NotAction) > 0:
			v.errs.add(sp, "Action and NotAction are mutually exclusive")
		}
		switch {
		case len(st.Resource) == 0 && len(st.NotResource) == 0:
			v.errs.add(sp, "one of Resource and NotResource is required")
		case len(st.Resource) > 0 && len(st.NotResource) > 0:
			v.errs.add(sp, "Resource and NotResource are mutually exclusive")
		}
		for j, a := range append(slices.Clone(st.Action), st.NotAction...) {
			if !actionRE.MatchString(a) {
				v.errs.add(fmt.Sprintf("%s.Action[%d]", sp, j), "not an IAM action: %q", a)
			}
		}
	}
}

// loadWorkloads reads and parses every workload's manifests.
func (v *Checker) loadWorkloads() {
	v.workloads = map[string]*Workload{}
	v.deployments = map[string]*Object{}
	v.services = map[string]*Object{}
	seenName := map[string]bool{}
	seenObj := map[string]string{}
	for i := range v.s.Spec.Workloads {
		w := &v.s.Spec.Workloads[i]
		p := fmt.Sprintf("spec.workloads[%d]", i)
		if v.required(p+".name", w.Name) && !nameRE.MatchString(w.Name) {
			v.errs.add(p+".name", "must be a DNS label, got %q", w.Name)
		}
		v.unique(seenName, p+".name", "workload", w.Name)
		v.workloads[w.Name] = w
		var text, file string
		lineBase := 0
		switch {
		case w.Path != "" && w.Inline != "":
			v.errs.add(p, "path and inline are mutually exclusive")
			continue
		case w.Path != "":
			file = path.Join(path.Dir(v.errs.file), w.Path)
			if path.IsAbs(w.Path) || strings.HasPrefix(path.Clean(w.Path), "..") {
				v.errs.add(p+".path", "must be relative to the scenario file and inside its directory: %q", w.Path)
				continue
			}
			if v.fsys == nil {
				v.errs.add(p+".path", "manifest files cannot be read here (scenario parsed without a file system)")
				continue
			}
			data, err := readLimited(v.fsys, path.Join(v.dir, w.Path))
			if err != nil {
				v.errs.add(p+".path", "cannot read manifest %s: %v", w.Path, unwrapPathError(err))
				v.brokenWorkloads = true
				continue
			}
			text = string(data)
			v.s.markUsed(text)
		case w.Inline != "":
			file = v.errs.file
			lineBase = v.errs.lookup(p + ".inline").Line
			text = w.Inline
		default:
			v.errs.add(p, "one of path and inline is required")
			continue
		}
		expanded, err := v.s.Expand(text)
		if err != nil {
			v.errs.addAt(file, Pos{Line: lineBase + unknownVarLine(text, v.s.expandable())}, p, "%v", err)
			v.brokenWorkloads = true
			continue
		}
		objs, probs := parseManifests(expanded)
		if len(probs) > 0 {
			v.brokenWorkloads = true
		}
		for _, pr := range probs {
			v.errs.addAt(file, Pos{Line: lineBase + pr.line}, p, "%s", pr.msg)
		}
		if len(objs) == 0 && len(probs) == 0 {
			v.errs.addAt(file, Pos{Line: lineBase}, p, "no Kubernetes objects found")
		}
		for j := range objs {
			o := &objs[j]
			o.File = file
			o.Pos.Line += lineBase
			id := fmt.Sprintf("%s %s/%s", o.Kind, o.Namespace, o.Name)
			if prev, dup := seenObj[id]; dup {
				v.errs.addAt(file, o.Pos, p, "duplicate object %s (also in workload %q)", id, prev)
			}
			seenObj[id] = w.Name
			if o.Kind == "Namespace" {
				v.namespaces[o.Name] = true
			}
		}
		for j := range objs {
			o := &objs[j]
			if o.Namespace != "" && !v.namespaces[o.Namespace] {
				v.errs.addAt(file, o.Pos, p, "%s %q is in namespace %q, which is not in spec.environment.namespaces%s", o.Kind, o.Name, o.Namespace, didYouMean(o.Namespace, keys(v.namespaces)))
			}
			switch o.Kind {
			case "Deployment":
				v.deployments[o.Namespace+"/"+o.Name] = o
			case "Service":
				v.services[o.Namespace+"/"+o.Name] = o
			}
		}
		w.Objects = objs
	}
}

func unwrapPathError(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

func (v *Checker) catalogues() {
	v.causes = map[string]bool{}
	seen := map[string]bool{}
	for i, c := range v.s.Spec.Causes {
		p := fmt.Sprintf("spec.causes[%d]", i)
		v.id(seen, p+".id", "cause", c.ID)
		v.required(p+".summary", c.Summary)
		v.causes[c.ID] = true
	}
	for i, m := range v.s.Spec.AlertMatchers {
		p := fmt.Sprintf("spec.alertMatchers[%d]", i)
		if v.required(p+".cause", m.Cause) && !v.causes[m.Cause] {
			v.ref(p+".cause", "cause", m.Cause, keys(v.causes))
		}
		v.required(p+".alertName", m.AlertName)
		for k, expr := range m.Labels {
			v.regexp(joinPath(p+".labels", k), expr)
		}
		for k, expr := range m.Annotations {
			v.regexp(joinPath(p+".annotations", k), expr)
		}
	}
	v.objectives = map[string]*Objective{}
	seen = map[string]bool{}
	for i := range v.s.Spec.Objectives {
		o := &v.s.Spec.Objectives[i]
		p := fmt.Sprintf("spec.objectives[%d]", i)
		v.id(seen, p+".id", "objective", o.ID)
		v.objectives[o.ID] = o
	}
}

func (v *Checker) steps() {
	v.created, v.applied = map[string]bool{}, map[string]bool{}
	sawFault := false
	seen := map[string]bool{}
	for i := range v.s.Spec.Steps {
		st := &v.s.Spec.Steps[i]
		p := fmt.Sprintf("spec.steps[%d]", i)
		v.required(p+".name", st.Name)
		v.unique(seen, p+".name", "step", st.Name)
		v.oneOf(p+".phase", st.Phase, []string{PhaseSetup, PhaseFault})
		if st.Phase == PhaseFault {
			sawFault = true
		} else if sawFault {
			v.errs.add(p+".phase", "setup step after a fault step; setup steps come first")
		}
		if !v.exactlyOne(p, st.actions, stepKinds.names(), "no action", "several actions (%s): set exactly one per step") || st.Action == nil {
			continue
		}
		st.Action.Check(v, p+"."+st.Kind)
	}
	for i := range v.s.Spec.Environment.NodeGroups {
		ng := &v.s.Spec.Environment.NodeGroups[i]
		if ng.Deferred && !v.created[ng.Name] {
			v.errs.add(fmt.Sprintf("spec.environment.nodeGroups[%d].deferred", i), "deferred node group %q is never created by a createNodeGroup step", ng.Name)
		}
	}
	for i := range v.s.Spec.Workloads {
		w := &v.s.Spec.Workloads[i]
		if w.Deferred && !v.applied[w.Name] {
			v.errs.add(fmt.Sprintf("spec.workloads[%d].deferred", i), "deferred workload %q is never applied by an apply step", w.Name)
		}
	}
}

// exactlyOne reports whether exactly one of a union's fields is set, and
// records the problem otherwise.
func (v *Checker) exactlyOne(p string, set, all []string, none, several string) bool {
	switch len(set) {
	case 0:
		v.errs.add(p, "%s: set exactly one of %s", none, strings.Join(all, ", "))
		return false
	case 1:
		return true
	}
	v.errs.add(p, several, strings.Join(set, ", "))
	return false
}

// Errorf records a problem at the field path p, located at that field's
// line and column.
func (v *Checker) Errorf(p, format string, args ...any) { v.errs.add(p, format, args...) }

// NodeGroup checks a reference, at p, to a node group of the scenario
// and returns it, or nil (the problem recorded) when there is none.
func (v *Checker) NodeGroup(p, name string) *NodeGroup { return v.nodeGroup(p, name) }

func (v *Checker) nodeGroup(p, name string) *NodeGroup {
	if !v.required(p, name) {
		return nil
	}
	ng := v.nodeGroups[name]
	if ng == nil {
		v.ref(p, "node group", name, keys(v.nodeGroups))
	}
	return ng
}

func (v *Checker) role(p, name string) {
	if v.required(p, name) && v.roles[name] == nil {
		v.ref(p, "role", name, keys(v.roles))
	}
}

func (v *Checker) rolePolicy(p, role, policy string) {
	v.role(p+".role", role)
	if v.required(p+".policy", policy) {
		v.policyARN(p+".policy", policy)
	}
}

func (v *Checker) objectRef(p string, o ObjectRef) {
	v.required(p+".apiVersion", o.APIVersion)
	v.required(p+".kind", o.Kind)
	v.required(p+".name", o.Name)
	if o.Namespace != "" && !v.namespaces[o.Namespace] {
		v.ref(p+".namespace", "namespace", o.Namespace, keys(v.namespaces))
	}
}

func (v *Checker) imageRef(p, repo, tag string) {
	if v.required(p+".repository", repo) && v.repos[repo] == nil {
		v.ref(p+".repository", "repository", repo, keys(v.repos))
	}
	if v.required(p+".tag", tag) && !tagRE.MatchString(tag) {
		v.errs.add(p+".tag", "not a valid image tag: %q", tag)
	}
}

// deployment checks a namespace/name reference to a Deployment in the
// workloads; field names the name's field.
func (v *Checker) deployment(p, ns, name, field string) *Object {
	if !v.required(p+".namespace", ns) || !v.required(p+"."+field, name) {
		return nil
	}
	d := v.deployments[ns+"/"+name]
	if d == nil && !v.brokenWorkloads {
		var known []string
		for k := range v.deployments {
			if n, nm, _ := strings.Cut(k, "/"); n == ns {
				known = append(known, nm)
			}
		}
		v.errs.add(p+"."+field, "unknown deployment %q in namespace %q%s", name, ns, didYouMean(name, known))
	}
	return d
}

func (v *Checker) expands(p, text string) {
	if _, err := v.s.Expand(text); err != nil {
		v.errs.add(p, "%v", err)
	}
}

func (v *Checker) regexp(p, expr string) {
	if expr == "" {
		return
	}
	x, err := v.s.ExpandRegexp(expr)
	if err != nil {
		v.errs.add(p, "%v", err)
		return
	}
	if _, err := regexp.Compile(x); err != nil {
		v.errs.add(p, "invalid regular expression: %v", err)
	}
}

func (v *Checker) command(p string, argv []string) {
	if len(argv) == 0 || argv[0] == "" {
		v.errs.add(p, "required field missing (a non-empty argv)")
		return
	}
	for i, a := range argv {
		v.expands(fmt.Sprintf("%s[%d]", p, i), a)
	}
}

func (v *Checker) symptoms() {
	sy := &v.s.Spec.Symptoms
	if len(sy.Checks) == 0 {
		v.errs.add("spec.symptoms.checks", "at least one check is required: symptoms prove the fault happened")
	}
	seen := map[string]bool{}
	for i := range sy.Checks {
		p := fmt.Sprintf("spec.symptoms.checks[%d]", i)
		v.required(p+".name", sy.Checks[i].Name)
		v.unique(seen, p+".name", "check", sy.Checks[i].Name)
		v.condition(p+".when", &sy.Checks[i].When, condCtx{})
	}
}

func (v *Checker) checkObjectives() {
	if len(v.s.Spec.Objectives) == 0 {
		v.errs.add("spec.objectives", "at least one objective is required")
	}
	for i := range v.s.Spec.Objectives {
		o := &v.s.Spec.Objectives[i]
		p := fmt.Sprintf("spec.objectives[%d]", i)
		v.required(p+".title", o.Title)
		if v.required(p+".category", o.Category) {
			v.oneOf(p+".category", o.Category, categories)
		}
		if o.Points <= 0 {
			v.errs.add(p+".points", "must be greater than 0, got %d", o.Points)
		}
		if o.Target.Duration > v.s.Metadata.TimeLimit.Duration {
			v.errs.add(p+".target", "target %s is beyond the time limit %s", o.Target.Duration, v.s.Metadata.TimeLimit.Duration)
		}
		for j, a := range o.After {
			ap := fmt.Sprintf("%s.after[%d]", p, j)
			switch {
			case a == o.ID:
				v.errs.add(ap, "objective %q cannot come after itself", a)
			case v.objectives[a] == nil:
				v.ref(ap, "objective", a, keys(v.objectives))
			}
		}
		v.condition(p+".when", &o.When, condCtx{objectives: true})
	}
	v.afterCycles()
}

// afterCycles reports a cycle in objectives' after lists.
func (v *Checker) afterCycles() {
	state := map[string]int{} // 0 new, 1 on stack, 2 done
	var visit func(id string, stack []string) bool
	visit = func(id string, stack []string) bool {
		switch state[id] {
		case 1:
			i := slices.Index(stack, id)
			cycle := append(slices.Clone(stack[i:]), id)
			for k, o := range v.s.Spec.Objectives {
				if o.ID == id {
					v.errs.add(fmt.Sprintf("spec.objectives[%d].after", k), "objectives wait for each other: %s", strings.Join(cycle, " → "))
				}
			}
			return true
		case 2:
			return false
		}
		state[id] = 1
		if o := v.objectives[id]; o != nil {
			for _, a := range o.After {
				if a != id && visit(a, append(stack, id)) {
					return true
				}
			}
		}
		state[id] = 2
		return false
	}
	for _, o := range v.s.Spec.Objectives {
		if state[o.ID] == 0 && visit(o.ID, nil) {
			return
		}
	}
}

func (v *Checker) checkPenalties() {
	seen := map[string]bool{}
	for i := range v.s.Spec.Penalties {
		pe := &v.s.Spec.Penalties[i]
		p := fmt.Sprintf("spec.penalties[%d]", i)
		v.id(seen, p+".id", "penalty", pe.ID)
		v.required(p+".title", pe.Title)
		if pe.Points <= 0 {
			v.errs.add(p+".points", "must be greater than 0, got %d", pe.Points)
		}
		v.condition(p+".when", &pe.When, condCtx{objectives: true})
	}
}

func (v *Checker) checkHints() {
	for i, h := range v.s.Spec.Hints {
		p := fmt.Sprintf("spec.hints[%d]", i)
		v.required(p+".text", h.Text)
		if h.Cost < 0 {
			v.errs.add(p+".cost", "must not be negative, got %d", h.Cost)
		}
		if h.Objective != "" && v.objectives[h.Objective] == nil {
			v.ref(p+".objective", "objective", h.Objective, keys(v.objectives))
		}
	}
}

func (v *Checker) checkSolution() { v.commands("spec.solution", v.s.Spec.Solution) }

// commands checks a list of solution steps (a solution, a wrong fix's
// steps), each with its description and command line.
func (v *Checker) commands(p string, steps []SolutionStep) {
	for i, st := range steps {
		sp := fmt.Sprintf("%s[%d]", p, i)
		v.required(sp+".description", st.Description)
		v.required(sp+".run", st.Run)
	}
}

// id checks an id: present, lowercase letters, digits and '-', and not
// seen before among the ids of what.
func (v *Checker) id(seen map[string]bool, p, what, id string) {
	if v.required(p, id) && !idRE.MatchString(id) {
		v.errs.add(p, "must be lowercase letters, digits and '-', got %q", id)
	}
	v.unique(seen, p, what, id)
}

// condCtx says what a condition may refer to where it is used.
type condCtx struct {
	// objectives: the condition is evaluated after handover, so it may
	// refer to objectives.
	objectives bool
}

func (v *Checker) condition(p string, c *Condition, ctx condCtx) {
	if !v.exactlyOne(p, c.set, conditionKeys(), "empty condition", "several conditions (%s) in one: combine them with all or any") {
		return
	}
	switch {
	case c.All != nil || c.Any != nil:
		list, name := c.All, "all"
		if c.Any != nil {
			list, name = c.Any, "any"
		}
		if len(list) == 0 {
			v.errs.add(p+"."+name, "at least one condition required")
		}
		for i := range list {
			v.condition(fmt.Sprintf("%s.%s[%d]", p, name, i), &list[i], ctx)
		}
	case c.Not != nil:
		v.condition(p+".not", c.Not, ctx)
	case c.Leaf != nil:
		outer := v.inObjectives
		v.inObjectives = ctx.objectives
		c.Leaf.Check(v, p+"."+c.Kind)
		v.inObjectives = outer
	}
}

func (v *Checker) namespace(p, ns string) bool {
	if !v.required(p, ns) {
		return false
	}
	if !v.namespaces[ns] {
		v.ref(p, "namespace", ns, keys(v.namespaces))
		return false
	}
	return true
}

func (v *Checker) count(p string, c Count) {
	if c.AtLeast != nil && *c.AtLeast < 0 {
		v.errs.add(p+".atLeast", "must not be negative")
	}
	if c.AtMost != nil && *c.AtMost < 0 {
		v.errs.add(p+".atMost", "must not be negative")
	}
	if c.AtLeast != nil && c.AtMost != nil && *c.AtLeast > *c.AtMost {
		v.errs.add(p, "atLeast %d is greater than atMost %d", *c.AtLeast, *c.AtMost)
	}
}

// unknownVarLine returns the 1-based line of the first ${NAME} in text
// whose NAME is not a variable, or 0.
func unknownVarLine(text string, vars map[string]string) int {
	for i, line := range strings.Split(text, "\n") {
		for _, m := range varRE.FindAllStringSubmatch(line, -1) {
			if _, ok := vars[m[1]]; !ok {
				return i + 1
			}
		}
	}
	return 0
}
