package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// paramScenario is the minimal scenario with its namespace, its
// deployment's name and its image chosen by parameters (extra is more
// YAML under spec.parameters).
func paramScenario(extra string) string {
	return `apiVersion: gameday.dev/v1alpha1
kind: Scenario
metadata:
  name: minimal
  title: Smallest useful scenario
spec:
  parameters:
    - name: ns
      values: [prod, payments, orders]
    - name: app
      choices:
        - {name: web, image: "registry.k8s.io/pause:3.10"}
        - {name: api, image: "registry.k8s.io/pause:3.9"}
` + extra + `  briefing: The ${param.app.name} deployment in ${param.ns} is down.
  environment:
    cluster: {name: test}
    iam:
      roles:
        - name: node
          managedPolicies: [AmazonEKSWorkerNodePolicy]
    nodeGroups:
      - name: ng-a
        role: node
        size: 1
    namespaces: ["${param.ns}"]
  workloads:
    - name: web
      inline: |
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: "${param.app.name}", namespace: "${param.ns}"}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: web
                  image: "${param.app.image}"
  symptoms:
    checks:
      - name: down
        when:
          deployment: {namespace: "${param.ns}", name: "${param.app.name}", available: false}
  objectives:
    - id: recover
      title: Back
      category: recover
      points: 10
      when:
        deployment: {namespace: "${param.ns}", name: "${param.app.name}", available: true}
`
}

func TestParametersExpandEverywhere(t *testing.T) {
	seen := map[string]bool{}
	for seed := range uint64(40) {
		s, err := ParseVariant([]byte(paramScenario("")), "p.yaml", nil, "", seed)
		if err != nil {
			t.Fatal(err)
		}
		ns, name := s.Variant.Values["ns"], s.Variant.Values["app.name"]
		want := fmt.Sprintf("The %s deployment in %s is down.", name, ns)
		if s.Spec.Briefing != want || s.Spec.Environment.Namespaces[0] != ns {
			t.Fatalf("seed %d (%s): briefing %q, namespaces %v; want %q in %s", seed, s.Variant, s.Spec.Briefing, s.Spec.Environment.Namespaces, want, ns)
		}
		o := s.Spec.Workloads[0].Objects[0]
		if o.Namespace != ns || o.Name != name {
			t.Fatalf("seed %d: the manifest is %s/%s, want %s/%s", seed, o.Namespace, o.Name, ns, name)
		}
		if img := s.Variant.Values["app.image"]; (name == "web") != (img == "registry.k8s.io/pause:3.10") {
			t.Fatalf("seed %d: a choice's fields were mixed: %s", seed, s.Variant)
		}
		seen[s.Variant.String()] = true
	}
	if len(seen) != 6 {
		t.Errorf("40 seeds made %d of the 6 variants: %v", len(seen), seen)
	}
}

func TestSameSeedSameVariant(t *testing.T) {
	for seed := range uint64(10) {
		a, err := ParseVariant([]byte(paramScenario("")), "p.yaml", nil, "", seed)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := ParseVariant([]byte(paramScenario("")), "p.yaml", nil, "", seed)
		if a.Variant.String() != b.Variant.String() || a.Spec.Briefing != b.Spec.Briefing || a.Variant.Seed != seed {
			t.Errorf("seed %d: %s then %s", seed, a.Variant, b.Variant)
		}
	}
	// The choice is a hash of the seed and the parameter's name, fixed
	// for ever: a journal's seed replays the same incident on any build.
	if got := pick(1, "ns", 3); got != pick(1, "ns", 3) || pick(7, "ns", 1) != 0 {
		t.Errorf("pick is not a function of its arguments")
	}
}

