package scenarios

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// variantProofLimit is how many variants the loader validates: all of
// them up to this many, else this many chosen by seeds 1 to the limit.
const variantProofLimit = 64

// paramRefRE matches a parameter reference: ${param.NAME} or
// ${param.NAME.FIELD}.
var paramRefRE = regexp.MustCompile(`\$\{param\.([A-Za-z][A-Za-z0-9_]*)(?:\.([A-Za-z][A-Za-z0-9_]*))?\}`)

// paramNameRE is what a parameter's (or a field's) name may be.
var paramNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// len is how many choices p has.
func (p *Parameter) len() int { return max(len(p.Values), len(p.Choices)) }

// choice is p's i-th choice as reference → value.
func (p *Parameter) choice(i int) map[string]string {
	if len(p.Values) > 0 {
		return map[string]string{p.Name: p.Values[i]}
	}
	out := map[string]string{}
	for f, v := range p.Choices[i] {
		out[p.Name+"."+f] = v
	}
	return out
}

// pick is the index of the choice a seed makes for a parameter of n
// choices: a hash of the seed and the parameter's name, so that the same
// seed makes the same choice on every build and machine, and adding a
// parameter changes no other's choice.
func pick(seed uint64, name string, n int) int {
	sum := sha256.Sum256([]byte(strconv.FormatUint(seed, 10) + "/" + name))
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(n))
}

// ChooseVariant is the variant a seed makes of scenario parameters ps.
func ChooseVariant(ps []Parameter, seed uint64) Choices {
	idx := make([]int, len(ps))
	for i := range ps {
		if n := ps[i].len(); n > 0 {
			idx[i] = pick(seed, ps[i].Name, n)
		}
	}
	return Choices{Seed: seed, Values: valuesOf(ps, idx)}
}

// valuesOf is the variant of ps whose choice for ps[i] is idx[i].
func valuesOf(ps []Parameter, idx []int) map[string]string {
	out := map[string]string{}
	for i := range ps {
		if ps[i].len() > 0 {
			maps.Copy(out, ps[i].choice(idx[i]))
		}
	}
	return out
}

// proofVariants are the variants the loader validates: every
// combination of choices when there are at most variantProofLimit, else
// the variants of seeds 1 to variantProofLimit.
func proofVariants(ps []Parameter) []Choices {
	total := 1
	for i := range ps {
		total *= max(ps[i].len(), 1)
		if total > variantProofLimit {
			var out []Choices
			for seed := uint64(1); seed <= variantProofLimit; seed++ {
				out = append(out, ChooseVariant(ps, seed))
			}
			return out
		}
	}
	out := make([]Choices, 0, total)
	idx := make([]int, len(ps))
	for range total {
		out = append(out, Choices{Values: valuesOf(ps, idx)})
		for i := len(ps) - 1; i >= 0; i-- { // the next combination, like an odometer
			if idx[i]++; idx[i] < ps[i].len() {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// String lists a variant's choices, sorted: "namespace=payments, ...".
func (v Choices) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(v.Values)) {
		parts = append(parts, k+"="+v.Values[k])
	}
	return strings.Join(parts, ", ")
}

// decodeParameters decodes spec.parameters alone, before the rest of the
// document, whose text they expand. Its problems are reported when the
// whole document is decoded.
func decodeParameters(root *yaml.Node) []Parameter {
	n := parametersNode(root)
	if n == nil {
		return nil
	}
	var ps []Parameter
	newDecoder(newErrorList("")).decode(n, reflectValue(&ps), "spec.parameters")
	return ps
}

// markUsed records the parameters text refers to (a manifest file's,
// expanded with the scenario variables).
func (s *Scenario) markUsed(text string) {
	for _, m := range paramRefRE.FindAllStringSubmatch(text, -1) {
		if s.usedParams == nil {
			s.usedParams = map[string]bool{}
		}
		s.usedParams[m[1]] = true
	}
}

// parametersNode is the node of spec.parameters, or nil.
func parametersNode(root *yaml.Node) *yaml.Node {
	spec := mappingValue(root, "spec")
	if spec == nil {
		return nil
	}
	return mappingValue(spec, "parameters")
}

// mappingValue is the value node of key in mapping m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// substitute replaces the parameter references in every scalar below n
// (mapping keys too), but for skip (spec.parameters itself), with the
// variant's values. It records each reference it meets in used, and
// each it cannot resolve as a problem at its position.
func substitute(n, skip *yaml.Node, values map[string]string, used map[string]bool, errs *errorList) {
	if n == nil || n == skip {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${param.") {
		n.Value = paramRefRE.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := paramRefRE.FindStringSubmatch(ref)
			key := m[1]
			if m[2] != "" {
				key += "." + m[2]
			}
			used[m[1]] = true
			v, ok := values[key]
			if !ok {
				errs.addAt(errs.file, Pos{Line: n.Line, Col: n.Column}, "", "unknown parameter reference %s%s", ref,
					didYouMean(key, slices.Sorted(maps.Keys(values))))
				return ref
			}
			return v
		})
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = ""
			n.Tag = n.ShortTag() // a plain scalar's type follows its new text: size: ${param.size} is a number
		}
	}
	for _, c := range n.Content {
		substitute(c, skip, values, used, errs)
	}
}

