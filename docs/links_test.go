// Package docs holds gameday's documentation pages; its test checks that
// every relative link and anchor in them and in the README resolves.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	linkRE   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	codeRE   = regexp.MustCompile("`[^`]*`")
	headRE   = regexp.MustCompile(`^#{1,6}\s+(.*)$`)
	anchorRE = regexp.MustCompile(`[^\p{L}\p{N}\- _]`)
)

// pages are the Markdown files the test reads, relative to this folder.
func pages(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../README.md"}, files...)
}

// prose returns a page's lines outside code fences, with inline code
// removed: links and headings inside code are not links or headings.
func prose(text string) []string {
	var out []string
	fence := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
			continue
		}
		if !fence {
			out = append(out, codeRE.ReplaceAllString(l, ""))
		}
	}
	return out
}

// anchors returns the anchors GitHub makes for a page's headings:
// lowercase, punctuation dropped, spaces as hyphens, and -1, -2, ... on
// repeats.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	fence := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fence = !fence
			continue
		}
		m := headRE.FindStringSubmatch(l)
		if fence || m == nil {
			continue
		}
		a := strings.ReplaceAll(anchorRE.ReplaceAllString(strings.ToLower(strings.TrimSpace(m[1])), ""), " ", "-")
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func TestLinksResolve(t *testing.T) {
	for _, page := range pages(t) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		links := 0
		for i, l := range prose(string(b)) {
			for _, m := range linkRE.FindAllStringSubmatch(l, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				file, anchor, _ := strings.Cut(target, "#")
				path := page
				if file != "" {
					path = filepath.Join(filepath.Dir(page), file)
				}
				tb, err := os.ReadFile(path)
				if err != nil {
					t.Errorf("%s:%d: link %s: %v", page, i+1, target, err)
					continue
				}
				if anchor != "" && strings.HasSuffix(path, ".md") && !anchors(string(tb))[anchor] {
					t.Errorf("%s:%d: link %s: %s has no heading with anchor #%s", page, i+1, target, path, anchor)
				}
			}
		}
		t.Logf("%s: %d relative links", page, links)
	}
}

func TestAnchors(t *testing.T) {
	tests := []struct {
		name, heading, anchor string
	}{
		{"plain", "## The kind backend", "the-kind-backend"},
		{"punctuation", "### Exit codes (and why)", "exit-codes-and-why"},
		{"code and dots", "## `gameday test`: the library", "gameday-test-the-library"},
		{"repeat", "## Status\n## Status", "status-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := anchors(tt.heading); !got[tt.anchor] {
				t.Errorf("anchors(%q) = %v, want %q among them", tt.heading, got, tt.anchor)
			}
		})
	}
}

func TestReadmeStaysSmall(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 12*1024 {
		t.Errorf("README.md is %d bytes; keep it under 12 KB and move detail into docs/", len(b))
	}
	for _, cmd := range []string{"make run", "make test"} {
		if i := strings.Index(string(b), cmd); i < 0 || i > 2048 {
			t.Errorf("README.md must show %q within its first 2 KB (found at %d)", cmd, i)
		}
	}
}
