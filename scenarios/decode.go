package scenarios

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder is a strict YAML-node-to-struct decoder. Unlike yaml.v3's own
// decoder it keeps going after a problem, so that every problem in a file
// is reported at once, and it records the position of every field path so
// that later validation can point at the right line.
type decoder struct {
	errs *errorList
	// budget bounds the number of nodes visited, so that alias bombs
	// ("billion laughs") cannot make decoding explode.
	budget int
}

// nodeDecoder is implemented by types that decode themselves from a node.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

var (
	// durationType is time.Duration, written as a Go duration string in
	// types that are not scenario wire types (the behaviour model's).
	durationType        = reflect.TypeFor[time.Duration]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	nodeDecoderType     = reflect.TypeFor[nodeDecoder]()
)

const maxDecodeNodes = 200000

func newDecoder(errs *errorList) *decoder {
	return &decoder{errs: errs, budget: maxDecodeNodes}
}

func (d *decoder) errorAt(n *yaml.Node, path, format string, args ...any) {
	d.errs.addAt(d.errs.file, Pos{Line: n.Line, Col: n.Column}, path, format, args...)
}

// deref follows aliases and charges the node budget. It returns nil when
// the budget is exhausted (the error is recorded once).
func (d *decoder) deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 100 {
			return nil
		}
		n = n.Alias
	}
	d.budget--
	if d.budget == 0 {
		d.errorAt(n, "", "document too large or too many alias expansions")
	}
	if d.budget <= 0 {
		return nil
	}
	return n
}

// decode decodes n into v (addressable), recording problems under path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = d.deref(n)
	if n == nil {
		return
	}
	if path != "" {
		d.errs.pos[path] = Pos{Line: n.Line, Col: n.Column}
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leave the zero value
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshalerType) {
		if n.Kind != yaml.ScalarNode {
			d.errorAt(n, path, "expected a string, got %s", kindName(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.errorAt(n, path, "%v", err)
		}
		return
	}
	if v.Type() == durationType {
		var dur Duration
		if n.Kind != yaml.ScalarNode {
			d.errorAt(n, path, "expected a duration, got %s", kindName(n))
		} else if err := dur.UnmarshalText([]byte(n.Value)); err != nil {
			d.errorAt(n, path, "%v", err)
		} else {
			v.SetInt(int64(dur.Duration))
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorAt(n, path, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorAt(n, path, "expected a string, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := scalarBool(n)
		if !ok {
			d.errorAt(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := scalarInt(n)
		if err != nil || v.OverflowInt(i) {
			d.errorAt(n, path, "expected an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		f, ok := scalarFloat(n)
		if !ok {
			d.errorAt(n, path, "expected a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		d.errorAt(n, path, "internal: cannot decode into %s", v.Type())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fields := structFields(v.Type())
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	d.mapping(n, path, func(k, val *yaml.Node, fp string) {
		idx, ok := fields[k.Value]
		if !ok {
			d.errorAt(k, fp, "unknown field %q%s", k.Value, didYouMean(k.Value, names))
			return
		}
		d.decode(val, v.Field(idx), fp)
	})
}

// mapping calls field for each key of mapping n with its value and field
// path, recording what is not a mapping, a key that is not a scalar, and
// a duplicate key.
func (d *decoder) mapping(n *yaml.Node, path string, field func(k, val *yaml.Node, fp string)) {
	if n.Kind != yaml.MappingNode {
		d.errorAt(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := d.deref(n.Content[i]), n.Content[i+1]
		if k == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k, path, "expected a field name, got %s", kindName(k))
			continue
		}
		fp := joinPath(path, k.Value)
		if seen[k.Value] {
			d.errorAt(k, fp, "duplicate field %q", k.Value)
			continue
		}
		seen[k.Value] = true
		field(k, val, fp)
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorAt(n, path, "expected a mapping, got %s", kindName(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.errorAt(n, path, "internal: map key must be a string")
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.deref(n.Content[i])
		if k == nil {
			return
		}
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k, path, "expected a string key, got %s", kindName(k))
			continue
		}
		kp := joinPath(path, k.Value)
		key := reflect.ValueOf(k.Value).Convert(v.Type().Key())
		if m.MapIndex(key).IsValid() {
			d.errorAt(k, kp, "duplicate key %q", k.Value)
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(n.Content[i+1], elem, kp)
		m.SetMapIndex(key, elem)
	}
	v.Set(m)
}

// structFields maps yaml field names to field indexes.
func structFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = i
	}
	return out
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// joinPath appends a field or map key to a path.
func joinPath(path, key string) string {
	if !identRE.MatchString(key) {
		key = strconv.Quote(key)
		return path + "[" + key + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return describe(n)
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a document"
	}
}

// describe names a scalar with its YAML type, for error messages.
func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return kindName(n)
	}
	switch n.Tag {
	case "!!int":
		return "integer " + n.Value
	case "!!float":
		return "number " + n.Value
	case "!!bool":
		return "boolean " + n.Value
	case "!!null":
		return "null"
	default:
		return fmt.Sprintf("string %q", n.Value)
	}
}

func scalarBool(n *yaml.Node) (bool, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, false
	}
	return b, true
}

func scalarInt(n *yaml.Node) (int64, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, fmt.Errorf("not an integer")
	}
	var i int64
	err := n.Decode(&i)
	return i, err
}

func scalarFloat(n *yaml.Node) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") {
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// reflectValue returns the addressable value p points to.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
