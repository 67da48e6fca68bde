// Package schemadoc renders the scenario schema reference in Markdown from
// the doc comments of the wire types in package scenarios, so that the
// reference page (docs/reference.md) cannot drift from the code.
package schemadoc

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/gameday-sre/gameday/scenarios"
)

// Member is one key of a union type: a type whose YAML mapping holds,
// besides its own fields, exactly one of several registered keys (a
// step's action). The key's value is of the Go type Type.
type Member struct {
	// Key is the YAML key.
	Key string
	// Type is the Go type name of the key's value.
	Type string
}

// Union is the set of keys of a union type exactly one of which is set:
// some of its own fields, and its members.
type Union struct {
	// Fields are the type's own YAML fields that count as alternatives
	// (a condition's all, any and not).
	Fields []string
	// Members are the registered keys, in the order the reference lists
	// them.
	Members []Member
}

// Unions maps a union type's name to its union.
type Unions map[string]Union

// Markdown parses the Go files of the packages in dirs (as read from
// fsys; a type of one may be a field of another's, as behaviour.App is)
// and renders every type reachable from root as a Markdown section with a
// table of its YAML fields, and, for the types in unions, one row a
// member.
func Markdown(fsys fs.FS, dirs []string, root string, unions Unions) (string, error) {
	types, err := load(fsys, dirs...)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	seen := map[string]bool{}
	queue := []string{root}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		t := types[name]
		if t == nil {
			continue
		}
		st := structType(t)
		if st == nil {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", name, oneParagraph(t.Doc))
		b.WriteString("| field | type | meaning |\n| --- | --- | --- |\n")
		for _, yf := range yamlFields(st) {
			f := yf.field
			typ := typeString(f.Type)
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", yf.name, typ, strings.ReplaceAll(oneParagraph(f.Doc.Text()), "|", "\\|"))
			for _, ref := range typeNames(f.Type) {
				if types[ref] != nil && !seen[ref] && !valueTypes[ref] {
					queue = append(queue, ref)
				}
			}
		}
		for _, m := range unions[name].Members {
			e, doc := memberType(types, m)
			fmt.Fprintf(&b, "| `%s` | %s | %s |\n", m.Key, typeString(e), strings.ReplaceAll(oneParagraph(doc), "|", "\\|"))
			for _, ref := range typeNames(e) {
				if types[ref] != nil && !seen[ref] && !valueTypes[ref] {
					queue = append(queue, ref)
				}
			}
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// load parses the Go files of the packages in dirs and returns their
// types with their doc comments, by name.
func load(fsys fs.FS, dirs ...string) (map[string]*doc.Type, error) {
	types := map[string]*doc.Type{}
	for _, dir := range dirs {
		fset := token.NewFileSet()
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", dir, err)
		}
		var files []*ast.File
		for _, e := range entries {
			n := e.Name()
			if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			src, err := fs.ReadFile(fsys, dir+"/"+n)
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", n, err)
			}
			f, err := parser.ParseFile(fset, n, src, parser.ParseComments)
			if err != nil {
				return nil, fmt.Errorf("parse %s: %w", n, err)
			}
			files = append(files, f)
		}
		pkg, err := doc.NewFromFiles(fset, files, path.Base(dir))
		if err != nil {
			return nil, fmt.Errorf("read docs of %s: %w", dir, err)
		}
		for _, t := range pkg.Types {
			if types[t.Name] != nil {
				return nil, fmt.Errorf("type %s is in two of %v", t.Name, dirs)
			}
			types[t.Name] = t
		}
	}
	return types, nil
}

// memberType is the type expression a union member's value is written as,
// with the member type's doc comment: a struct that only embeds one type
// (type Sleep struct{ Duration }) is written as that type.
func memberType(types map[string]*doc.Type, m Member) (ast.Expr, string) {
	t := types[m.Type]
	if t == nil {
		return &ast.Ident{Name: m.Type}, ""
	}
	if st := structType(t); st != nil && len(st.Fields.List) == 1 && len(st.Fields.List[0].Names) == 0 {
		return st.Fields.List[0].Type, t.Doc
	}
	return &ast.Ident{Name: m.Type}, t.Doc
}

// yamlFields returns a struct's fields that have a YAML name, with that
// name.
func yamlFields(st *ast.StructType) []yamlField {
	var out []yamlField
	for _, f := range st.Fields.List {
		tag := ""
		if f.Tag != nil {
			tag = reflect.StructTag(strings.Trim(f.Tag.Value, "`")).Get("yaml")
		}
		if tag == "" || tag == "-" || len(f.Names) == 0 {
			continue
		}
		out = append(out, yamlField{name: tag, field: f})
	}
	return out
}

type yamlField struct {
	name  string
	field *ast.Field
}

func structType(t *doc.Type) *ast.StructType {
	for _, spec := range t.Decl.Specs {
		if ts, ok := spec.(*ast.TypeSpec); ok {
			if st, ok := ts.Type.(*ast.StructType); ok {
				return st
			}
		}
	}
	return nil
}

// valueTypes are the scenario types written as plain YAML values, not
// as mappings of fields: the reference and the schema give no section
// of their own to them.
var valueTypes = map[string]bool{"Duration": true, "StringList": true, "ChoiceValue": true}

// typeString renders a field type for readers: lists, maps and the named
// value types of the schema.
func typeString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		switch x.Name {
		case "Duration":
			return "duration"
		case "StringList":
			return "string or list of strings"
		case "ChoiceValue":
			return "text, list or mapping"
		case "float64":
			return "number"
		case "int", "int32", "int64":
			return "integer"
		case "bool", "string":
			return x.Name
		}
		return "[" + x.Name + "](#" + strings.ToLower(x.Name) + ")"
	case *ast.StarExpr:
		return typeString(x.X)
	case *ast.SelectorExpr: // another package's type, as behaviour.App
		return typeString(x.Sel)
	case *ast.ArrayType:
		return "list of " + typeString(x.Elt)
	case *ast.MapType:
		return "map of " + typeString(x.Key) + " to " + typeString(x.Value)
	}
	return "?"
}

func typeNames(e ast.Expr) []string {
	var out []string
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			out = append(out, id.Name)
		}
		return true
	})
	sort.Strings(out)
	return out
}

func oneParagraph(s string) string { return strings.Join(strings.Fields(s), " ") }

// ScenarioDirs are the packages whose types make up the scenario schema,
// relative to the module root.
var ScenarioDirs = []string{"scenarios", "scenarios/behaviour"}

// ScenarioUnions are the scenario schema's unions, read from the
// registries of package scenarios: a step's action keys and a
// condition's leaf kinds.
func ScenarioUnions() Unions {
	var steps, conds []Member
	for _, k := range scenarios.StepKinds() {
		steps = append(steps, Member{Key: k.Name, Type: k.Type})
	}
	for _, k := range scenarios.ConditionKinds() {
		conds = append(conds, Member{Key: k.Name, Type: k.Type})
	}
	return Unions{
		"Step":      {Members: steps},
		"Condition": {Fields: []string{"all", "any", "not"}, Members: conds},
	}
}
