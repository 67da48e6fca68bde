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

// choose adds p's i-th choice to c, by reference.
func (p *Parameter) choose(i int, c *Choices) {
	if len(p.Values) > 0 {
		c.Values[p.Name] = p.Values[i]
		return
	}
	for f, v := range p.Choices[i] {
		c.Values[p.Name+"."+f] = v.Text
		if v.node != nil {
			if c.nodes == nil {
				c.nodes = map[string]*yaml.Node{}
			}
			c.nodes[p.Name+"."+f] = v.node
		}
	}
}

// decodeNode keeps a choice field's value: a scalar's text, or a list or
// mapping with its flow YAML as text.
func (c *ChoiceValue) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.ScalarNode {
		c.Text = n.Value
		return
	}
	flow := cloneNode(n)
	setFlow(flow)
	b, err := yaml.Marshal(flow)
	if err != nil {
		d.errorAt(n, path, "%v", err)
		return
	}
	c.Text, c.node = strings.TrimSpace(string(b)), n
}

// setFlow makes n and everything below it flow style: [a, {b: c}].
func setFlow(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		n.Style = yaml.FlowStyle
	}
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		setFlow(c)
	}
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
// Seed 0 is the canonical variant, the first choice of every parameter:
// the incident as the scenario's author first wrote it down.
func ChooseVariant(ps []Parameter, seed uint64) Choices {
	idx := make([]int, len(ps))
	for i := range ps {
		if n := ps[i].len(); n > 0 && seed != 0 {
			idx[i] = pick(seed, ps[i].Name, n)
		}
	}
	c := variantOf(ps, idx)
	c.Seed = seed
	return c
}

// variantOf is the variant of ps whose choice for ps[i] is idx[i].
func variantOf(ps []Parameter, idx []int) Choices {
	c := Choices{Values: map[string]string{}}
	for i := range ps {
		if ps[i].len() > 0 {
			ps[i].choose(idx[i], &c)
		}
	}
	return c
}

// DiffersEverywhere reports whether variant o chose differently from s
// for every parameter that has more than one choice: a variant with no
// choice in common, whose names, faults and answers all differ.
func (s *Scenario) DiffersEverywhere(o *Scenario) bool {
	for i := range s.Spec.Parameters {
		p := &s.Spec.Parameters[i]
		if p.len() < 2 {
			continue
		}
		same := true
		for k, v := range s.Variant.Values {
			if (k == p.Name || strings.HasPrefix(k, p.Name+".")) && o.Variant.Values[k] != v {
				same = false
				break
			}
		}
		if same {
			return false
		}
	}
	return true
}

