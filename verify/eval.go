package verify

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/jsonpath"

	"github.com/gameday-sre/gameday/infra/eks"
	"github.com/gameday-sre/gameday/internal/iampolicy"
	"github.com/gameday-sre/gameday/scenarios"
)

// Cloud is the AWS state conditions read.
type Cloud interface {
	// RolePolicies returns a role's attached managed policy ARNs and all
	// its policy documents.
	RolePolicies(ctx context.Context, role string) (attached []string, docs []iampolicy.Named, err error)
	// NodegroupSize returns a node group's desired size and whether it
	// exists.
	NodegroupSize(ctx context.Context, name string) (size int, exists bool, err error)
}

// restartAnnotation is what `kubectl rollout restart` sets.
const restartAnnotation = "kubectl.kubernetes.io/restartedAt"

// Evaluator checks conditions against the cluster (through informers),
// the AWS account and the run's findings.
type Evaluator struct {
	s       *scenarios.Scenario
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	mapper  meta.RESTMapper
	cloud   Cloud
	factory informers.SharedInformerFactory

	pods      cache.Indexer
	deps      cache.Indexer
	slices    cache.Indexer
	nodes     cache.Indexer
	events    cache.Indexer
	changed   chan struct{}
	mu        sync.Mutex
	restarts  map[string]time.Time // ns/name → when a new restartedAt was seen
	findings  []Finding
	key       []SpecClaim // the answer key claims are judged by
	achieved  func(id string) (time.Time, bool)
	handover  time.Time
	regexps   map[string]*regexp.Regexp
	execCache map[string]execResult
}

type execResult struct {
	ok bool
	at time.Time
}

// NewEvaluator returns an evaluator for the scenario. achieved reports
// when an objective was achieved (for restartedAfter).
func NewEvaluator(s *scenarios.Scenario, cs kubernetes.Interface, dyn dynamic.Interface, mapper meta.RESTMapper, cloud Cloud, achieved func(string) (time.Time, bool)) *Evaluator {
	f := informers.NewSharedInformerFactory(cs, 0)
	e := &Evaluator{
		s: s, cs: cs, dyn: dyn, mapper: mapper, cloud: cloud, factory: f,
		changed:  make(chan struct{}, 1),
		restarts: map[string]time.Time{},
		achieved: achieved, regexps: map[string]*regexp.Regexp{}, execCache: map[string]execResult{},
		key: ClaimsOf(s),
	}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { e.signal() },
		UpdateFunc: func(_, _ any) { e.signal() },
		DeleteFunc: func(any) { e.signal() },
	}
	register := func(inf cache.SharedIndexInformer) cache.Indexer {
		_, _ = inf.AddEventHandler(notify)
		return inf.GetIndexer()
	}
	e.pods = register(f.Core().V1().Pods().Informer())
	e.slices = register(f.Discovery().V1().EndpointSlices().Informer())
	e.nodes = register(f.Core().V1().Nodes().Informer())
	e.events = register(f.Core().V1().Events().Informer())
	depInf := f.Apps().V1().Deployments().Informer()
	_, _ = depInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { e.signal() },
		UpdateFunc: func(oldObj, newObj any) {
			o, n := oldObj.(*appsv1.Deployment), newObj.(*appsv1.Deployment)
			if n.Spec.Template.Annotations[restartAnnotation] != o.Spec.Template.Annotations[restartAnnotation] {
				e.mu.Lock()
				e.restarts[n.Namespace+"/"+n.Name] = time.Now()
				e.mu.Unlock()
			}
			e.signal()
		},
		DeleteFunc: func(any) { e.signal() },
	})
	e.deps = depInf.GetIndexer()
	return e
}

// Start starts the informers and waits for their caches.
func (e *Evaluator) Start(ctx context.Context) error {
	e.factory.Start(ctx.Done())
	for typ, ok := range e.factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("sync %v informer", typ)
		}
	}
	return nil
}

// Shutdown stops the informers.
func (e *Evaluator) Shutdown() { e.factory.Shutdown() }

// Changed signals that cluster state changed since the last receive.
func (e *Evaluator) Changed() <-chan struct{} { return e.changed }

func (e *Evaluator) signal() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// SetHandover records when the operator took over (restarts before it do
// not count).
func (e *Evaluator) SetHandover(t time.Time) {
	e.mu.Lock()
	e.handover = t
	e.mu.Unlock()
}

