package schemadoc

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/gameday-sre/gameday/internal/testkit/golden"
	"github.com/gameday-sre/gameday/scenarios"
)

const schemaFile = "../../../scenarios/schema.json"

func generate(t *testing.T) []byte {
	t.Helper()
	b, err := JSONSchema(os.DirFS("../../.."), ScenarioDirs, "Scenario", scenarios.SchemaID,
		map[string]string{"apiVersion": scenarios.APIVersion, "kind": scenarios.KindScenario}, ScenarioUnions())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSchemaFileIsCurrent fails when scenarios/schema.json (which gameday
// schema prints) differs from the wire types' doc comments.
func TestSchemaFileIsCurrent(t *testing.T) {
	got := generate(t)
	current, err := os.ReadFile(schemaFile)
	if err == nil && bytes.Equal(current, got) {
		return
	}
	if golden.Updating() {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("scenarios/schema.json is stale (%v); run: make golden", err)
}

func compile(t *testing.T, schema []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(scenarios.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(scenarios.SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// asJSON turns a YAML document into the JSON value a YAML language server
// checks against the schema.
func asJSON(t *testing.T, path string) any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestScenariosValidateAgainstTheSchema checks every built-in scenario,
// and the file that uses every step and condition, against the schema;
// and that the schema refuses what the loader refuses.
func TestScenariosValidateAgainstTheSchema(t *testing.T) {
	sch := compile(t, generate(t))
	files, _ := filepath.Glob("../../../scenarios/library/*/scenario.yaml")
	files = append(files, "../../../scenarios/testdata/valid/every-condition.yaml")
	if len(files) < 2 {
		t.Fatalf("found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			if err := sch.Validate(asJSON(t, f)); err != nil {
				t.Errorf("%s does not validate:\n%v", f, err)
			}
		})
	}
	broken := map[string]string{
		"unknown-field.yaml":    "pointz",
		"bad-apiversion.yaml":   "apiVersion",
		"missing-required.yaml": "title",
	}
	for file, want := range broken {
		t.Run("refuses "+file, func(t *testing.T) {
			err := sch.Validate(asJSON(t, "../../../scenarios/testdata/invalid/"+file))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want an error about %s", file, err, want)
			}
		})
	}
}
