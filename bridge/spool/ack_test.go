package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The cursor's format is read back by every later version: this is what it is.
func TestCursorFormat(t *testing.T) {
	if got, want := string(encodeCursor(100)), "v2 100 crc32c=0228c6e3\n"; got != want {
		t.Fatalf("encodeCursor(100) = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		give    string
		want    uint64
		wantErr string
	}{
		{give: "v2 100 crc32c=0228c6e3\n", want: 100},
		{give: "v2 100 crc32c=0228c6e3", want: 100},
		{give: string(encodeCursor(0)), want: 0},
		{give: string(encodeCursor(1<<64 - 1)), want: 1<<64 - 1},
		// Versions before the checksum wrote the bare number.
		{give: "100\n", want: 100},
		{give: "0\n", want: 0},
		{give: "v2 101 crc32c=0228c6e3\n", wantErr: "checksum mismatch"},
		{give: "v2 100 crc32c=0228c6e4\n", wantErr: "checksum mismatch"},
		{give: "v2 100 crc32c=0228c6e\n", wantErr: "8 hex digits"},
		{give: "v3 100 crc32c=0228c6e3\n", wantErr: "neither"},
		{give: "62 100 crc32c=0228c6e3\n", wantErr: "neither"}, // "v" with one bit flipped
		{give: "10x\n", wantErr: "neither"},
		{give: "", wantErr: "neither"},
		{give: "\x00\x00\x00\x00", wantErr: "neither"},
	} {
		got, err := parseCursor([]byte(tt.give))
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("parseCursor(%q) = %d, %v; want %d", tt.give, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseCursor(%q) = %d, %v; want an error with %q", tt.give, got, err, tt.wantErr)
		}
	}
}

// spoolFiles returns the name and content of every file in dir but the lock.
func spoolFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.Name() == lockFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

// openRefused opens dir, wants an ErrCursor error that names the cursor file, says
// what it found and what to do, and checks that the refusal changed no file.
func openRefused(t *testing.T, dir, why string) {
	t.Helper()
	before := spoolFiles(t, dir)
	s, err := Open(dir, Options{})
	if err == nil {
		s.Close()
		t.Fatalf("Open trusted the cursor; want it refused (%q)", why)
	}
	path := filepath.Join(dir, ackFile)
	if !errors.Is(err, ErrCursor) || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), why) ||
		!strings.Contains(err.Error(), "nothing was skipped") || !strings.Contains(err.Error(), "Delete "+path) {
		t.Fatalf("Open: %v\nwant ErrCursor naming %s, saying %q and what to do", err, path, why)
	}
	if d := cmp.Diff(before, spoolFiles(t, dir)); d != "" {
		t.Fatalf("the refused Open changed files (-before +after):\n%s", d)
	}
}