func TestSeedZeroIsCanonical(t *testing.T) {
	s, err := ParseVariant([]byte(paramScenario("")), "p.yaml", nil, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Variant.String(), "app.image=registry.k8s.io/pause:3.10, app.name=web, ns=prod"; got != want {
		t.Errorf("seed 0 is %s, want the first choice of every parameter: %s", got, want)
	}
}

// sizeParam makes the node group's size a parameter (of choices 1 and 1000:
// a group of 1000 nodes is over EKS's limit).
func sizeParam(s string) string {
	return strings.Replace(s, "        size: 1\n", "        size: ${param.size}\n", 1)
}

func TestParameterProblems(t *testing.T) {
	tests := []struct {
		name  string
		extra string // more spec.parameters
		edit  func(string) string
		want  string
	}{
		{"an unused parameter", "    - name: tier\n      values: [gold]\n", nil,
			"parameter tier is never used"},
		{"an unknown reference", "", func(s string) string { return strings.Replace(s, "${param.ns} is down", "${param.nss} is down", 1) },
			`unknown parameter reference ${param.nss} (did you mean "ns"?)`},
		{"an unknown field", "", func(s string) string {
			return strings.Replace(s, "${param.app.name} deployment", "${param.app.nam} deployment", 1)
		},
			"unknown parameter reference ${param.app.nam}"},
		{"choices with other fields", "    - name: bad\n      choices: [{a: x}, {b: y}]\n", func(s string) string { return s + "  debrief: ${param.bad.a}\n" },
			"every choice has the same fields"},
		{"values and choices", "    - name: both\n      values: [x]\n      choices: [{a: x}]\n", func(s string) string { return s + "  debrief: ${param.both}\n" },
			"values and choices are mutually exclusive"},
		{"a bad name", "    - name: 9lives\n      values: [x]\n", nil,
			"must be letters, digits and '_', starting with a letter"},
		{"the chosen variant is not valid", "    - name: size\n      values: ['1', '1000']\n", sizeParam, "size=1000) is not valid"},
		{"another variant is not valid", "    - name: size\n      values: ['1', '1000']\n", sizeParam, "size=1000 is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := paramScenario(tt.extra)
			if tt.edit != nil {
				doc = tt.edit(doc)
			}
			seed := uint64(1)
			switch tt.name {
			case "the chosen variant is not valid":
				seed = seedPicking(t, "size", 2, 1)
			case "another variant is not valid":
				seed = seedPicking(t, "size", 2, 0)
			}
			_, err := ParseVariant([]byte(doc), "p.yaml", nil, "", seed)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("error %T is not a *ValidationError", err)
			}
		})
	}
}

func TestProofVariants(t *testing.T) {
	small := []Parameter{{Name: "a", Values: []string{"1", "2"}}, {Name: "b", Choices: []map[string]ChoiceValue{{"x": {Text: "p"}}, {"x": {Text: "q"}}, {"x": {Text: "r"}}}}}
	vs := proofVariants(small)
	seen := map[string]bool{}
	for _, v := range vs {
		seen[v.String()] = true
	}
	if len(vs) != 6 || len(seen) != 6 {
		t.Errorf("%d variants (%d distinct) of 2×3, want all 6", len(vs), len(seen))
	}
	var large []Parameter
	for i := range 4 {
		large = append(large, Parameter{Name: fmt.Sprintf("p%d", i), Values: []string{"a", "b", "c", "d"}})
	}
	if n := len(proofVariants(large)); n != variantProofLimit {
		t.Errorf("%d variants of 256, want a sample of %d", n, variantProofLimit)
	}
}

// seedPicking is a seed that picks choice i of a parameter of n choices.
func seedPicking(t *testing.T, param string, n, i int) uint64 {
	t.Helper()
	for seed := uint64(1); seed < 1000; seed++ {
		if pick(seed, param, n) == i {
			return seed
		}
	}
	t.Fatalf("no seed picks choice %d of %s", i, param)
	return 0
}