// AddFinding adds a root-cause claim for finding conditions.
func (e *Evaluator) AddFinding(f Finding) {
	e.mu.Lock()
	e.findings = append(e.findings, f)
	e.mu.Unlock()
	e.signal()
}

// Round caches AWS answers within one evaluation pass, so that many
// conditions on one role cost one lookup.
type Round struct {
	roles  map[string]roleState
	groups map[string]groupState
}

type roleState struct {
	attached []string
	docs     []iampolicy.Named
	err      error
}

type groupState struct {
	size   int
	exists bool
	err    error
}

// NewRound starts an evaluation pass.
func NewRound() *Round {
	return &Round{roles: map[string]roleState{}, groups: map[string]groupState{}}
}

// Eval reports whether c holds, and what was observed (for messages).
func (e *Evaluator) Eval(ctx context.Context, c *scenarios.Condition, r *Round) (bool, string) {
	switch {
	case c.All != nil:
		for i := range c.All {
			if ok, obs := e.Eval(ctx, &c.All[i], r); !ok {
				return false, obs
			}
		}
		return true, "all hold"
	case c.Any != nil:
		var obs []string
		for i := range c.Any {
			ok, o := e.Eval(ctx, &c.Any[i], r)
			if ok {
				return true, o
			}
			obs = append(obs, o)
		}
		return false, "none holds: " + strings.Join(obs, "; ")
	case c.Not != nil:
		ok, obs := e.Eval(ctx, c.Not, r)
		return !ok, "not (" + obs + ")"
	case c.Pods != nil:
		return e.pods_(c.Pods)
	case c.Deployment != nil:
		return e.deployment(c.Deployment)
	case c.Endpoints != nil:
		return e.endpoints(c.Endpoints)
	case c.Nodes != nil:
		return e.nodes_(c.Nodes)
	case c.NodeGroup != nil:
		return e.nodeGroup(ctx, c.NodeGroup, r)
	case c.Event != nil:
		return e.event(c.Event)
	case c.IAM != nil:
		return e.iam(ctx, c.IAM, r)
	case c.Finding != nil:
		return e.finding(c.Finding)
	case c.Object != nil:
		return e.object(ctx, c.Object)
	case c.Exec != nil:
		return e.exec(ctx, c.Exec)
	}
	return false, "empty condition"
}

func countHolds(n int, c scenarios.Count) bool {
	if c.AtLeast == nil && c.AtMost == nil {
		return n >= 1
	}
	return (c.AtLeast == nil || n >= *c.AtLeast) && (c.AtMost == nil || n <= *c.AtMost)
}

func countText(c scenarios.Count) string {
	switch {
	case c.AtLeast != nil && c.AtMost != nil:
		return fmt.Sprintf("%d..%d", *c.AtLeast, *c.AtMost)
	case c.AtLeast != nil:
		return fmt.Sprintf("at least %d", *c.AtLeast)
	case c.AtMost != nil:
		return fmt.Sprintf("at most %d", *c.AtMost)
	}
	return "at least 1"
}

func (e *Evaluator) re(expr string) *regexp.Regexp {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reLocked(expr)
}

func (e *Evaluator) nodeGroupOf(node string) string {
	obj, ok, _ := e.nodes.GetByKey(node)
	if !ok {
		return ""
	}
	return obj.(*corev1.Node).Labels[eks.NodeGroupLabel]
}

