package scenarios

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzParse checks that no input makes the loader panic or hang.
// Run it with: go test ./scenarios -run '^$' -fuzz FuzzParse -fuzztime 5m
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	more, _ := filepath.Glob("testdata/*/*/*.yaml")
	seeds = append(seeds, more...)
	seeds = append(seeds, "library/ecr-imagepullbackoff/scenario.yaml")
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	manifest, err := os.ReadFile("library/ecr-imagepullbackoff/manifests/app.yaml")
	if err != nil {
		f.Fatal(err)
	}
	fsys := fstest.MapFS{
		"manifests/app.yaml":      {Data: manifest},
		"manifests/checkout.yaml": {Data: manifest},
		"manifests/decoys.yaml":   {Data: manifest},
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml", fsys, ".")
		if err == nil && s == nil {
			t.Fatal("nil scenario without error")
		}
	})
}
