// Package scenarios defines gameday's scenario language
// (apiVersion gameday.dev/v1alpha1, kind Scenario), loads and validates
// scenario files, and embeds the built-in library.
//
// Loading is strict and happens in four steps: read apiVersion and kind;
// decode every field, rejecting unknown ones; apply defaults (in one place,
// applyDefaults); validate, including cross-references and the Kubernetes
// manifests a scenario ships. Every problem is reported at once, each with
// file, line, column and field path.
package scenarios
