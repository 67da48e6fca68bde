package embedded

import (
	"path/filepath"
	"testing"
)

func TestTempBase(t *testing.T) {
	const runID = "20261126-094707-0a8807"
	tests := []struct {
		name, tmpdir, want string
	}{
		{"usual TMPDIR", "/tmp", "/tmp"},
		{"short TMPDIR kept", "/var/tmp/ci", "/var/tmp/ci"},
		{"macOS-like TMPDIR too long for sockets", "/var/folders/zz/zyxvpxvq6csfxvn_n0000000000000/T", "/tmp"},
		{"test temp dir", "/tmp/TestIntegrationCleanupAfterKill4130156962/002", "/tmp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TMPDIR", tt.tmpdir)
			got := tempBase(runID)
			if got != tt.want {
				t.Fatalf("tempBase = %s, want %s", got, tt.want)
			}
			longest := filepath.Join(got, "gameday-"+runID+"-1234567890") + nodeSocketSuffix
			if len(longest) > maxSocketPath {
				t.Errorf("socket path %d bytes > %d: %s", len(longest), maxSocketPath, longest)
			}
		})
	}
}
