package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sampleState is a state of two partitions with blocked pairs and tombstones.
func sampleState() *State {
	const base = int64(1669872112000)
	s := NewState(time.Hour)
	s.Apply(partA, change(true, "u", "t1", base))
	s.Apply(partA, change(true, "u", "t2", base+1))
	s.Apply(partA, change(false, "u", "t2", base+2))
	s.Apply(partB, change(false, "v", "t1", base+3))
	s.Apply(partB, change(true, "v", "t1", base+1)) // ignored: older than the removal
	s.Advance(partA, 3)
	s.Advance(partB, 2)
	return s
}

func snapshotBytes(t *testing.T, s *State, topics ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := s.WriteSnapshot(&b, topics, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A snapshot read back is the state written: blocklists, counters, offsets, and the
// tombstones, which still refuse an older addition and still age by their partition.
func TestSnapshotRoundTrip(t *testing.T) {
	s, err := ReadSnapshot(bytes.NewReader(snapshotBytes(t, sampleState(), "blocklist")), []string{"blocklist"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{Applied: 4, Ignored: 1, Users: 2, Blocked: 1, Tombstones: 2}
	if d := cmp.Diff(want, s.Stats()); d != "" {
		t.Fatalf("stats (-want +got):\n%s", d)
	}
	for p, want := range map[Partition]int64{partA: 3, partB: 2} {
		if got, ok := s.Next(p); !ok || got != want {
			t.Errorf("next offset of %s: %d %v, want %d", p, got, ok, want)
		}
	}
	const base = int64(1669872112000)
	if s.Apply(partA, change(true, "u", "t2", base+1)) || s.Apply(partB, change(true, "v", "t1", base+2)) {
		t.Fatal("an addition older than a restored tombstone was applied")
	}
	s.Apply(partB, change(true, "w", "t", base+3+hour+1)) // ages partB's tombstone only
	if got := s.Stats(); got.Tombstones != 1 || got.TombstonesDropped != 1 {
		t.Fatalf("after partB moved past the horizon: %+v, want 1 tombstone kept (partA's), 1 dropped", got)
	}
	if d := cmp.Diff([]string{"t1"}, s.Blocklist("u")); d != "" {
		t.Fatalf("u (-want +got):\n%s", d)
	}
}

// A snapshot that is damaged, of another layout or of other topics is refused, with
// what is wrong.
func TestReadSnapshotRefuses(t *testing.T) {
	good := snapshotBytes(t, sampleState(), "blocklist")
	regzip := func(edit func(string) string) []byte {
		zr, err := gzip.NewReader(bytes.NewReader(good))
		if err != nil {
			t.Fatal(err)
		}
		var plain bytes.Buffer
		if _, err := plain.ReadFrom(zr); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.Write([]byte(edit(plain.String())))
		zw.Close()
		return out.Bytes()
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)-6] ^= 0x01 // in the CRC-32 of the gzip trailer
	tests := []struct {
		name string
		give []byte
		want string
	}{
		{"empty", nil, "EOF"},
		{"not gzip", []byte(`{"format":"imbridge-blocklist snapshot 1"}`), "gzip: invalid header"},
		{"cut short", good[:len(good)-10], "after user 2: unexpected EOF"},
		{"a bit flipped", flipped, "after user 2: gzip: invalid checksum"},
		{"other topics", snapshotBytes(t, sampleState(), "friend"),
			"it holds the state of topics friend, not of --topics blocklist"},
		{"other layout", regzip(func(s string) string { return strings.Replace(s, "snapshot 1", "snapshot 2", 1) }),
			`format "imbridge-blocklist snapshot 2", want "imbridge-blocklist snapshot 1"`},
		{"a user missing", regzip(func(s string) string { return strings.Replace(s, `"users":2`, `"users":3`, 1) }),
			"user 3 of 3: EOF"},
		{"a value too many", regzip(func(s string) string { return s + "{}\n" }),
			"after user 2: more values than the header counts"},
		{"an unknown field", regzip(func(s string) string { return strings.Replace(s, `"user":`, `"owner":"x","user":`, 1) }),
			`user 1 of 2: json: unknown field "owner"`},
		{"a tombstone of an unknown partition", regzip(func(s string) string { return strings.Replace(s, `"from":1`, `"from":7`, 1) }),
			`"v": removed "t1": empty, also blocked, or from an unknown partition`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadSnapshot(bytes.NewReader(tt.give), []string{"blocklist"}, time.Hour)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// The snapshot is replaced whole: after a write the file holds the new state and no
// temporary file is left; temporaries of a crash are removed at load; the file is
// readable by its owner only (blocklists are personal data).
func TestSnapshotFileWrite(t *testing.T) {
	dir := t.TempDir()
	f := &snapshotFile{path: filepath.Join(dir, "state"), topics: []string{"blocklist"}, now: time.Now}
	if s, err := f.load(time.Hour); s != nil || err != nil {
		t.Fatalf("missing snapshot: %v, %v; want none and no error", s, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state.tmp-123"), []byte("half a snapshot"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := f.write(sampleState()); err != nil {
			t.Fatal(err)
		}
	}
	s, err := f.load(time.Hour)
	if err != nil || s == nil || s.Stats().Applied != 4 {
		t.Fatalf("load: %v, %v", s, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "state" {
		t.Fatalf("directory holds %v, want only the snapshot", entries)
	}
	if info, _ := os.Stat(f.path); info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", info.Mode().Perm())
	}
}

// A corrupt snapshot stops the consumer at start, before it reads anything, with an
// error that names the file and how to start over; so does a snapshot of other topics.
func TestCorruptSnapshotRefused(t *testing.T) {
	bin := build(t, ".", "imbridge-blocklist")
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.snapshot")
	good := snapshotBytes(t, sampleState(), "blocklist")
	if err := os.WriteFile(corrupt, good[:len(good)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.snapshot")
	if err := os.WriteFile(other, good, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, topics, want string
	}{
		{"cut in half", corrupt, "blocklist", "imbridge-blocklist: snapshot " + corrupt + " is not usable: header: unexpected EOF; " +
			"to start over, move it aside and start again: the state is then rebuilt from the topics' first offset, without what their retention deleted\n"},
		{"other topics", other, "imbridge.blocklist", "imbridge-blocklist: snapshot " + other + " is not usable: " +
			"it holds the state of topics blocklist, not of --topics imbridge.blocklist; " +
			"to start over, move it aside and start again: the state is then rebuilt from the topics' first offset, without what their retention deleted\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, "--brokers", "127.0.0.1:1", "--topics", tt.topics, "--snapshot", tt.file, "--listen", "127.0.0.1:0")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 1 {
					t.Fatalf("exit %v, want status 1", err)
				}
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("still running 10s after start with a corrupt snapshot:\n%s", stderr.String())
			}
			if got := stderr.String(); got != tt.want {
				t.Fatalf("stderr:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// A snapshot written before the version rule may hold a partition's newest version in
// year 9999: loading clamps it, so that the horizon does not drop every tombstone as it
// comes (before: a late older addition was applied over a fresh removal).
func TestSnapshotFarFutureNewestIsClamped(t *testing.T) {
	now := time.Now()
	s := NewState(24 * time.Hour)
	s.Apply(partA, change(false, "u", "t", now.UnixMilli()))
	s.part(partA).newest = 253402300799000
	var buf bytes.Buffer
	if err := s.WriteSnapshot(&buf, []string{partA.Topic}, now); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSnapshot(&buf, []string{partA.Topic}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got.Apply(partA, change(true, "u", "t", now.Add(-time.Second).UnixMilli())) // older, published late
	if b := got.Blocklist("u"); len(b) != 0 {
		t.Fatalf("u blocks %v after loading: the removal's tombstone was dropped", b)
	}
}