func TestWithSeedAndTheJournal(t *testing.T) {
	s, err := ParseVariant([]byte(paramScenario("")), "p.yaml", nil, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	other := seedPicking(t, "ns", 3, 1) // a seed whose namespace differs from seed 0's (the first choice)
	v, err := s.WithSeed(other)
	if err != nil {
		t.Fatal(err)
	}
	if v.Variant.Seed != other || v.Spec.Environment.Namespaces[0] == s.Spec.Environment.Namespaces[0] {
		t.Errorf("seed %d: %s; seed 0: %s", other, v.Variant, s.Variant)
	}
	if again, _ := v.WithSeed(0); again.Spec.Briefing != s.Spec.Briefing {
		t.Errorf("back to seed 0: %q, want %q", again.Spec.Briefing, s.Spec.Briefing)
	}
	js := v.JournalSpec()
	if js.Seed == nil || *js.Seed != other || js.Variant != v.Variant.String() {
		t.Errorf("journal spec seed %v variant %q, want %d and %q", js.Seed, js.Variant, other, v.Variant)
	}
	plain, err := LoadFile("testdata/valid/minimal/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if same, _ := plain.WithSeed(5); same != plain || plain.JournalSpec().Seed != nil {
		t.Errorf("a scenario without parameters changed with a seed, or journals one")
	}
}

// TestParametersReachAliases: a reference under a YAML anchor is
// expanded where the anchor is used too.
func TestParametersReachAliases(t *testing.T) {
	doc := strings.Replace(paramScenario(""), "deployment: {namespace: \"${param.ns}\", name: \"${param.app.name}\", available: false}",
		"deployment: &app {namespace: \"${param.ns}\", name: \"${param.app.name}\", available: false}", 1)
	doc = strings.Replace(doc, "        deployment: {namespace: \"${param.ns}\", name: \"${param.app.name}\", available: true}",
		"        not: {deployment: *app}", 1)
	s, err := ParseVariant([]byte(doc), "p.yaml", nil, "", 2)
	if err != nil {
		t.Fatal(err)
	}
	not := s.Spec.Objectives[0].When.Not
	if not == nil || not.Leaf == nil {
		t.Fatalf("the objective is not the aliased condition negated: %+v", s.Spec.Objectives[0].When)
	}
	got, _ := json.Marshal(not.Leaf)
	if want := `"` + s.Variant.Values["ns"] + `"`; strings.Contains(string(got), "${param") || !strings.Contains(string(got), want) {
		t.Errorf("the alias reads %s, want the namespace %s", got, want)
	}
}

// inlineParam makes the node role's inline policies a choice: none, or
// one whose resource names the variant's namespace.
const inlineParam = `    - name: lack
      choices:
        - kind: managed
          inline: []
        - kind: inline
          inline:
            - name: ecr-pull
              document:
                Statement:
                  - {Effect: Allow, Action: [ecr:BatchGetImage], Resource: "arn:aws:ecr:*:*:repository/${param.ns}/*"}
`

func withInline(s string) string {
	return strings.Replace(s, "          managedPolicies: [AmazonEKSWorkerNodePolicy]\n",
		"          managedPolicies: [AmazonEKSWorkerNodePolicy]\n          inlinePolicies: ${param.lack.inline}\n", 1) +
		"  debrief: The role lacked it (${param.lack.kind}).\n"
}

func TestListChoices(t *testing.T) {
	doc := withInline(paramScenario(inlineParam))
	for _, want := range []string{"managed", "inline"} {
		t.Run(want, func(t *testing.T) {
			seed := uint64(0)
			if want == "inline" {
				seed = seedPicking(t, "lack", 2, 1)
			}
			s, err := ParseVariant([]byte(doc), "p.yaml", nil, "", seed)
			if err != nil {
				t.Fatal(err)
			}
			inline := s.Spec.Environment.IAM.Roles[0].InlinePolicies
			if s.Spec.Debrief != "The role lacked it ("+want+")." {
				t.Errorf("debrief %q", s.Spec.Debrief)
			}
			if want == "managed" {
				if len(inline) != 0 {
					t.Errorf("the managed variant has inline policies %+v", inline)
				}
				return
			}
			if len(inline) != 1 || inline[0].Name != "ecr-pull" {
				t.Fatalf("inline policies %+v, want ecr-pull", inline)
			}
			res := inline[0].Document.Statement[0].Resource
			if wantRes := "arn:aws:ecr:*:*:repository/" + s.Variant.Values["ns"] + "/*"; len(res) != 1 || res[0] != wantRes {
				t.Errorf("resource %v, want %s: the list's own references expand", res, wantRes)
			}
			if got := s.Variant.Values["lack.inline"]; !strings.HasPrefix(got, "[{name: ecr-pull") {
				t.Errorf("the variant shows the list as %q, want flow YAML", got)
			}
		})
	}
	bad := strings.Replace(doc, "(${param.lack.kind})", "(${param.lack.inline})", 1)
	if _, err := ParseVariant([]byte(bad), "p.yaml", nil, "", 0); err == nil || !strings.Contains(err.Error(), "${param.lack.inline} is a list or mapping: it can only be a whole value") {
		t.Errorf("a list inside text: error %v", err)
	}
}

func TestTemplate(t *testing.T) {
	s, err := ParseVariant([]byte(paramScenario("")), "p.yaml", nil, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	tpl := s.Template()
	if want := "The ${param.app.name} deployment in ${param.ns} is down."; tpl.Spec.Briefing != want {
		t.Errorf("template briefing %q, want %q", tpl.Spec.Briefing, want)
	}
	if o := tpl.Spec.Workloads[0].Objects; len(o) != 1 || o[0].Name != "${param.app.name}" {
		t.Errorf("template workload objects %+v, want the Deployment named by its reference", o)
	}
	if s.Spec.Briefing != "The web deployment in prod is down." {
		t.Errorf("Template changed the variant: %q", s.Spec.Briefing)
	}
	plain, err := LoadFile("testdata/valid/minimal/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if plain.Template() != plain {
		t.Error("a scenario without parameters has a template of its own")
	}
}
