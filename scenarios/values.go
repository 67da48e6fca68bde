package scenarios

import (
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as a Go duration string ("90s",
// "5m"). Negative durations are rejected.
type Duration struct {
	time.Duration
}

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want a Go duration such as 90s or 5m)", string(b))
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", string(b))
	}
	d.Duration = v
	return nil
}

// String formats the duration in Go syntax without zero units: "5m",
// "1h30m", "90s" ("1m30s").
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText writes the duration as String does.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// IsZero reports whether the duration is unset.
func (d Duration) IsZero() bool { return d.Duration == 0 }

// StringList is a list of strings that may be written as a single string,
// as IAM policy documents allow.
type StringList []string

// decodeNode accepts a scalar or a sequence of scalars.
func (l *StringList) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return
		}
		*l = StringList{n.Value}
	case yaml.SequenceNode:
		out := make(StringList, 0, len(n.Content))
		for i, c := range n.Content {
			c = d.deref(c)
			if c == nil {
				return
			}
			if c.Kind != yaml.ScalarNode {
				d.errorAt(c, fmt.Sprintf("%s[%d]", path, i), "expected a string, got %s", kindName(c))
				continue
			}
			out = append(out, c.Value)
		}
		*l = out
	default:
		d.errorAt(n, path, "expected a string or a list of strings, got %s", kindName(n))
	}
}