// VariantCount is how many variants the scenario has: the product of
// its parameters' numbers of choices; 1 without parameters.
func (s *Scenario) VariantCount() int {
	n := 1
	for i := range s.Spec.Parameters {
		n *= max(s.Spec.Parameters[i].len(), 1)
	}
	return n
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
		out = append(out, variantOf(ps, idx))
		for i := len(ps) - 1; i >= 0; i-- { // the next combination, like an odometer
			if idx[i]++; idx[i] < ps[i].len() {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// String lists a variant's choices, sorted: "namespace=payments, ...",
// each value Short.
func (v Choices) String() string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(v.Values)) {
		parts = append(parts, k+"="+Short(v.Values[k]))
	}
	return strings.Join(parts, ", ")
}

// shortLimit is how many characters of a choice's value Short keeps.
const shortLimit = 48

// Short is a choice's value for a line of text: on one line, and cut
// with "…" past shortLimit characters (a policy, a paragraph).
func Short(v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if r := []rune(v); len(r) > shortLimit {
		return string(r[:shortLimit-1]) + "…"
	}
	return v
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
// variant's values: a scalar that is one reference to a list or mapping
// becomes (a copy of) it. It records each reference it meets in used,
// and each it cannot resolve as a problem at its position.
func substitute(n, skip *yaml.Node, c Choices, used map[string]bool, errs *errorList) {
	if n == nil || n == skip {
		return
	}
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${param.") {
		at := Pos{Line: n.Line, Col: n.Column}
		if m := paramRefRE.FindStringSubmatch(n.Value); m != nil && m[0] == n.Value && c.nodes[refKey(m)] != nil {
			key := refKey(m)
			used[m[1]] = true
			*n = *cloneNode(c.nodes[key])
			n.Line, n.Column = at.Line, at.Col
			inner := c // a choice's list may use other parameters, but not itself
			inner.nodes = maps.Clone(c.nodes)
			delete(inner.nodes, key)
			substitute(n, skip, inner, used, errs)
			return
		}
		n.Value = expandRefs(n.Value, at, c, used, errs, 0)
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			n.Tag = ""
			n.Tag = n.ShortTag() // a plain scalar's type follows its new text: size: ${param.size} is a number
		}
	}
	for _, k := range n.Content {
		substitute(k, skip, c, used, errs)
	}
}

// maxRefDepth bounds how deep choices' values may refer to other
// parameters (a cycle stops there).
const maxRefDepth = 8

// expandRefs replaces the parameter references in text, found at at,
// with the variant's values, and the references in those values in turn
// (a choice's text may name another parameter's choice).
func expandRefs(text string, at Pos, c Choices, used map[string]bool, errs *errorList, depth int) string {
	return paramRefRE.ReplaceAllStringFunc(text, func(ref string) string {
		m := paramRefRE.FindStringSubmatch(ref)
		key := refKey(m)
		used[m[1]] = true
		v, ok := c.Values[key]
		switch {
		case !ok:
			errs.addAt(errs.file, at, "", "unknown parameter reference %s%s", ref,
				didYouMean(key, slices.Sorted(maps.Keys(c.Values))))
			return ref
		case c.nodes[key] != nil:
			errs.addAt(errs.file, at, "", "%s is a list or mapping: it can only be a whole value, not part of text", ref)
			return ref
		case !strings.Contains(v, "${param.") || v == ref: // text, or the template's own reference
			return v
		case depth >= maxRefDepth:
			errs.addAt(errs.file, at, "", "%s: parameter values refer to each other more than %d deep (a cycle?)", ref, maxRefDepth)
			return ref
		}
		return expandRefs(v, at, c, used, errs, depth+1)
	})
}

// refKey is the variant's key of a paramRefRE match: NAME or NAME.FIELD.
func refKey(m []string) string {
	if m[2] != "" {
		return m[1] + "." + m[2]
	}
	return m[1]
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

// Template is the scenario as written, before a seed chooses: every
// parameter reference left as it is (${param.app.name}), so that it shows
// what varies. It is for reading, not playing: a field whose value is a
// reference to a number, list or mapping is left empty, and the
// template's own validation problems are not reported. The scenario
// itself when it has no parameters.
func (s *Scenario) Template() *Scenario {
	if len(s.Spec.Parameters) == 0 || s.origin == nil {
		return s
	}
	errs := newErrorList(s.origin.label) // the references' own problems: none matter here
	t := decodeScenario(s.origin.data, errs, templateChoices)
	if t == nil {
		return s
	}
	applyDefaults(t)
	v := &Checker{errs: errs, s: t, fsys: s.origin.fsys, dir: s.origin.dir}
	v.validate() // reads the workloads' manifests, as for a variant
	t.Source, t.origin = s.Source, s.origin
	return t
}

// templateChoices chooses for every parameter its own reference.
func templateChoices(ps []Parameter) Choices {
	c := Choices{Values: map[string]string{}, nodes: map[string]*yaml.Node{}}
	for _, p := range ps {
		if len(p.Values) > 0 {
			c.Values[p.Name] = "${param." + p.Name + "}"
		}
		if len(p.Choices) > 0 {
			for f := range p.Choices[0] {
				key := p.Name + "." + f
				ref := "${param." + key + "}"
				c.Values[key] = ref
				if stringList(p.Choices, f) {
					c.nodes[key] = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: ref}}}
				}
			}
		}
	}
	return c
}

// stringList says field f of choices is a list of strings in every choice
// that has it (a role's managed policies): the template shows it as a
// list of one item, its reference, where a list of strings belongs.
func stringList(choices []map[string]ChoiceValue, f string) bool {
	seen := false
	for _, ch := range choices {
		v, ok := ch[f]
		if !ok {
			continue
		}
		if v.node == nil || v.node.Kind != yaml.SequenceNode {
			return false
		}
		for _, item := range v.node.Content {
			if item.Kind != yaml.ScalarNode {
				return false
			}
		}
		seen = true
	}
	return seen
}

// WithSeed is the variant of the scenario that seed chooses; the same
// scenario when it has no parameters.
func (s *Scenario) WithSeed(seed uint64) (*Scenario, error) {
	if len(s.Spec.Parameters) == 0 || s.origin == nil || s.Variant.Seed == seed {
		return s, nil
	}
	o := s.origin
	v, _, err := parseWith(o.data, o.label, o.fsys, o.dir, func(ps []Parameter) Choices { return ChooseVariant(ps, seed) })
	if err != nil {
		return nil, err
	}
	v.Source, v.origin = s.Source, s.origin
	return v, nil
}
