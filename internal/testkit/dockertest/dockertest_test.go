package dockertest

import (
	"strings"
	"testing"
)

func TestSkipMessage(t *testing.T) {
	tests := []struct {
		name    string
		missing []string
		how     string
		want    []string // substrings; none when the message is empty
	}{
		{"nothing missing", nil, "", nil},
		{"names each image and the way to load it", []string{"kindest/node:v1.37.0", "testcontainers/ryuk:0.13.0"}, "",
			[]string{"kindest/node:v1.37.0, testcontainers/ryuk:0.13.0", "docker load -i", "tests pull nothing"}},
		{"a build command wins", []string{"gameday/app:dev"}, "make kind-images", []string{"lacks gameday/app:dev", "get them: make kind-images"}},
		{"gameday's own images are built, the others loaded", []string{"kindest/node:v1.37.0", "gameday.local/app-base:busybox-static"}, "",
			[]string{"lacks kindest/node:v1.37.0, gameday.local/app-base:busybox-static", "get them: make kind-images builds gameday.local/app-base:busybox-static; on a host that can pull"}},
		{"only ours: only the build command", []string{"gameday.local/app-base:busybox-static"}, "",
			[]string{"get them: make kind-images builds gameday.local/app-base:busybox-static"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SkipMessage(tt.missing, tt.how)
			if len(tt.want) == 0 && got != "" {
				t.Fatalf("message %q, want none", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("message %q lacks %q", got, w)
				}
			}
		})
	}
}