// cloneNode is a deep copy of n, whose aliases point at the copies of
// their anchors (so that substituting in an anchor reaches its aliases).
func cloneNode(n *yaml.Node) *yaml.Node { return cloneInto(n, map[*yaml.Node]*yaml.Node{}) }

func cloneInto(n *yaml.Node, copies map[*yaml.Node]*yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if c, ok := copies[n]; ok {
		return c
	}
	c := *n
	copies[n] = &c
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = cloneInto(k, copies)
	}
	c.Alias = cloneInto(n.Alias, copies)
	return &c
}

// parameters checks the parameters' names and choices.
func (v *Checker) parameters() {
	seen := map[string]bool{}
	for i := range v.s.Spec.Parameters {
		pm := &v.s.Spec.Parameters[i]
		p := fmt.Sprintf("spec.parameters[%d]", i)
		if v.required(p+".name", pm.Name) && !paramNameRE.MatchString(pm.Name) {
			v.errs.add(p+".name", "must be letters, digits and '_', starting with a letter: %q", pm.Name)
		}
		v.unique(seen, p+".name", "parameter", pm.Name)
		switch {
		case len(pm.Values) > 0 && len(pm.Choices) > 0:
			v.errs.add(p, "values and choices are mutually exclusive")
		case len(pm.Values) == 0 && len(pm.Choices) == 0:
			v.errs.add(p, "one of values and choices is required")
		}
		var fields []string
		for j, c := range pm.Choices {
			got := slices.Sorted(maps.Keys(c))
			cp := fmt.Sprintf("%s.choices[%d]", p, j)
			for _, f := range got {
				if !paramNameRE.MatchString(f) {
					v.errs.add(cp, "field %q: must be letters, digits and '_', starting with a letter", f)
				}
			}
			switch {
			case len(got) == 0:
				v.errs.add(cp, "a choice needs at least one field")
			case j == 0:
				fields = got
			case !slices.Equal(got, fields):
				v.errs.add(cp, "fields %s, but the first choice has %s: every choice has the same fields",
					strings.Join(got, ", "), strings.Join(fields, ", "))
			}
		}
		if pm.Name != "" && !v.s.usedParams[pm.Name] {
			v.errs.add(p+".name", "parameter %s is never used: refer to it as ${param.%s} or remove it", pm.Name, pm.Name)
		}
	}
}

// origin is what a scenario with parameters was parsed from, so that
// WithSeed can parse another of its variants.
type origin struct {
	data       []byte
	label, dir string
	fsys       fs.FS
}

// WithSeed is the variant of the scenario that seed chooses; the same
// scenario when it has no parameters.
func (s *Scenario) WithSeed(seed uint64) (*Scenario, error) {
	if len(s.Spec.Parameters) == 0 || s.origin == nil || s.Variant.Seed == seed {
		return s, nil
	}
	o := s.origin
	v, err := parseWith(o.data, o.label, o.fsys, o.dir, func(ps []Parameter) Choices { return ChooseVariant(ps, seed) })
	if err != nil {
		return nil, err
	}
	v.Source, v.origin = s.Source, s.origin
	return v, nil
}
