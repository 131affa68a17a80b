package spool

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// modes returns the permission bits of dir ("."), and of every file in it.
func modes(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	out["."] = st.Mode().Perm()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = info.Mode().Perm()
	}
	return out
}

// The spool holds callbacks' bodies: a spool directory left open to group and others
// by an earlier version (0755, its files 0644, a temporary cursor among them) is its
// owner's alone after Open, which says so in one INFO line; what the spool creates
// afterwards is its owner's too, whatever the umask.
func TestOpenRestrictsPermissions(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := copySegment(t, "testdata/v3")
	seg := filepath.Base(segFiles(t, dir)[0])
	for name, b := range map[string]string{seg: "", ackFile: "1\n", ackFile + ".tmp": "2\n", lockFile: "4242\n"} {
		path := filepath.Join(dir, name)
		if b != "" {
			if err := os.WriteFile(path, []byte(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	core, logs := observer.New(zapcore.DebugLevel)
	s := open(t, dir, Options{SegmentBytes: 4096, Log: zap.New(core)})
	want := map[string]fs.FileMode{".": 0o700, seg: 0o600, ackFile: 0o600, ackFile + ".tmp": 0o600, lockFile: 0o600}
	if d := cmp.Diff(want, modes(t, dir)); d != "" {
		t.Fatalf("modes after Open (-want +got):\n%s", d)
	}
	var lines []string
	for _, e := range logs.All() {
		lines = append(lines, e.Level.String()+" "+e.Message)
	}
	if d := cmp.Diff([]string{
		"info spool: took group and other permissions off its directory and files, which hold callbacks' bodies",
		"info spool opened",
	}, lines); d != "" {
		t.Fatalf("Open logged (-want +got):\n%s", d)
	}
	changed := logs.All()[0].ContextMap()["changed"]
	if d := cmp.Diff([]any{"directory 0755", seg + " 0644", ackFile + " 0644", ackFile + ".tmp 0644", lockFile + " 0644"}, changed); d != "" {
		t.Fatalf("the INFO line's changed field (-want +got):\n%s", d)
	}

	// New segments, the cursor and its temporary file.
	for i := 0; i < 20; i++ {
		mustAppend(t, s, events(3, "r"))
	}
	for _, e := range readAll(t, s) {
		s.Ack(e)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got := modes(t, dir)
	if len(got) < 4 {
		t.Fatalf("files after appends: %v", got)
	}
	for name, m := range got {
		if want := map[bool]fs.FileMode{true: 0o700, false: 0o600}[name == "."]; m != want {
			t.Errorf("%s has mode %04o, want %04o (all: %v)", name, m, want, got)
		}
	}

	// A directory the spool creates, and its parents.
	fresh := filepath.Join(t.TempDir(), "a", "spool")
	s = open(t, fresh, Options{})
	s.Close()
	for _, d := range []string{fresh, filepath.Dir(fresh)} {
		if st, err := os.Stat(d); err != nil || st.Mode().Perm() != 0o700 {
			t.Fatalf("%s: %v, %v; want mode 0700", d, st.Mode(), err)
		}
	}
	// Nothing left to restrict: the next Open says only that it opened.
	core, logs = observer.New(zapcore.DebugLevel)
	s = open(t, dir, Options{Log: zap.New(core)})
	s.Close()
	if logs.Len() != 1 {
		t.Fatalf("reopening logged %+v, want only the open line", logs.All())
	}
}
