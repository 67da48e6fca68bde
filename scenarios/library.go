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

	"github.com/gameday-sre/gameday/internal/errkind"
)

// library holds the built-in scenarios: one directory per scenario under
// library/, each with a scenario.yaml and the files it refers to.
//
//go:embed library
var library embed.FS

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

// Discover expands paths into scenario files: a file stands for itself; a
// directory holding scenario.yaml stands for that file; any other
// directory stands for every scenario.yaml below it.
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
			if !d.IsDir() && d.Name() == ScenarioFile {
				found = append(found, fp)
			}
			return nil
		})
		if err != nil {
			return nil, errkind.E(errkind.Invalid, fmt.Errorf("find scenarios: %w", err))
		}
		if len(found) == 0 {
			return nil, errkind.Errorf(errkind.Invalid, "find scenarios: no %s under %s", ScenarioFile, p)
		}
		out = append(out, found...)
	}
	return out, nil
}