// ackedSpool appends n callbacks to a new spool in dir, acknowledges the first acked
// of them, closes it and returns every callback's IDs.
func ackedSpool(t *testing.T, dir string, n, acked int) []string {
	t.Helper()
	s := open(t, dir, Options{SegmentBytes: 4096})
	var all []string
	for i := 0; i < n; i++ {
		evs := events(2, fmt.Sprint(filepath.Base(dir), i))
		mustAppend(t, s, evs)
		all = append(all, evs[0].ID, evs[1].ID)
	}
	for _, e := range readAll(t, s)[:acked] {
		s.Ack(e)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return all
}

// A cursor whose checksum fails is refused, whichever byte changed: it could hide
// any entry. Deleting it publishes every entry still on disk again.
func TestCorruptCursorIsRefused(t *testing.T) {
	dir := t.TempDir()
	all := ackedSpool(t, dir, 40, 25)
	path := filepath.Join(dir, ackFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(good) != string(encodeCursor(25)) {
		t.Fatalf("cursor %q, want %q", good, encodeCursor(25))
	}
	for i := range len(good) - 1 { // the final newline is trimmed
		bad := []byte(string(good))
		bad[i] ^= 0x04 // at i = 3, "25" becomes "65"
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) { openRefused(t, dir, "") })
	}
	if err := os.WriteFile(path, []byte("v2 31 crc32c=0228c6e3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	openRefused(t, dir, "checksum mismatch")

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, Options{SegmentBytes: 4096})
	if d := cmp.Diff(all[2*s.segs[0].first-2:], ids(readAll(t, s))); d != "" {
		t.Fatalf("without the cursor (-every entry on disk +read):\n%s", d)
	}
}

// A cursor copied from another spool, above every entry of this one, is refused, even
// with a good checksum, and so is one in the format of earlier versions; nothing is
// skipped, and a torn tail is not even cut. Deleting it replays everything.
func TestCursorAboveEveryEntryIsRefused(t *testing.T) {
	root := t.TempDir()
	mine, other := filepath.Join(root, "mine"), filepath.Join(root, "other")
	all := ackedSpool(t, mine, 3, 0)
	ackedSpool(t, other, 50, 50)
	seg := segFiles(t, mine)[0]
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("a torn write"))
	f.Close()
	copied, err := os.ReadFile(filepath.Join(other, ackFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, cursor := range []string{string(copied), "50\n", "4\n"} {
		if err := os.WriteFile(filepath.Join(mine, ackFile), []byte(cursor), 0o600); err != nil {
			t.Fatal(err)
		}
		n := strings.Fields(strings.TrimPrefix(cursor, "v2 "))[0]
		openRefused(t, mine, "it says entries through "+n+" reached Kafka, but the spool's entries end at 3")
	}
	// 3 is the last entry: everything acknowledged, nothing hidden.
	if err := os.WriteFile(filepath.Join(mine, ackFile), []byte("3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, mine, Options{})
	if st := s.Stats(); st.Entries != 0 {
		t.Fatalf("with the cursor at the last entry: %+v", st)
	}
	s.Close()
	os.Remove(filepath.Join(mine, ackFile))
	s = open(t, mine, Options{})
	if d := cmp.Diff(all, ids(readAll(t, s))); d != "" {
		t.Fatalf("without the cursor (-appended +read):\n%s", d)
	}

	// A spool without segments has nothing a cursor could stand for.
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o700)
	os.WriteFile(filepath.Join(empty, ackFile), copied, 0o600)
	openRefused(t, empty, "it says entries through 50 reached Kafka, but the spool holds no entries")
}

// A cursor at the end of a spool whose newest segment is empty (rotated, then nothing
// written; its predecessors deleted) stands for entries below the segment's name: it
// is trusted, and the sequence numbers go on from there.
func TestCursorAtAnEmptyNewestSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxBytes: 8192, SegmentBytes: 4096}
	s := open(t, dir, opts)
	for i := 0; s.segs[0].size < opts.SegmentBytes; i++ {
		mustAppend(t, s, events(1, fmt.Sprint("r", i)))
	}
	if err := s.Append(context.Background(), incompressible(8192)); err != ErrFull {
		t.Fatalf("big append: %v, want ErrFull", err)
	}
	recs := readAll(t, s)
	for _, r := range recs {
		s.Ack(r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	last := recs[len(recs)-1].Seq
	files := segFiles(t, dir)
	if len(files) != 1 || filepath.Base(files[0]) != segmentName(last+1) {
		t.Fatalf("segments %v, want only the empty %s", files, segmentName(last+1))
	}
	core, logs := observer.New(zapcore.DebugLevel)
	s = open(t, dir, Options{Log: zap.New(core)})
	if st := s.Stats(); st.Entries != 0 || s.wseq != last+1 {
		t.Fatalf("reopened: %+v, next seq %d, want nothing pending and %d", st, s.wseq, last+1)
	}
	if n := logs.Len(); n != 1 {
		t.Fatalf("reopening logged %d lines, want one: %+v", n, logs.All())
	}
	s.Close()
	os.WriteFile(filepath.Join(dir, ackFile), encodeCursor(last+1), 0o600)
	openRefused(t, dir, fmt.Sprintf("it says entries through %d reached Kafka, but the spool's entries end at %d", last+1, last))
}

// A spool the previous version left on a volume, its cursor a bare number, opens with
// that cursor; the next save writes the checksummed format, which the reopened spool
// reads.
func TestOldCursorIsRead(t *testing.T) {
	dir := copySegment(t, "testdata/v3")
	// What versions before the checksum wrote: strconv.FormatUint(acked, 10) + "\n".
	if err := os.WriteFile(filepath.Join(dir, ackFile), []byte("1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, Options{})
	entries := readAll(t, s)
	if len(entries) != 1 || entries[0].Seq != 2 || s.Stats().Entries != 1 {
		t.Fatalf("with the old cursor at 1: read %d entries (first seq %v), %+v; want entry 2 only", len(entries), seqs(entries), s.Stats())
	}
	s.Ack(entries[0])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ackFile)); string(b) != string(encodeCursor(2)) {
		t.Fatalf("saved cursor %q, want %q", b, encodeCursor(2))
	}
	s = open(t, dir, Options{})
	if st := s.Stats(); st.Entries != 0 || len(readAll(t, s)) != 0 {
		t.Fatalf("after the new cursor: %+v", st)
	}
}

func seqs(entries []Entry) []uint64 {
	var out []uint64
	for _, e := range entries {
		out = append(out, e.Seq)
	}
	return out
}
