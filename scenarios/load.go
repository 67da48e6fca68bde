package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// maxScenarioBytes bounds a scenario file (and each manifest file).
const maxScenarioBytes = 4 << 20

// LoadFile loads, defaults and validates the scenario file at p on disk.
// Manifest paths resolve relative to the file's directory.
func LoadFile(p string) (*Scenario, error) {
	dir, base := filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	return load(os.DirFS(dir), base, p, false)
}

// LoadFS loads a scenario from fsys, with name a slash-separated path in
// fsys; label is the file name used in error messages.
func LoadFS(fsys fs.FS, name, label string) (*Scenario, error) {
	return load(fsys, name, label, false)
}

func load(fsys fs.FS, name, label string, builtin bool) (*Scenario, error) {
	data, err := readLimited(fsys, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, errkind.Errorf(errkind.Invalid, "load %s: no such file", label)
		}
		return nil, errkind.E(errkind.Invalid, fmt.Errorf("load %s: %w", label, err))
	}
	s, err := Parse(data, label, fsys, path.Dir(name))
	if err != nil {
		return nil, err
	}
	s.Source = Source{File: label, Builtin: builtin}
	return s, nil
}

// Parse decodes, defaults and validates scenario YAML: for a scenario
// with parameters, its variant of seed 0 (ParseVariant). label names the
// file in error messages; manifests given by path are read from fsys
// relative to dir. Errors are of kind errkind.Invalid and unwrap to a
// *ValidationError that lists every problem found.
func Parse(data []byte, label string, fsys fs.FS, dir string) (*Scenario, error) {
	return ParseVariant(data, label, fsys, dir, 0)
}

// ParseVariant is Parse of the variant that seed chooses. A scenario
// with parameters is valid only when every variant is (or, past
// variantProofLimit of them, a sample): the first variant that is not is
// reported, named by its choices.
func ParseVariant(data []byte, label string, fsys fs.FS, dir string, seed uint64) (*Scenario, error) {
	s, chosen, err := parseWith(data, label, fsys, dir, func(ps []Parameter) Choices { return ChooseVariant(ps, seed) })
	if err != nil {
		if len(chosen.Values) > 0 {
			return nil, errkind.E(errkind.Invalid, fmt.Errorf("the variant of seed %d (%s) is not valid: %w", seed, chosen, errors.Unwrap(err)))
		}
		return nil, err
	}
	for _, v := range proofVariants(s.Spec.Parameters) {
		if maps.Equal(v.Values, chosen.Values) {
			continue // just proved
		}
		if _, _, err := parseWith(data, label, fsys, dir, func([]Parameter) Choices { return v }); err != nil {
			return nil, errkind.E(errkind.Invalid, fmt.Errorf("the variant %s is not valid: %w", v, errors.Unwrap(err)))
		}
	}
	if len(s.Spec.Parameters) > 0 {
		s.origin = &origin{data: data, label: label, dir: dir, fsys: fsys}
	}
	return s, nil
}

// parseWith decodes, defaults and validates the variant choose makes,
// and returns the choices it made (none for a scenario without
// parameters), which name the variant when it is not valid.
func parseWith(data []byte, label string, fsys fs.FS, dir string, choose func([]Parameter) Choices) (*Scenario, Choices, error) {
	errs := newErrorList(label)
	var chosen Choices
	s := decodeScenario(data, errs, func(ps []Parameter) Choices { chosen = choose(ps); return chosen })
	if s != nil && len(errs.errs) == 0 {
		applyDefaults(s)
		v := &Checker{errs: errs, s: s, fsys: fsys, dir: dir}
		v.validate()
	}
	if err := errs.err(); err != nil {
		return nil, chosen, errkind.E(errkind.Invalid, err)
	}
	return s, chosen, nil
}

// decodeScenario parses data into the Scenario variant that choose makes
// of its parameters, reporting syntax, version and schema problems. It
// returns nil when it cannot go on.
func decodeScenario(data []byte, errs *errorList, choose func([]Parameter) Choices) *Scenario {
	if len(data) > maxScenarioBytes {
		errs.add("", "file is larger than %d bytes", maxScenarioBytes)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.add("", "empty file: want a Scenario document")
			return nil
		}
		addYAMLError(errs, err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		errs.addAt(errs.file, Pos{Line: extra.Line, Col: extra.Column}, "", "a scenario file holds one document; found another")
		return nil
	} else if !errors.Is(err, io.EOF) {
		addYAMLError(errs, err)
		return nil
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		errs.addAt(errs.file, Pos{Line: root.Line, Col: root.Column}, "", "expected a mapping with apiVersion, kind, metadata and spec, got %s", kindName(root))
		return nil
	}
	// Read apiVersion and kind first: the rest of the document is only
	// meaningful against the schema they name.
	apiVersion, kind := topScalar(root, "apiVersion"), topScalar(root, "kind")
	switch {
	case apiVersion == nil:
		errs.addAt(errs.file, Pos{Line: root.Line, Col: root.Column}, "apiVersion", "required field missing (want %q)", APIVersion)
		return nil
	case apiVersion.Value != APIVersion:
		errs.addAt(errs.file, Pos{Line: apiVersion.Line, Col: apiVersion.Column}, "apiVersion", "unsupported apiVersion %q (this build reads %q)", apiVersion.Value, APIVersion)
		return nil
	case kind == nil:
		errs.addAt(errs.file, Pos{Line: root.Line, Col: root.Column}, "kind", "required field missing (want %q)", KindScenario)
		return nil
	case kind.Value != KindScenario:
		errs.addAt(errs.file, Pos{Line: kind.Line, Col: kind.Column}, "kind", "unsupported kind %q (want %q)", kind.Value, KindScenario)
		return nil
	}
	var s Scenario
	d := newDecoder(errs)
	if ps := decodeParameters(root); len(ps) > 0 {
		s.Variant = choose(ps)
		root = cloneNode(root)
		s.usedParams = map[string]bool{}
		substitute(root, parametersNode(root), s.Variant, s.usedParams, errs)
	}
	d.decode(root, reflectValue(&s), "")
	return &s
}

// topScalar returns the scalar value node of key in mapping m, or nil.
func topScalar(m *yaml.Node, key string) *yaml.Node {
	if n := mappingValue(m, key); n != nil && n.Kind == yaml.ScalarNode {
		return n
	}
	return nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// addYAMLError turns a yaml.v3 syntax error into a located problem.
func addYAMLError(errs *errorList, err error) {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		errs.addAt(errs.file, Pos{Line: line}, "", "invalid YAML: %s", m[2])
		return
	}
	errs.add("", "invalid YAML: %s", trimYAMLPrefix(msg))
}

func trimYAMLPrefix(s string) string {
	const p = "yaml: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxScenarioBytes+1))
	if err != nil {
		return nil, err
	}
	return data, nil
}
