package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/gameday-sre/gameday/internal/ground/errkind"
)

// library holds the built-in scenarios: one directory per scenario under
// library/, each with a scenario.yaml and the files it refers to.
//
//go:embed library
var library embed.FS

// SchemaID is the id of the scenario JSON Schema.
const SchemaID = "https://gameday.dev/schemas/v1alpha1/scenario.json"

// Schema is the JSON Schema of gameday.dev/v1alpha1 scenario files,
// generated from the wire types and their doc comments (internal/domain/schemadoc;
// make golden), for editors' YAML language servers.
//
//go:embed schema.json
var Schema []byte

// ScenarioFile is the file name a scenario directory must contain.
const ScenarioFile = "scenario.yaml"

// BuiltinNames returns the names of the built-in scenarios, sorted.
func BuiltinNames() []string {
	entries, err := fs.ReadDir(library, "library")
	if err != nil {
		panic(fmt.Sprintf("embedded library unreadable: %v", err)) // build defect
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// LoadBuiltin loads the built-in scenario with the given name.
func LoadBuiltin(name string) (*Scenario, error) {
	if !fs.ValidPath(name) || strings.Contains(name, "/") {
		return nil, unknownScenario(name)
	}
	p := path.Join("library", name, ScenarioFile)
	if _, err := fs.Stat(library, p); err != nil {
		return nil, unknownScenario(name)
	}
	return load(library, p, "builtin:"+name+"/"+ScenarioFile, true)
}

// Builtin loads every built-in scenario. It fails if any is invalid, which
// is a build defect that the tests catch.
func Builtin() ([]*Scenario, error) {
	var out []*Scenario
	for _, n := range BuiltinNames() {
		s, err := LoadBuiltin(n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func unknownScenario(name string) error {
	names := BuiltinNames()
	return errkind.Errorf(errkind.Invalid, "unknown scenario %q%s: not a file or directory, nor a built-in (built-in: %s)",
		name, didYouMean(name, names), strings.Join(names, ", "))
}

// Resolve loads a scenario named by ref: a path to a scenario file, a path
// to a directory holding scenario.yaml, or the name of a built-in
// scenario. A path wins over a built-in of the same name.
func Resolve(ref string) (*Scenario, error) {
	fi, err := os.Stat(ref)
	switch {
	case err == nil && fi.IsDir():
		p := filepath.Join(ref, ScenarioFile)
		if _, err := os.Stat(p); err != nil {
			return nil, errkind.Errorf(errkind.Invalid, "load %s: directory has no %s", ref, ScenarioFile)
		}
		return LoadFile(p)
	case err == nil:
		return LoadFile(ref)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, errkind.E(errkind.Invalid, fmt.Errorf("load %s: %w", ref, err))
	}
	return LoadBuiltin(ref)
}

// Discover expands paths into scenario files. A file stands for itself.
// A directory stands for every scenario file below it: each file named
// scenario.yaml, and each other .yaml or .yml file whose kind is Scenario
// or that cannot be parsed far enough to tell (so broken files are
// reported, not skipped).
func Discover(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, errkind.E(errkind.Invalid, fmt.Errorf("find scenarios: %w", err))
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			ext := filepath.Ext(fp)
			if d.Name() == ScenarioFile || (ext == ".yaml" || ext == ".yml") && maybeScenario(fp) {
				found = append(found, fp)
			}
			return nil
		})
		if err != nil {
			return nil, errkind.E(errkind.Invalid, fmt.Errorf("find scenarios: %w", err))
		}
		if len(found) == 0 {
			return nil, errkind.Errorf(errkind.Invalid, "find scenarios: no scenario files under %s", p)
		}
		out = append(out, found...)
	}
	return out, nil
}

// maybeScenario reports whether a YAML file declares kind Scenario, or
// cannot be read far enough to tell.
func maybeScenario(p string) bool {
	data, err := os.ReadFile(p)
	if err != nil {
		return true
	}
	var head struct {
		Kind string `yaml:"kind"`
	}
	if err := yaml.Unmarshal(data, &head); err != nil {
		return true
	}
	return head.Kind == KindScenario
}