func (e *Evaluator) pods_(q *scenarios.PodsCondition) (bool, string) {
	sel := labels.SelectorFromSet(q.Selector)
	n, total := 0, 0
	reasons := map[string]int{}
	for _, obj := range e.pods.List() {
		p := obj.(*corev1.Pod)
		if p.Namespace != q.Namespace || !sel.Matches(labels.Set(p.Labels)) || p.DeletionTimestamp != nil {
			continue
		}
		total++
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Waiting != nil {
				reasons[cs.State.Waiting.Reason]++
			}
		}
		if q.NodeGroup != "" && e.nodeGroupOf(p.Spec.NodeName) != q.NodeGroup {
			continue
		}
		if q.Phase != "" && string(p.Status.Phase) != q.Phase {
			continue
		}
		if q.Ready != nil && podReady(p) != *q.Ready {
			continue
		}
		if q.WaitingReason != "" && !slices.ContainsFunc(p.Status.ContainerStatuses, func(cs corev1.ContainerStatus) bool {
			return cs.State.Waiting != nil && slices.Contains(strings.Split(q.WaitingReason, "|"), cs.State.Waiting.Reason)
		}) {
			continue
		}
		if q.RestartsAtLeast != nil && !slices.ContainsFunc(p.Status.ContainerStatuses, func(cs corev1.ContainerStatus) bool {
			return int(cs.RestartCount) >= *q.RestartsAtLeast
		}) {
			continue
		}
		n++
	}
	return countHolds(n, q.Count), fmt.Sprintf("%d of %d pods in %s match (want %s); waiting reasons %v", n, total, q.Namespace, countText(q.Count), reasons)
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (e *Evaluator) deployment(q *scenarios.DeploymentCondition) (bool, string) {
	key := q.Namespace + "/" + q.Name
	obj, exists, _ := e.deps.GetByKey(key)
	if q.Exists != nil && !*q.Exists {
		return !exists, fmt.Sprintf("deployment %s exists: %v", key, exists)
	}
	if !exists {
		return false, "deployment " + key + " does not exist"
	}
	d := obj.(*appsv1.Deployment)
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	obs := fmt.Sprintf("deployment %s: %d/%d available, %d updated, %d total", key, st.AvailableReplicas, want, st.UpdatedReplicas, st.Replicas)
	if q.Available != nil {
		avail := st.AvailableReplicas >= want && conditionTrue(d, appsv1.DeploymentAvailable)
		if avail != *q.Available {
			return false, obs
		}
	}
	if q.RolledOut != nil && rolledOut(d, want) != *q.RolledOut {
		return false, obs + fmt.Sprintf(", rolled out %v", rolledOut(d, want))
	}
	if q.ImagePullSecrets != nil && (len(d.Spec.Template.Spec.ImagePullSecrets) > 0) != *q.ImagePullSecrets {
		return false, fmt.Sprintf("deployment %s has %d imagePullSecrets", key, len(d.Spec.Template.Spec.ImagePullSecrets))
	}
	if q.ImageMatches != "" {
		re := e.re(q.ImageMatches)
		for _, c := range d.Spec.Template.Spec.Containers {
			if !re.MatchString(c.Image) {
				return false, fmt.Sprintf("deployment %s container %s image %s", key, c.Name, c.Image)
			}
		}
	}
	e.mu.Lock()
	restartedAt, restarted := e.restarts[key]
	restarted = restarted && !restartedAt.Before(e.handover)
	e.mu.Unlock()
	if q.Restarted != nil && restarted != *q.Restarted {
		return false, fmt.Sprintf("deployment %s restarted since handover: %v", key, restarted)
	}
	if q.RestartedAfter != "" {
		at, ok := e.achieved(q.RestartedAfter)
		if !ok || !restarted || restartedAt.Before(at) {
			return false, fmt.Sprintf("deployment %s not restarted after %s", key, q.RestartedAfter)
		}
	}
	return true, obs
}

func conditionTrue(d *appsv1.Deployment, t appsv1.DeploymentConditionType) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// rolledOut is `kubectl rollout status`'s test.
func rolledOut(d *appsv1.Deployment, want int32) bool {
	st := d.Status
	return d.Generation <= st.ObservedGeneration && st.UpdatedReplicas >= want &&
		st.Replicas <= st.UpdatedReplicas && st.AvailableReplicas >= st.UpdatedReplicas
}

func (e *Evaluator) endpoints(q *scenarios.EndpointsCondition) (bool, string) {
	ready := map[string]bool{}
	for _, obj := range e.slices.List() {
		s := obj.(*discoveryv1.EndpointSlice)
		if s.Namespace != q.Namespace || s.Labels[discoveryv1.LabelServiceName] != q.Service {
			continue
		}
		for _, ep := range s.Endpoints {
			if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
				for _, a := range ep.Addresses {
					ready[a] = true
				}
			}
		}
	}
	return countHolds(len(ready), q.Ready), fmt.Sprintf("service %s/%s has %d ready endpoints (want %s)", q.Namespace, q.Service, len(ready), countText(q.Ready))
}

