package scenarios

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	corev1 "k8s.io/api/core/v1"
)

// nodeCountCondition is a throw-away condition kind, defined here and
// nowhere else: a new kind needs one file and no edit of any switch.
type nodeCountCondition struct {
	// AtLeast nodes must exist.
	AtLeast int `yaml:"atLeast"`
}

func (q *nodeCountCondition) Default() {
	if q.AtLeast == 0 {
		q.AtLeast = 1
	}
}

func (q *nodeCountCondition) Check(c *Checker, p string) {
	if q.AtLeast > 100 {
		c.Errorf(p+".atLeast", "at most 100, got %d", q.AtLeast)
	}
}

func (q *nodeCountCondition) Eval(_ context.Context, w World) (bool, string) {
	n := len(w.Nodes())
	return n >= q.AtLeast, fmt.Sprintf("%d nodes", n)
}

// nodesWorld is a World with only nodes.
type nodesWorld struct {
	World
	nodes []*corev1.Node
}

func (w nodesWorld) Nodes() []*corev1.Node { return w.nodes }

func TestThrowAwayConditionKind(t *testing.T) {
	conditionKinds.registerForTest(t, "nodeCount", func() ConditionKind { return &nodeCountCondition{} })
	tests := []struct {
		name  string
		when  string
		errs  []string
		nodes int
		want  bool
	}{
		{name: "defaulted, holds", when: "{nodeCount: {}}", nodes: 1, want: true},
		{name: "inside a combinator, fails", when: "{not: {nodeCount: {atLeast: 2}}}", nodes: 2, want: false},
		{name: "checked at its position", when: "{nodeCount: {atLeast: 500}}", errs: []string{"test.yaml:38:37: spec.symptoms.checks[0].when.nodeCount.atLeast: at most 100, got 500"}},
		{name: "misspelt", when: "{nodeCont: {}}", errs: []string{`spec.symptoms.checks[0].when.nodeCont: unknown field "nodeCont" (did you mean "nodeCount"?)`}},
		{name: "beside another kind", when: "{nodeCount: {}, nodes: {}}", errs: []string{"spec.symptoms.checks[0].when: several conditions (nodeCount, nodes) in one: combine them with all or any"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(string(withSteps(t, "")), "when:\n          deployment: {namespace: prod, name: web, available: false}", "when: "+tt.when, 1)
			s, err := Parse([]byte(src), "test.yaml", fstest.MapFS{}, ".")
			if len(tt.errs) > 0 {
				if err == nil {
					t.Fatal("loaded; want errors")
				}
				got := err.Error()
				for _, want := range tt.errs {
					if !strings.Contains(got, want) {
						t.Errorf("errors:\n%s\nlack %q", got, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w := nodesWorld{nodes: make([]*corev1.Node, tt.nodes)}
			c := &s.Spec.Symptoms.Checks[0].When
			if c.Not != nil {
				ok, obs := c.Not.Leaf.Eval(context.Background(), w)
				if ok == tt.want {
					t.Errorf("inner condition = %v (%s), want %v", ok, obs, !tt.want)
				}
				return
			}
			if ok, obs := c.Leaf.Eval(context.Background(), w); ok != tt.want {
				t.Errorf("Eval = %v (%s), want %v", ok, obs, tt.want)
			}
		})
	}
}
