package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// segmentBytes sums the sizes of dir's segment files and counts them.
func segmentBytes(t *testing.T, dir string) (int, int64) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return len(names), n
}

// ReadStatus beside the spool's owner says what the owner's Stats say, and that it is
// held by this process; after Close, that it is free; a torn tail, a refused cursor and
// a directory that is no spool are told as such.
func TestReadStatus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	var (
		mu    sync.Mutex
		clock = time.UnixMilli(1767322800123)
	)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Second)
		return clock
	}
	s := open(t, dir, Options{SegmentBytes: 4096, Now: now})
	for i := range 40 {
		mustAppend(t, s, events(3, fmt.Sprint("c", i)))
	}
	got := readAll(t, s)
	for _, e := range got[:25] {
		s.Ack(e)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	stats := s.Stats()
	segs, segBytes := segmentBytes(t, dir)
	if segs < 3 {
		t.Fatalf("%d segments: the test wants several", segs)
	}
	want := Status{Dir: dir, Entries: 15, Records: 45, Bytes: stats.Bytes, Oldest: got[25].Appended,
		Segments: segs, SegmentBytes: segBytes, Acknowledged: got[24].Seq, Last: got[39].Seq,
		Locked: true, HolderPID: os.Getpid(), LockKnown: true}
	if stats.Entries != 15 || stats.Records != 45 || !stats.Oldest.Equal(want.Oldest) || stats.Segments != segs {
		t.Fatalf("Stats %+v: not what the test wants to compare with", stats)
	}
	st, err := ReadStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatalf("ReadStatus of a live spool (-want +got):\n%s", d)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want.Locked = false
	if st, err = ReadStatus(dir); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatalf("ReadStatus of a closed spool (-want +got):\n%s", d)
	}

	// A torn tail: bytes that are no whole entry at the end of the newest segment.
	names, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.OpenFile(names[len(names)-1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("IMB1 half an entry")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want.Partial, want.SegmentBytes = 18, segBytes+18
	if st, err = ReadStatus(dir); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, st); d != "" {
		t.Fatalf("ReadStatus with a torn tail (-want +got):\n%s", d)
	}

	// A cursor Open would refuse: every entry counts, and the reason is told.
	if err := os.WriteFile(filepath.Join(dir, ackFile), []byte("v2 25 crc32c=00000000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, err = ReadStatus(dir); err != nil {
		t.Fatal(err)
	}
	if st.CursorErr == "" || st.Acknowledged != 0 || st.Entries != 40-countReclaimed(got, dir, t) {
		t.Fatalf("ReadStatus with a damaged cursor: %+v", st)
	}

	if _, err := ReadStatus(t.TempDir()); !errors.Is(err, ErrNotSpool) {
		t.Fatalf("ReadStatus of an empty directory: %v, want ErrNotSpool", err)
	}
	if _, err := ReadStatus(filepath.Join(dir, "nonexistent")); err == nil {
		t.Fatal("ReadStatus of a missing directory: no error")
	}
}

// countReclaimed is how many of entries are in no segment file any more (deleted once
// acknowledged).
func countReclaimed(entries []Entry, dir string, t *testing.T) int64 {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	var first uint64
	if _, err := fmt.Sscanf(filepath.Base(names[0]), "%d.seg", &first); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		if e.Seq < first {
			n++
		}
	}
	return n
}