func (e *Evaluator) nodes_(q *scenarios.NodesCondition) (bool, string) {
	n := 0
	for _, obj := range e.nodes.List() {
		node := obj.(*corev1.Node)
		if q.NodeGroup != "" && node.Labels[eks.NodeGroupLabel] != q.NodeGroup {
			continue
		}
		if q.Schedulable != nil && node.Spec.Unschedulable == *q.Schedulable {
			continue
		}
		if q.Ready != nil && nodeCondition(node, corev1.NodeReady) != (*q.Ready) {
			continue
		}
		if q.ConditionType != "" && !slices.ContainsFunc(node.Status.Conditions, func(c corev1.NodeCondition) bool {
			return string(c.Type) == q.ConditionType && string(c.Status) == q.ConditionStatus
		}) {
			continue
		}
		n++
	}
	return countHolds(n, q.Count), fmt.Sprintf("%d nodes match (want %s)", n, countText(q.Count))
}

func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func (e *Evaluator) nodeGroup(ctx context.Context, q *scenarios.NodeGroupCondition, r *Round) (bool, string) {
	g, ok := r.groups[q.Name]
	if !ok {
		g.size, g.exists, g.err = e.cloud.NodegroupSize(ctx, q.Name)
		r.groups[q.Name] = g
	}
	if g.err != nil {
		return false, "node group " + q.Name + ": " + g.err.Error()
	}
	if q.Exists != nil && g.exists != *q.Exists {
		return false, fmt.Sprintf("node group %s exists: %v", q.Name, g.exists)
	}
	if q.Size != nil && (!g.exists || !countHolds(g.size, *q.Size)) {
		return false, fmt.Sprintf("node group %s size %d", q.Name, g.size)
	}
	return true, fmt.Sprintf("node group %s exists: %v, size %d", q.Name, g.exists, g.size)
}

func (e *Evaluator) event(q *scenarios.EventCondition) (bool, string) {
	n := 0
	for _, obj := range e.events.List() {
		ev := obj.(*corev1.Event)
		if ev.Namespace != q.Namespace || (q.InvolvedKind != "" && ev.InvolvedObject.Kind != q.InvolvedKind) ||
			(q.Type != "" && ev.Type != q.Type) || (q.Reason != "" && ev.Reason != q.Reason) {
			continue
		}
		if q.InvolvedName != "" && !e.re(q.InvolvedName).MatchString(ev.InvolvedObject.Name) {
			continue
		}
		if q.Message != "" && !e.re(q.Message).MatchString(ev.Message) {
			continue
		}
		n += int(max(ev.Count, 1))
	}
	return countHolds(n, q.Count), fmt.Sprintf("%d matching events in %s (want %s)", n, q.Namespace, countText(q.Count))
}

func (e *Evaluator) iam(ctx context.Context, q *scenarios.IAMCondition, r *Round) (bool, string) {
	rs, ok := r.roles[q.Role]
	if !ok {
		rs.attached, rs.docs, rs.err = e.cloud.RolePolicies(ctx, q.Role)
		r.roles[q.Role] = rs
	}
	if rs.err != nil {
		return false, "role " + q.Role + ": " + rs.err.Error()
	}
	obs := fmt.Sprintf("role %s has %s", q.Role, strings.Join(shortARNs(rs.attached), ", "))
	if q.HasPolicy != "" && !slices.Contains(rs.attached, q.HasPolicy) {
		return false, obs
	}
	if len(q.HasAnyPolicy) > 0 && !slices.ContainsFunc(q.HasAnyPolicy, func(p string) bool { return slices.Contains(rs.attached, p) }) {
		return false, obs
	}
	if q.Allows != nil && !iampolicy.Allows(rs.docs, q.Allows.Resource, q.Allows.Actions...) {
		return false, obs + "; it does not allow " + strings.Join(q.Allows.Actions, ", ")
	}
	if q.GrantsWildcard != "" && !iampolicy.GrantsLiterally(rs.docs, q.GrantsWildcard) {
		return false, obs + "; no statement grants " + q.GrantsWildcard
	}
	return true, obs
}

func shortARNs(arns []string) []string {
	out := make([]string, len(arns))
	for i, a := range arns {
		out[i] = a[strings.LastIndex(a, "/")+1:]
	}
	if len(out) == 0 {
		return []string{"no managed policies"}
	}
	return out
}

