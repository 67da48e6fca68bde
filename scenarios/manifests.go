package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
)

// Object is one Kubernetes object of a workload, parsed and checked
// against the built-in Kubernetes API types.
type Object struct {
	// APIVersion, Kind, Namespace and Name identify the object. Namespace
	// is "default" for namespaced objects that name none, and empty for
	// cluster-scoped kinds.
	APIVersion, Kind, Namespace, Name string
	// JSON is the object after scenario-variable expansion.
	JSON []byte
	// File and Pos locate the object's document.
	File string
	Pos  Pos

	typed runtime.Object
}

// Typed returns the object decoded into its client-go type, or nil for
// kinds client-go does not know (custom resources).
func (o Object) Typed() runtime.Object { return o.typed }

// strictDecoder rejects unknown and duplicate fields in built-in kinds.
var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// clusterScoped lists the cluster-scoped kinds a scenario is likely to use.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "StorageClass": true,
	"ClusterRole": true, "ClusterRoleBinding": true, "PriorityClass": true,
	"CustomResourceDefinition": true, "IngressClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
}

// manifestProblem is a problem in a manifest document.
type manifestProblem struct {
	line int // 1-based line within the text, 0 if unknown
	msg  string
}

// parseManifests splits YAML text into documents and decodes each one as
// a Kubernetes object. It returns the objects that parsed and a problem
// for each document that did not.
func parseManifests(text string) ([]Object, []manifestProblem) {
	var objs []Object
	var probs []manifestProblem
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line := 0
			if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
				fmt.Sscanf(m[1], "%d", &line)
			}
			probs = append(probs, manifestProblem{line: line, msg: "invalid YAML: " + trimYAMLPrefix(strings.TrimPrefix(err.Error(), fmt.Sprintf("yaml: line %d: ", line)))})
			break
		}
		if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
			continue // empty document between separators
		}
		obj, msg := decodeObject(&doc)
		if msg != "" {
			probs = append(probs, manifestProblem{line: fieldLine(text, doc.Content[0].Line, msg), msg: msg})
			continue
		}
		obj.Pos = Pos{Line: doc.Content[0].Line, Col: doc.Content[0].Column}
		objs = append(objs, obj)
	}
	return objs, probs
}

func decodeObject(doc *yaml.Node) (Object, string) {
	var raw any
	if err := doc.Decode(&raw); err != nil {
		return Object{}, "invalid YAML: " + trimYAMLPrefix(err.Error())
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return Object{}, "not a Kubernetes object: expected a mapping with apiVersion, kind and metadata"
	}
	js, err := json.Marshal(m)
	if err != nil {
		return Object{}, "not a Kubernetes object: " + err.Error()
	}
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	switch {
	case apiVersion == "":
		return Object{}, "not a Kubernetes object: apiVersion missing"
	case kind == "":
		return Object{}, "not a Kubernetes object: kind missing"
	case name == "":
		return Object{}, fmt.Sprintf("%s: metadata.name missing", kind)
	}
	obj := Object{APIVersion: apiVersion, Kind: kind, Name: name, Namespace: ns, JSON: js}
	typed, _, err := strictDecoder.Decode(js, nil, nil)
	switch {
	case runtime.IsNotRegisteredError(err):
		// A custom resource: structure checked above, schema unknown here.
	case err != nil:
		return Object{}, fmt.Sprintf("%s %q: %s", kind, name, strings.TrimSpace(err.Error()))
	default:
		obj.typed = typed
	}
	if !clusterScoped[kind] && obj.Namespace == "" {
		obj.Namespace = "default"
	}
	if clusterScoped[kind] {
		obj.Namespace = ""
	}
	return obj, ""
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

// fieldLine refines the line of a strict-decoding problem: for an unknown
// field "a.b.c" it returns the first line at or after start whose key is
// "c", so the error points at the typo rather than the document start.
func fieldLine(text string, start int, msg string) int {
	m := unknownFieldRE.FindStringSubmatch(msg)
	if m == nil {
		return start
	}
	parts := strings.Split(m[1], ".")
	key := parts[len(parts)-1]
	keyRE := regexp.MustCompile(`^\s*(-\s+)?` + regexp.QuoteMeta(key) + `\s*:|[{,]\s*` + regexp.QuoteMeta(key) + `\s*:`)
	lines := strings.Split(text, "\n")
	for i := start - 1; i >= 0 && i < len(lines); i++ {
		if i > start-1 && strings.HasPrefix(lines[i], "---") {
			break
		}
		if keyRE.MatchString(lines[i]) {
			return i + 1
		}
	}
	return start
}
