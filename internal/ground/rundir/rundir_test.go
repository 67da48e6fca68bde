package rundir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoot(t *testing.T) {
	tests := []struct {
		name, home, xdg, want string
	}{
		{"GAMEDAY_HOME wins", "/g", "/x", "/g"},
		{"XDG state", "", "/x", "/x/gameday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GAMEDAY_HOME", tt.home)
			t.Setenv("XDG_STATE_HOME", tt.xdg)
			got, err := Root()
			if err != nil || got != tt.want {
				t.Errorf("Root() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestLiveRuns(t *testing.T) {
	root := t.TempDir()
	a, err := Create(root, "20260101-000000-aaaaaa")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(root, "20260102-000000-bbbbbb")
	if err != nil {
		t.Fatal(err)
	}
	unmark, err := b.MarkLive()
	if err != nil {
		t.Fatal(err)
	}
	// a's pid file names a process that does not exist.
	if err := os.WriteFile(a.File("pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	all, _ := List(root)
	if len(all) != 2 || all[0].ID != a.ID {
		t.Fatalf("List = %v, want a then b", all)
	}
	live, _ := Live(root)
	if len(live) != 1 || live[0].ID != b.ID || live[0].Pid() != os.Getpid() {
		t.Fatalf("Live = %v, want only b with this pid", live)
	}
	if err := unmark(); err != nil {
		t.Fatal(err)
	}
	if live, _ := Live(root); len(live) != 0 {
		t.Errorf("Live after unmark = %v", live)
	}
	if _, err := os.Stat(filepath.Join(root, "runs", b.ID)); err != nil {
		t.Errorf("run dir removed: %v", err)
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	id := NewID()
	if len(id) != len("20060102-150405-abcdef") || strings.Count(id, "-") != 2 {
		t.Errorf("NewID() = %q", id)
	}
}

func TestOrphans(t *testing.T) {
	root := t.TempDir()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	finished, _ := Create(root, "20260101-000000-aaaaaa")
	crashed, _ := Create(root, "20260102-000000-bbbbbb")
	live, _ := Create(root, "20260103-000000-cccccc")
	if err := os.WriteFile(crashed.File("pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	unmark, _ := live.MarkLive()
	defer unmark()
	for _, d := range []string{"gameday-20260102-000000-bbbbbb-123", "gameday-20260103-000000-cccccc-456", "gameday-20260104-000000-dddddd-789", "gameday-selftest-abc", "unrelated"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Orphans(root)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, o := range got {
		paths = append(paths, o.Path)
	}
	want := []string{crashed.Path, filepath.Join(tmp, "gameday-20260102-000000-bbbbbb-123")}
	if strings.Join(paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("orphans:\n%s\nwant:\n%s (the finished run %s, the live run and the unknown run 20260104-000000-dddddd stay)", strings.Join(paths, "\n"), strings.Join(want, "\n"), finished.ID)
	}
}
