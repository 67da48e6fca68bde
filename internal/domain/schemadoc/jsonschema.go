package schemadoc

import (
	"encoding/json"
	"go/ast"
	"go/doc"
	"io/fs"
	"regexp"
)

// durationPattern matches a Go duration string without a sign ("90s",
// "1h30m", "1.5s").
const durationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// required finds "Required." as a sentence of a field's doc comment.
var required = regexp.MustCompile(`(^|\. )Required\.`)

// JSONSchema renders the types reachable from root, as parsed from the Go
// files of the package in dir, as a JSON Schema (draft 2020-12) with id
// id: one definition per struct, its YAML fields as properties described
// by their doc comments, unknown fields refused (the loader is strict),
// and the fields whose doc says "Required." required. consts fixes the
// root's named fields to values (apiVersion, kind), and requires them.
//
// A union's members become properties too, exactly one of which must be
// set.
func JSONSchema(fsys fs.FS, dirs []string, root, id string, consts map[string]string, unions Unions) ([]byte, error) {
	types, err := load(fsys, dirs...)
	if err != nil {
		return nil, err
	}
	defs := map[string]any{}
	queue := []string{root}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if _, done := defs[name]; done {
			continue
		}
		t := types[name]
		st := (*ast.StructType)(nil)
		if t != nil {
			st = structType(t)
		}
		if st == nil {
			continue
		}
		props := map[string]any{}
		var req []string
		for _, yf := range yamlFields(st) {
			text := oneParagraph(yf.field.Doc.Text())
			p := fieldSchema(yf.field.Type, types)
			p["description"] = text
			_, fixed := consts[yf.name]
			if name == root && fixed {
				p["const"] = consts[yf.name]
			}
			props[yf.name] = p
			if required.MatchString(text) || (name == root && fixed) {
				req = append(req, yf.name)
			}
			for _, ref := range typeNames(yf.field.Type) {
				if t := types[ref]; t != nil && structType(t) != nil && !valueTypes[ref] {
					queue = append(queue, ref)
				}
			}
		}
		var oneOf []any
		for _, f := range unions[name].Fields {
			oneOf = append(oneOf, map[string]any{"required": []string{f}})
		}
		for _, m := range unions[name].Members {
			e, doc := memberType(types, m)
			p := fieldSchema(e, types)
			p["description"] = oneParagraph(doc)
			props[m.Key] = p
			oneOf = append(oneOf, map[string]any{"required": []string{m.Key}})
			for _, ref := range typeNames(e) {
				if t := types[ref]; t != nil && structType(t) != nil && !valueTypes[ref] {
					queue = append(queue, ref)
				}
			}
		}
		def := map[string]any{"type": "object", "description": oneParagraph(t.Doc), "properties": props, "additionalProperties": false}
		if len(oneOf) > 0 {
			def["oneOf"] = oneOf
		}
		if len(req) > 0 {
			def["required"] = req
		}
		defs[name] = def
	}
	defs["ParamRef"] = paramRef
	doc := map[string]any{
		"$schema": "https://json-schema.org/draft/2020-12/schema",
		"$id":     id,
		"title":   root,
		"$ref":    "#/$defs/" + root,
		"$defs":   defs,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// paramRef is a scenario parameter reference standing for a whole value:
// a list, a mapping, a number, a duration (${param.NAME[.FIELD]}).
var paramRef = map[string]any{"type": "string", "description": "A parameter reference: ${param.NAME} or ${param.NAME.FIELD}, whose chosen value stands here.", "pattern": `^\$\{param\.[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?\}$`}

// fieldSchema is the JSON Schema of a field's Go type: its YAML, or a
// parameter reference in its place (which text fields take as they are).
func fieldSchema(e ast.Expr, types map[string]*doc.Type) map[string]any {
	s := typeSchema(e, types)
	if s["type"] == "string" && s["pattern"] == nil || len(s) == 0 {
		return s
	}
	return map[string]any{"anyOf": []any{s, map[string]any{"$ref": "#/$defs/ParamRef"}}}
}

// typeSchema is the JSON Schema of a Go type's YAML.
func typeSchema(e ast.Expr, types map[string]*doc.Type) map[string]any {
	switch x := e.(type) {
	case *ast.Ident:
		switch x.Name {
		case "string":
			return map[string]any{"type": "string"}
		case "int", "int32", "int64":
			return map[string]any{"type": "integer"}
		case "float64":
			return map[string]any{"type": "number"}
		case "bool":
			return map[string]any{"type": "boolean"}
		case "Duration":
			return map[string]any{"type": "string", "pattern": durationPattern}
		case "ChoiceValue": // text, or a list or mapping
			return map[string]any{}
		case "StringList":
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "array", "items": map[string]any{"type": "string"}}}}
		}
		if t := types[x.Name]; t != nil && structType(t) != nil {
			return map[string]any{"$ref": "#/$defs/" + x.Name}
		}
		return map[string]any{}
	case *ast.StarExpr:
		return typeSchema(x.X, types)
	case *ast.SelectorExpr: // another package's type, as behaviour.App
		return typeSchema(x.Sel, types)
	case *ast.ArrayType:
		return map[string]any{"type": "array", "items": fieldSchema(x.Elt, types)}
	case *ast.MapType:
		return map[string]any{"type": "object", "additionalProperties": fieldSchema(x.Value, types)}
	}
	return map[string]any{}
}
