package scenarios

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// visibleRefs are the parameter references (NAME or NAME.FIELD) in what a
// responder of a built-in scenario sees before the debrief: its title,
// briefing and environment, and its workloads' manifests.
func visibleRefs(t *testing.T, name string) map[string]bool {
	t.Helper()
	dir := path.Join("library", name)
	raw, err := fs.ReadFile(library, path.Join(dir, "scenario.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Metadata struct {
			Title string `yaml:"title"`
		} `yaml:"metadata"`
		Spec struct {
			Briefing    string    `yaml:"briefing"`
			Environment yaml.Node `yaml:"environment"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	env, err := yaml.Marshal(&doc.Spec.Environment)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{doc.Metadata.Title, doc.Spec.Briefing, string(env)}
	_ = fs.WalkDir(library, path.Join(dir, "manifests"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(library, p)
			for _, line := range strings.Split(string(b), "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "#") { // comments never reach the cluster
					texts = append(texts, line)
				}
			}
		}
		return nil
	})
	refs := map[string]bool{}
	for _, m := range paramRefRE.FindAllStringSubmatch(strings.Join(texts, "\n"), -1) {
		key := m[1]
		if m[2] != "" {
			key += "." + m[2]
		}
		refs[key] = true
	}
	return refs
}

// differences are the facts in which two chosen values of reference k
// differ: the value itself, or each leaf of a chosen list or mapping
// (a readiness probe of another kind and period is two facts).
func differences(k, a, b string) []string {
	if a == b {
		return nil
	}
	var x, y any
	if yaml.Unmarshal([]byte(a), &x) != nil || yaml.Unmarshal([]byte(b), &y) != nil {
		return []string{k}
	}
	la, lb := leaves(k, x), leaves(k, y)
	var out []string
	for _, l := range la {
		if !slices.Contains(lb, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		out = []string{k}
	}
	return out
}

// leaves flattens a decoded YAML value into path=value strings.
func leaves(p string, v any) []string {
	switch v := v.(type) {
	case map[string]any:
		var out []string
		for k, x := range v {
			out = append(out, leaves(p+"."+k, x)...)
		}
		return out
	case []any:
		var out []string
		for i, x := range v {
			out = append(out, leaves(fmt.Sprintf("%s[%d]", p, i), x)...)
		}
		return out
	default:
		return []string{fmt.Sprintf("%s=%v", p, v)}
	}
}

// TestLibraryVariantsDiffer checks every built-in scenario: it has
// parameters, and any two of the variants of seeds 0 to 8 that differ at
// all differ in at least three facts a responder sees (a name, a version,
// a setting, a policy...).
func TestLibraryVariantsDiffer(t *testing.T) {
	for _, name := range BuiltinNames() {
		t.Run(name, func(t *testing.T) {
			s, err := LoadBuiltin(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Spec.Parameters) == 0 {
				t.Fatalf("%s has no parameters: every library scenario varies", name)
			}
			visible := visibleRefs(t, name)
			var vs []*Scenario
			for seed := range uint64(9) {
				v, err := s.WithSeed(seed)
				if err != nil {
					t.Fatal(err)
				}
				vs = append(vs, v)
			}
			for i, a := range vs {
				for _, b := range vs[i+1:] {
					if a.Variant.String() == b.Variant.String() {
						continue
					}
					var facts []string
					for k := range visible {
						facts = append(facts, differences(k, a.Variant.Values[k], b.Variant.Values[k])...)
					}
					slices.Sort(facts)
					if len(facts) < 3 {
						t.Errorf("seeds %d and %d differ in %d facts a responder sees (%v), want at least 3", a.Variant.Seed, b.Variant.Seed, len(facts), facts)
					}
				}
			}
		})
	}
}

// TestSeedIncidentVariants checks what the seed incident promises: seeds
// 1 and 2 read different briefings, break different names and have
// different answers, and seed 1 replayed is the same incident.
func TestSeedIncidentVariants(t *testing.T) {
	s, err := LoadBuiltin("ecr-imagepullbackoff")
	if err != nil {
		t.Fatal(err)
	}
	variant := func(seed uint64) *Scenario {
		v, err := s.WithSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	answer := func(v *Scenario) string {
		var b strings.Builder
		for _, st := range v.Spec.Solution {
			b.WriteString(st.Run + "\n")
		}
		return b.String()
	}
	one, two, again := variant(1), variant(2), variant(1)
	if one.Spec.Briefing == two.Spec.Briefing {
		t.Error("seeds 1 and 2 read the same briefing")
	}
	if one.Variant.Values["rotation.newRole"] == two.Variant.Values["rotation.newRole"] && one.Variant.Values["app.name"] == two.Variant.Values["app.name"] {
		t.Error("seeds 1 and 2 break the same app on the same role")
	}
	if answer(one) == answer(two) {
		t.Error("seeds 1 and 2 have the same answer")
	}
	if again.Variant.String() != one.Variant.String() || again.Spec.Briefing != one.Spec.Briefing || answer(again) != answer(one) {
		t.Error("seed 1 twice made different incidents")
	}
}
