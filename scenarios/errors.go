package scenarios

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a file. Line and Col are 1-based; 0 means unknown.
type Pos struct {
	Line int
	Col  int
}

// FieldError is one problem in a scenario, located by file, position and
// field path.
type FieldError struct {
	// File is the file the problem is in.
	File string
	// Pos is where in File; zero when unknown.
	Pos Pos
	// Path is the field path, for example spec.objectives[2].when.
	Path string
	// Msg describes the problem.
	Msg string
}

// Error formats the problem as file:line:col: path: message.
func (e FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Pos.Line)
		if e.Pos.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Col)
		}
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ValidationError lists every problem found in one scenario.
type ValidationError struct {
	// Errors are sorted by file and position.
	Errors []FieldError
}

// Error joins the problems, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		lines[i] = fe.Error()
	}
	return strings.Join(lines, "\n")
}

// errorList collects problems while decoding and validating.
type errorList struct {
	file string
	pos  map[string]Pos
	errs []FieldError
}

func newErrorList(file string) *errorList {
	return &errorList{file: file, pos: map[string]Pos{}}
}

// add records a problem at a field path, located at the path's recorded
// position or, failing that, the nearest recorded ancestor's.
func (l *errorList) add(path, format string, args ...any) {
	l.errs = append(l.errs, FieldError{File: l.file, Pos: l.lookup(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// addAt records a problem at an explicit position, possibly in another
// file.
func (l *errorList) addAt(file string, pos Pos, path, format string, args ...any) {
	l.errs = append(l.errs, FieldError{File: file, Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) lookup(path string) Pos {
	for p := path; p != ""; p = parentPath(p) {
		if pos, ok := l.pos[p]; ok {
			return pos
		}
	}
	return Pos{}
}

// parentPath strips the last element of a field path.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i], l.errs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Col < b.Pos.Col
	})
	return &ValidationError{Errors: l.errs}
}

// didYouMean returns ` (did you mean "x"?)` for the closest candidate
// within a small edit distance, or "".
func didYouMean(got string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(got) > 8 {
		limit = 3
	}
	if best == "" || bestD > limit || bestD == 0 && best == got {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
