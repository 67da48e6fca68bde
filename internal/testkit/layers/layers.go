// Package layers writes gameday's layering down once, in code, and checks
// a source tree against it. Each package belongs to one layer by its
// folder; a package may import its own layer and the layers below it,
// never one above. The test kits stand apart: only tests import them.
//
// The journal, its scoring and the reports made from it are pure (Pure):
// they reach no Kubernetes code, so a journal is read and scored offline.
//
// From the top:
//
//	app     cmd/, internal/app/: the commands, flags to options, self-test orchestration
//	game    runner/, session/: one game's phases, its journal and its live session
//	infra   infra/: the backends, the AWS plane, the registry, the images
//	domain  scenarios/, verify/, internal/domain/: the language, the journal and its scoring, reports
//	ground  internal/ground/: helpers that know nothing of games
//
// The infrastructure sits above the domain: it realises what a scenario
// describes (its clusters, roles, images and app behaviour), so it reads
// the domain's types, and the domain never reaches into a backend.
package layers

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Layer is one floor of the house: a name and the folders it owns.
type Layer struct {
	// Name names the layer in violations.
	Name string
	// Folders are the module-relative folders whose packages, and their
	// sub-packages, belong to the layer.
	Folders []string
}

// Order is the house's layering, top first. A package imports only from
// its own layer and those after it.
var Order = []Layer{
	{Name: "app", Folders: []string{"cmd", "internal/app"}},
	{Name: "game", Folders: []string{"runner", "session"}},
	{Name: "infra", Folders: []string{"infra"}},
	{Name: "domain", Folders: []string{"scenarios", "verify", "internal/domain"}},
	{Name: "ground", Folders: []string{"internal/ground"}},
}

// Apart lists the folders that stand outside the layers: test kits, which
// only tests may import, and the Makefile's tools. They may import any
// layer.
var Apart = []string{"internal/testkit", "internal/tools", "docs"}

// Pure lists the packages that must import no Kubernetes code, directly
// or through the module's other packages: the journal and its scoring,
// and the reports made from a journal, which read a run offline.
var Pure = []string{"verify", "internal/domain/report"}

// kubernetes says whether an import path is Kubernetes code.
func kubernetes(ip string) bool {
	return strings.HasPrefix(ip, "k8s.io/") || strings.HasPrefix(ip, "sigs.k8s.io/")
}

// Violation is one import that breaks the layering.
type Violation struct {
	// File is the importing file, relative to the tree's root.
	File string
	// Import is the imported package, relative to the module.
	Import string
	// Why says which rule it breaks.
	Why string
}

func (v Violation) String() string {
	if v.Import == "" {
		return v.File + ": " + v.Why
	}
	return v.File + ": imports " + v.Import + ": " + v.Why
}

// placement is where a folder sits: its layer's rank in Order, or apart.
type placement struct {
	rank  int
	layer string
	apart bool
}

// place finds the layer that owns a module-relative folder. The longest
// matching folder wins, so internal/app beats a plain internal.
func place(dir string) (placement, bool) {
	best, found, p := -1, false, placement{}
	match := func(folder string) bool {
		return dir == folder || strings.HasPrefix(dir, folder+"/")
	}
	for rank, l := range Order {
		for _, f := range l.Folders {
			if match(f) && len(f) > best {
				best, found, p = len(f), true, placement{rank: rank, layer: l.Name}
			}
		}
	}
	for _, f := range Apart {
		if match(f) && len(f) > best {
			best, found, p = len(f), true, placement{apart: true, layer: "apart (" + f + ")"}
		}
	}
	return p, found
}

// Check reads every Go file under root, a module whose path is module,
// and returns the imports that break the layering: a package importing a
// layer above its own, a non-test file importing a test kit, and a
// package in no layer at all. Folders named testdata, and those starting
// with a dot or an underscore, are skipped, as the go tool skips them.
func Check(root, module string) ([]Violation, error) {
	var out []Violation
	fset := token.NewFileSet()
	// imports maps a package folder to its non-test imports: module
	// folders (relative) and outside paths, for the purity check.
	imports := map[string]map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		dir := path.Dir(rel)
		from, ok := place(dir)
		if !ok {
			out = append(out, Violation{File: rel, Why: "its folder " + dir + " is in no layer: add it to layers.Order or layers.Apart"})
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("read imports: %w", err)
		}
		test := strings.HasSuffix(name, "_test.go")
		if imports[dir] == nil {
			imports[dir] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			ip := strings.Trim(imp.Path.Value, `"`)
			if !test {
				imports[dir][strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")] = true
			}
			if ip != module && !strings.HasPrefix(ip, module+"/") {
				continue
			}
			target := strings.TrimPrefix(strings.TrimPrefix(ip, module), "/")
			to, ok := place(target)
			switch {
			case !ok:
				out = append(out, Violation{File: rel, Import: target, Why: "the imported folder is in no layer"})
			case to.apart && !from.apart && !test:
				out = append(out, Violation{File: rel, Import: target, Why: "only tests import " + to.layer})
			case to.apart || from.apart:
			case to.rank < from.rank:
				out = append(out, Violation{File: rel, Import: target, Why: fmt.Sprintf("layer %s imports from %s, which is above it", from.layer, to.layer)})
			}
		}
		return nil
	})
	for _, p := range Pure {
		if via := reaches(imports, p, map[string]bool{}); via != "" {
			out = append(out, Violation{File: p, Import: via, Why: "a pure package reaches Kubernetes code"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, err
}

// reaches returns the chain by which package dir reaches Kubernetes code
// through its imports ("report -> verify -> k8s.io/api/core/v1"), or "".
func reaches(imports map[string]map[string]bool, dir string, seen map[string]bool) string {
	if seen[dir] {
		return ""
	}
	seen[dir] = true
	deps := make([]string, 0, len(imports[dir]))
	for d := range imports[dir] {
		deps = append(deps, d)
	}
	sort.Strings(deps)
	for _, d := range deps {
		if kubernetes(d) {
			return d
		}
		if _, local := imports[d]; local {
			if via := reaches(imports, d, seen); via != "" {
				return d + " -> " + via
			}
		}
	}
	return ""
}