func (e *Evaluator) finding(q *scenarios.FindingCondition) (bool, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f := e.claimLocked(q); f != nil {
		return true, "finding " + f.Cause + " on " + f.Resource
	}
	return false, fmt.Sprintf("no right claim of %s among %d", q.Cause, len(e.findings))
}

// claimLocked returns the first right claim (Judge) that matches q, or
// nil. Wrong claims never satisfy a finding condition.
func (e *Evaluator) claimLocked(q *scenarios.FindingCondition) *Finding {
	for i, f := range e.findings {
		if f.Cause != q.Cause || (q.Source != scenarios.SourceAny && f.Source != q.Source) {
			continue
		}
		if q.Resource != "" && !e.reLocked(q.Resource).MatchString(f.Resource) {
			continue
		}
		if Judge(e.key, f) == VerdictRight {
			return &e.findings[i]
		}
	}
	return nil
}

// Claim returns the first right claim that satisfies one of the finding
// conditions of a diagnosis condition (a finding, or any of findings),
// for the journal to record what achieved it; nil otherwise.
func (e *Evaluator) Claim(c *scenarios.Condition) *Finding {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range diagnosisFindings(c) {
		if f := e.claimLocked(q); f != nil {
			cp := *f
			return &cp
		}
	}
	return nil
}

// reLocked is re for callers that hold e.mu.
func (e *Evaluator) reLocked(expr string) *regexp.Regexp {
	if r, ok := e.regexps[expr]; ok {
		return r
	}
	x, err := e.s.ExpandRegexp(expr)
	if err != nil {
		x = regexp.QuoteMeta(expr) // validated at load; cannot happen
	}
	r := regexp.MustCompile(x)
	e.regexps[expr] = r
	return r
}

func (e *Evaluator) object(ctx context.Context, q *scenarios.ObjectCondition) (bool, string) {
	gv, err := schema.ParseGroupVersion(q.APIVersion)
	if err != nil {
		return false, err.Error()
	}
	m, err := e.mapper.RESTMapping(gv.WithKind(q.Kind).GroupKind(), gv.Version)
	if err != nil {
		return false, fmt.Sprintf("%s %s: %v", q.APIVersion, q.Kind, err)
	}
	var ri dynamic.ResourceInterface = e.dyn.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = e.dyn.Resource(m.Resource).Namespace(q.Namespace)
	}
	obj, err := ri.Get(ctx, q.Name, metav1.GetOptions{})
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return false, err.Error()
	}
	id := fmt.Sprintf("%s %s", q.Kind, q.Name)
	if q.Exists != nil && !*q.Exists {
		return !exists, fmt.Sprintf("%s exists: %v", id, exists)
	}
	if !exists {
		return false, id + " does not exist"
	}
	if q.JSONPath == "" {
		return true, id + " exists"
	}
	jp := jsonpath.New("check").AllowMissingKeys(true)
	if err := jp.Parse(q.JSONPath); err != nil {
		return false, err.Error()
	}
	var buf bytes.Buffer
	if err := jp.Execute(&buf, obj.Object); err != nil {
		return false, err.Error()
	}
	got := buf.String()
	obs := fmt.Sprintf("%s %s = %q", id, q.JSONPath, got)
	switch {
	case q.Equals != nil:
		return got == *q.Equals, obs
	case q.Matches != "":
		return e.re(q.Matches).MatchString(got), obs
	}
	return true, obs
}

// exec runs the command at most once a second per condition.
func (e *Evaluator) exec(ctx context.Context, q *scenarios.ExecCondition) (bool, string) {
	key := strings.Join(q.Command, "\x00")
	e.mu.Lock()
	last, ok := e.execCache[key]
	e.mu.Unlock()
	if ok && time.Since(last.at) < time.Second {
		return last.ok, "cached"
	}
	argv := make([]string, len(q.Command))
	for i, a := range q.Command {
		argv[i], _ = e.s.Expand(a)
	}
	cctx, cancel := context.WithTimeout(ctx, q.Timeout.Duration)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	res := execResult{ok: code == q.ExitCode, at: time.Now()}
	e.mu.Lock()
	e.execCache[key] = res
	e.mu.Unlock()
	return res.ok, fmt.Sprintf("%s exited %d", argv[0], code)
}
