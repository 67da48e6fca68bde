// Package live evaluates a scenario's typed conditions against the running
// environment, through informers on the cluster and the AWS plane, and
// records what it sees in the journal (verify): objectives achieved,
// penalties incurred, and which claims are right.
package live

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/gameday-sre/gameday/internal/domain/iampolicy"
	"github.com/gameday-sre/gameday/scenarios"
	"github.com/gameday-sre/gameday/scenarios/behaviour"
	"github.com/gameday-sre/gameday/verify"
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

// Evaluator checks conditions against the cluster (through informers),
// the AWS account and the run's findings.
type Evaluator struct {
	s       *scenarios.Scenario
	cs      kubernetes.Interface
	dyn     dynamic.Interface
	mapper  meta.RESTMapper
	cloud   Cloud
	factory informers.SharedInformerFactory

	pods     cache.Indexer
	deps     cache.Indexer
	slices   cache.Indexer
	nodes    cache.Indexer
	events   cache.Indexer
	changed  chan struct{}
	mu       sync.Mutex
	restarts map[string]time.Time // ns/name → when a new restartedAt was seen
	findings []verify.Finding
	key      []verify.SpecClaim // the answer key claims are judged by
	achieved func(id string) (time.Time, bool)
	handover time.Time
	regexps  map[string]*regexp.Regexp
	// behaviours are the scenario's images' behaviours, by reference.
	behaviours map[string]behaviour.App
	// verifyDone, verified and verifyWhy are the verification's outcome.
	verifyDone, verified bool
	verifyWhy            string
	execCache            map[string]execResult
}

type execResult struct {
	code int
	at   time.Time
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
		key: s.AnswerKey(), behaviours: s.Behaviours(),
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
	// ConfigMaps and Secrets are read live by object conditions; their
	// informers only wake the evaluator when one changes, so that a fix
	// is seen at once.
	register(f.Core().V1().ConfigMaps().Informer())
	register(f.Core().V1().Secrets().Informer())
	depInf := f.Apps().V1().Deployments().Informer()
	_, _ = depInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { e.signal() },
		UpdateFunc: func(oldObj, newObj any) {
			o, n := oldObj.(*appsv1.Deployment), newObj.(*appsv1.Deployment)
			if n.Spec.Template.Annotations[scenarios.RestartedAtAnnotation] != o.Spec.Template.Annotations[scenarios.RestartedAtAnnotation] {
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

// DeploymentCaughtUp reports whether the evaluator's Deployment cache
// holds namespace/name at resourceVersion rv or later: a write that a
// step made is then what conditions see (a verification's settle must
// not read the Deployment from before its own restart). etcd's resource
// versions are numbers; others are compared for equality.
func (e *Evaluator) DeploymentCaughtUp(namespace, name, rv string) bool {
	obj, ok, err := e.deps.GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return false
	}
	have := obj.(*appsv1.Deployment).ResourceVersion
	h, herr := strconv.ParseUint(have, 10, 64)
	w, werr := strconv.ParseUint(rv, 10, 64)
	if herr != nil || werr != nil {
		return have == rv
	}
	return h >= w
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

// SetVerification records the verification's outcome (spec.verification)
// for verification conditions; why says what was seen.
func (e *Evaluator) SetVerification(passed bool, why string) {
	e.mu.Lock()
	e.verifyDone, e.verified, e.verifyWhy = true, passed, ": "+why
	e.mu.Unlock()
	e.signal()
}

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
func (e *Evaluator) AddFinding(f verify.Finding) {
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
// The combinators are evaluated here; each leaf kind evaluates itself
// against the world of this round.
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
	case c.Leaf != nil:
		return c.Leaf.Eval(ctx, world{e: e, r: r})
	}
	return false, "empty condition"
}

func (e *Evaluator) re(expr string) *regexp.Regexp {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reLocked(expr)
}

// claimLocked returns the first right claim (verify.Judge) that matches q, or
// nil. Wrong claims never satisfy a finding condition.
func (e *Evaluator) claimLocked(q *scenarios.FindingCondition) *verify.Finding {
	for i, f := range e.findings {
		if f.Cause != q.Cause || (q.Source != scenarios.SourceAny && f.Source != q.Source) {
			continue
		}
		if q.Resource != "" && !e.reLocked(q.Resource).MatchString(f.Resource) {
			continue
		}
		if verify.Judge(e.key, f) == verify.VerdictRight {
			return &e.findings[i]
		}
	}
	return nil
}

// Claim returns the first right claim that satisfies one of the finding
// conditions of a diagnosis condition (a finding, or any of findings),
// for the journal to record what achieved it; nil otherwise.
func (e *Evaluator) Claim(c *scenarios.Condition) *verify.Finding {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range c.DiagnosisFindings() {
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
