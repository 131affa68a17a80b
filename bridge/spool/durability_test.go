package spool

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/imbridge/imbridge/bridge"
)

// crash ends s as a SIGKILL would: no cursor saved, files and lock dropped.
func crash(s *Spool) {
	s.appendMu.Lock()
	s.closing = true
	s.appendMu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	close(s.stop)
	s.writerWG.Wait()
	s.rmu.Lock()
	s.closeReader()
	s.rmu.Unlock()
	s.active.Close()
	s.lock.release()
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// A second Open of a directory in use fails at once, naming the directory and the
// holder's PID, and touches nothing: the first spool's records and files stay.
func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	mustAppend(t, s, events(3, "a"))
	before, _ := os.Stat(segFiles(t, dir)[0])
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second Open: %v; want ErrLocked naming %s and pid %d", err, dir, os.Getpid())
	}
	after, _ := os.Stat(segFiles(t, dir)[0])
	if after.Size() != before.Size() || after.Size() == 0 {
		t.Fatalf("segment went from %d to %d bytes", before.Size(), after.Size())
	}
	mustAppend(t, s, events(1, "b"))
	if got := ids(readAll(t, s)); !cmp.Equal(got, []string{"a-0", "a-1", "a-2", "b-0"}) {
		t.Fatalf("first spool reads %v", got)
	}
	// The lock is the kernel's: after Close (or the process's end) a new Open works.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, Options{})
	if st := s2.Stats(); st.Entries != 2 {
		t.Fatalf("after reopening: %+v", st)
	}
}

// TestLockHelperProcess is run as a separate process by TestSecondProcessIsRefused.
func TestLockHelperProcess(t *testing.T) {
	dir := os.Getenv("SPOOL_LOCK_HELPER_DIR")
	if dir == "" {
		return // only as a helper process
	}
	_, err := Open(dir, Options{})
	fmt.Fprintf(os.Stderr, "helper open: %v\n", err)
	if err == nil {
		os.Exit(0)
	}
	os.Exit(3)
}

// The lock holds across processes, as two imbridge instances on one volume are.
func TestSecondProcessIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	mustAppend(t, s, events(2, "a"))
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLockHelperProcess$")
	cmd.Env = append(os.Environ(), "SPOOL_LOCK_HELPER_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "in use by another process") {
		t.Fatalf("second process: %v\n%s", err, out)
	}
	if got := ids(readAll(t, s)); len(got) != 2 {
		t.Fatalf("first spool reads %v", got)
	}
}

// A clean restart, with records acknowledged and some pending, reports one INFO line
// and nothing louder; the pending records are all there.
func TestCleanRestartIsQuiet(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 4096})
	for i := 0; i < 60; i++ {
		mustAppend(t, s, events(2, fmt.Sprint("r", i)))
	}
	recs := readAll(t, s)
	for _, r := range recs[:45] {
		s.Ack(r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 2; round++ {
		core, logs := observer.New(zapcore.DebugLevel)
		s := open(t, dir, Options{SegmentBytes: 4096, Log: zap.New(core)})
		if st := s.Stats(); st.Entries != 15 {
			t.Fatalf("round %d: %d entries pending, want 15", round, st.Entries)
		}
		if got := readAll(t, s); len(got) != 15 || ids(got)[0] != "r45-0" {
			t.Fatalf("round %d: read %d records", round, len(got))
		}
		entries := logs.All()
		if len(entries) != 1 || entries[0].Level != zapcore.InfoLevel || entries[0].Message != "spool opened" {
			t.Fatalf("round %d: recovery logged %+v, want one INFO line", round, entries)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// An empty newest segment (rotated, then nothing fit), its predecessors deleted, and
// the cursor lost in a crash: sequence numbers still go on from the newest segment's
// name, and nothing written afterwards is lost over two more restarts.
func TestSequenceNumbersNeverGoBack(t *testing.T) {
	dir := t.TempDir()
	opts := Options{MaxBytes: 8192, SegmentBytes: 4096}
	s := open(t, dir, opts)
	for i := 0; s.segs[0].size < opts.SegmentBytes; i++ {
		mustAppend(t, s, events(1, fmt.Sprint("r", i)))
	}
	// The segment is full: the next append rotates, then finds no room for its record.
	if err := s.Append(context.Background(), incompressible(8192)); err != ErrFull {
		t.Fatalf("big append: %v, want ErrFull", err)
	}
	recs := readAll(t, s)
	for _, r := range recs {
		s.Ack(r)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("%d segments left, want the empty newest one", len(files))
	}
	if fi, _ := os.Stat(files[0]); fi.Size() != 0 {
		t.Fatalf("newest segment holds %d bytes, want an empty one", fi.Size())
	}
	newest := recs[len(recs)-1].Seq + 1
	crash(s)
	os.Remove(filepath.Join(dir, ackFile)) // the cursor was not saved before the crash

	var want []string
	opts.MaxBytes = 1 << 20 // nothing is acknowledged from here on
	for round := 0; round < 3; round++ {
		s := open(t, dir, opts)
		if s.wseq < newest {
			t.Fatalf("round %d: next seq %d, below the newest segment %d", round, s.wseq, newest)
		}
		got := readAll(t, s)
		if d := cmp.Diff(want, ids(got)); d != "" {
			t.Fatalf("round %d: records after restart (-want +got):\n%s", round, d)
		}
		for i := 0; i < 6; i++ { // several rotations
			evs := events(2, fmt.Sprintf("n%d-%d", round, i))
			mustAppend(t, s, evs)
			want = append(want, evs[0].ID, evs[1].ID)
		}
		crash(s)
	}
}

// Append during and after Close returns ErrClosed at once; none hangs.
func TestAppendDuringAndAfterClose(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for j := 0; j < 20; j++ {
				if err := s.Append(context.Background(), bridge.Records(events(1, "x"))); err != nil && err != ErrClosed {
					t.Errorf("Append: %v", err)
				}
			}
		}()
	}
	close(start)
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Append calls hang after Close")
	}
	if err := s.Append(context.Background(), bridge.Records(events(1, "late"))); err != ErrClosed {
		t.Fatalf("Append after Close: %v", err)
	}
}

// Close while a reader waits in Next, and while it reads: the reader returns
// ErrClosed and the race detector finds nothing.
func TestCloseWithReader(t *testing.T) {
	for round := 0; round < 20; round++ {
		s := open(t, t.TempDir(), Options{})
		for i := 0; i < 20; i++ {
			mustAppend(t, s, events(3, "r"))
		}
		done := make(chan error, 1)
		go func() {
			for {
				_, _, err := s.Next(context.Background(), true)
				if err != nil {
					done <- err
					return
				}
			}
		}()
		time.Sleep(time.Duration(round%3) * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != ErrClosed {
			t.Fatalf("Next after Close: %v", err)
		}
	}
}

// Close while a forwarder runs, Kafka taking records and appends going on, as a process
// that closes its spool without stopping the forwarder first: the forwarder returns,
// the race detector finds nothing, and after a restart every appended entry is either
// published or still pending. Closing under a running forwarder costs duplicates at
// most (acknowledgements that came after Close's Flush), never an entry.
func TestCloseUnderRunningForwarder(t *testing.T) {
	for round := 0; round < 30; round++ {
		dir := t.TempDir()
		s := open(t, dir, Options{SegmentBytes: 4096})
		if round%2 == 1 {
			s.mu.Lock()
			s.memMax = 1 // the forwarder reads from disk while the spool closes
			s.mu.Unlock()
		}
		pub := &fakePublisher{}
		f := NewForwarder(s, pub, ForwarderConfig{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}, zap.NewNop())
		ran := make(chan error, 1)
		go func() { ran <- f.Run(context.Background()) }()
		var appended []string
		appending := make(chan struct{})
		go func() {
			defer close(appending)
			for i := 0; ; i++ {
				evs := events(2, fmt.Sprintf("r%d-", i))
				if err := s.Append(context.Background(), bridge.Records(evs)); err != nil {
					if err != ErrClosed {
						t.Errorf("Append: %v", err)
					}
					return
				}
				appended = append(appended, evs[0].ID, evs[1].ID)
			}
		}()
		time.Sleep(time.Duration(2+round) * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		<-appending
		select {
		case err := <-ran:
			if err != nil {
				t.Fatalf("round %d: Run: %v", round, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the forwarder still runs after Close", round)
		}
		s = open(t, dir, Options{SegmentBytes: 4096})
		have := map[string]bool{}
		for _, r := range pub.published() {
			have[r.ID] = true
		}
		for _, id := range ids(readAll(t, s)) {
			have[id] = true
		}
		for _, id := range appended {
			if !have[id] {
				t.Fatalf("round %d: %s was appended, and after the restart it is neither published nor pending (%d appended, %d published)",
					round, id, len(appended), len(pub.published()))
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A record whose checksum is right but whose payload does not decode is reported and
// acknowledged, so that the pending count reaches zero instead of a drain waiting
// for it.
func TestUndecodableRecordIsAcknowledged(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	mustAppend(t, s, events(1, "before"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	seg := segFiles(t, dir)[0]
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var hdr [headerSize]byte
	payload := []byte{99, 1, 2, 3} // an unknown payload version
	putHeader(&hdr, payload, 2, 0)
	f.Write(append(hdr[:], payload...))
	f.Close()

	log, logs := observed()
	s2 := open(t, dir, Options{Log: log})
	mustAppend(t, s2, events(1, "after"))
	pub := &fakePublisher{}
	runForwarder(t, s2, pub, ForwarderConfig{})
	waitFor(t, "every record acknowledged", func() bool { return s2.Stats().Entries == 0 })
	if got := perKey(pub.published()); !cmp.Equal(got["from-before"], []string{"before-0"}) || !cmp.Equal(got["from-after"], []string{"after-0"}) {
		t.Fatalf("published %v", got)
	}
	if logs.FilterMessageSnippet("cannot be decoded").Len() != 1 {
		t.Fatal("the undecodable entry was not reported")
	}
}

// mountTmpfs mounts a tmpfs of size bytes (the tests run as root).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs (the full-disk tests need root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// logLines returns the level and message of every line logs holds.
func logLines(logs *observer.ObservedLogs) []string {
	var out []string
	for _, e := range logs.All() {
		out = append(out, e.Level.String()+" "+e.Message)
	}
	return out
}

// A full disk is an outage that ends by itself. Appends fail with the cause and Err
// reports it; a failed write is cut back to the segment's last committed byte, so that
// a restart on the still full disk finds no torn tail and exactly the acknowledged
// entries, read back from disk. Once the forwarder drains the spool and space is
// freed, the spool takes appends again without a restart; with a tiny in-memory
// hand-over the reader gets those from disk too. Nothing acknowledged is lost, nothing
// refused is published, and a last restart is quiet.
func TestFullDiskHeals(t *testing.T) {
	dir := filepath.Join(mountTmpfs(t, 512<<10), "spool")
	opts := Options{MaxBytes: 1 << 30} // far above the disk
	s := open(t, dir, opts)
	var acked []string
	var entries int // acknowledged entries not yet published
	fill := func(tag string) error {
		for i := 0; i < 10000; i++ {
			evs := events(20, fmt.Sprint(tag, i))
			if err := s.Append(context.Background(), bridge.Records(evs)); err != nil {
				return err
			}
			for _, e := range evs {
				acked = append(acked, e.ID)
			}
			entries++
		}
		return nil
	}
	werr := fill("r")
	var we *WriteError
	if !errors.As(werr, &we) || we.Cause() != syscall.ENOSPC.Error() {
		t.Fatalf("append on a full disk: %v, want a WriteError for ENOSPC", werr)
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("Err on a full disk: %v", err)
	}
	if err := s.Live(); err != nil {
		t.Fatalf("a full disk is not fatal: %v", err)
	}
	time.Sleep(3 * retryInterval) // retries on a still full disk keep failing
	if s.Err() == nil {
		t.Fatal("Err cleared while the disk is still full")
	}

	// A crash on the full disk, after the retries: the segment ends at the last
	// committed byte, and a restart reads every acknowledged entry back from disk.
	crash(s)
	if s.needRepair {
		t.Fatal("no retry repaired the segment after the failed write")
	}
	seg := s.segs[len(s.segs)-1]
	fi, err := os.Stat(seg.path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != seg.size {
		t.Fatalf("after the failed write and its repair %s holds %d bytes, want the %d committed ones", seg.path, fi.Size(), seg.size)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	opts.Log = zap.New(core)
	s = open(t, dir, opts)
	if d := cmp.Diff([]string{"info spool opened"}, logLines(logs)); d != "" {
		t.Fatalf("the restart on the full disk logged (-want +got):\n%s", d)
	}
	if st := s.Stats(); st.Entries != int64(entries) {
		t.Fatalf("after the restart %d entries are pending, want the %d acknowledged ones", st.Entries, entries)
	}
	s.mu.Lock()
	s.memMax = 1 // every entry goes through the disk
	s.mu.Unlock()
	pub := &fakePublisher{}
	f := NewForwarder(s, pub, ForwarderConfig{BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond}, zap.NewNop())
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	defer func() { stop(); <-done }()

	// The restarted spool learns that the disk is full from its next write; its
	// forwarder frees the room.
	werr = fill("s")
	if !errors.As(werr, &we) || we.Cause() != syscall.ENOSPC.Error() {
		t.Fatalf("append after the restart on the full disk: %v, want a WriteError for ENOSPC", werr)
	}
	waitFor(t, "the spool to take appends again", func() bool { return s.Err() == nil })
	for i := 0; i < 5; i++ {
		evs := events(2, fmt.Sprint("after", i))
		mustAppend(t, s, evs)
		acked = append(acked, evs[0].ID, evs[1].ID)
		entries++
	}
	waitFor(t, "everything published", func() bool { return len(pub.published()) >= len(acked) })
	stop()
	<-done
	var got []string
	for _, e := range pub.published() {
		got = append(got, e.ID)
	}
	if d := cmp.Diff(acked, got); d != "" {
		t.Fatalf("published (-acknowledged +got):\n%s", d)
	}
	if s.diskReads != int64(entries) {
		t.Fatalf("the reader read %d entries from disk, want all %d since the restart", s.diskReads, entries)
	}
	if logs.FilterMessage("spool writes again").Len() == 0 {
		t.Fatal("recovery was not logged")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	core, logs = observer.New(zapcore.DebugLevel)
	opts.Log = zap.New(core)
	s = open(t, dir, opts)
	if d := cmp.Diff([]string{"info spool opened"}, logLines(logs)); d != "" {
		t.Fatalf("the last restart logged (-want +got):\n%s", d)
	}
	if st := s.Stats(); st.Entries != 0 {
		t.Fatalf("after the last restart: %+v, want nothing pending", st)
	}
}

// A failed read (here: a sealed segment missing for a while) does not end the
// forwarder: Health reports it, and once the file is back every record is published
// in order, none skipped.
func TestForwarderSurvivesReadErrors(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 4096})
	var want []string
	for i := 0; i < 40; i++ {
		evs := events(2, fmt.Sprint("r", i))
		mustAppend(t, s, evs)
		want = append(want, evs[0].ID, evs[1].ID)
	}
	// After a restart the reader reads from disk (entries appended since come from
	// memory).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, Options{SegmentBytes: 4096})
	files := segFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("%d segments", len(files))
	}
	hidden := files[1] + ".away"
	if err := os.Rename(files[1], hidden); err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	f := runForwarder(t, s, pub, ForwarderConfig{})
	waitFor(t, "Health to report the read error", func() bool {
		err := f.Health()
		return err != nil && strings.Contains(err.Error(), "cannot read the spool")
	})
	if err := os.Rename(hidden, files[1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "everything published", func() bool { return len(pub.published()) == len(want) })
	var got []string
	for _, e := range pub.published() {
		got = append(got, e.ID)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("published (-want +got):\n%s", d)
	}
	waitFor(t, "Health to clear", func() bool { return f.Health() == nil })
}

// failingPublisher fails every call with a retryable error.
type failingPublisher struct{ fakePublisher }

func (p *failingPublisher) Publish(context.Context, []bridge.Record) error {
	return errors.New("dial tcp 127.0.0.1:9: connection refused")
}

// With a backlog and Kafka failing, Health reports Kafka unreachable after
// UnreachableAfter although every retry is a publish attempt.
func TestHealthDuringOutageWithBacklog(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	for i := 0; i < 20; i++ {
		mustAppend(t, s, events(3, fmt.Sprint("r", i)))
	}
	f := runForwarder(t, s, &failingPublisher{}, ForwarderConfig{UnreachableAfter: 300 * time.Millisecond})
	waitFor(t, "Health to report the outage", func() bool {
		err := f.Health()
		return err != nil && strings.Contains(err.Error(), "kafka has been failing") && strings.Contains(err.Error(), "connection refused")
	})
}

// Entries committed while the reader keeps up reach it from memory, without a read of
// the disk; a reader that fell behind by more than the memory queue holds reads the
// disk until it reaches what memory holds, and nothing is lost or repeated.
func TestReaderFromMemoryAndDisk(t *testing.T) {
	s := open(t, t.TempDir(), Options{SegmentBytes: 8192})
	var want []string
	appendN := func(n int, tag string) {
		for i := 0; i < n; i++ {
			evs := events(2, fmt.Sprintf("%s%d", tag, i))
			mustAppend(t, s, evs)
			want = append(want, evs[0].ID, evs[1].ID)
		}
	}
	var got []string
	read := func() { got = append(got, ids(readAll(t, s))...) }
	for i := 0; i < 20; i++ { // the reader keeps up
		appendN(3, fmt.Sprintf("k%d-", i))
		read()
	}
	if s.diskReads != 0 {
		t.Fatalf("the reader read %d entries back from disk while keeping up", s.diskReads)
	}
	s.mu.Lock()
	s.memMax = 4096
	s.mu.Unlock()
	appendN(40, "behind") // several segments, far over the memory queue
	appendN(1, "last")
	read()
	if s.diskReads == 0 {
		t.Fatal("a reader that fell behind read nothing from disk")
	}
	before := s.diskReads
	for i := 0; i < 5; i++ {
		appendN(1, fmt.Sprintf("again%d-", i))
		read()
	}
	if s.diskReads != before {
		t.Fatalf("after catching up the reader read %d entries from disk", s.diskReads-before)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("read (-appended +read):\n%s", d)
	}
}

// A spool whose directory was deleted under it (a volume wiped) touches nothing of the
// spool a new process opens at the same path: its Flush neither writes the cursor nor
// deletes segments there.
func TestDeletedDirectoryLeavesTheNextSpoolAlone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	a := open(t, dir, Options{SegmentBytes: 4096})
	for i := 0; i < 30; i++ {
		mustAppend(t, a, events(3, fmt.Sprint("a", i)))
	}
	for _, e := range readAll(t, a) {
		a.Ack(e)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := a.Live(); err == nil {
		t.Fatal("Live does not report the deleted directory")
	}
	b := open(t, dir, Options{SegmentBytes: 4096})
	for i := 0; i < 30; i++ {
		mustAppend(t, b, events(3, fmt.Sprint("b", i)))
	}
	before := segFiles(t, dir)
	if err := a.Flush(); err == nil {
		t.Fatal("Flush of the spool that lost its directory succeeded")
	}
	a.Close()
	if after := segFiles(t, dir); !cmp.Equal(before, after) {
		t.Fatalf("the new spool's segments went from %v to %v", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, ackFile)); !os.IsNotExist(err) {
		t.Fatalf("the old spool wrote a cursor into the new one: %v", err)
	}
	b.Close()
	b2 := open(t, dir, Options{SegmentBytes: 4096})
	if got := len(readAll(t, b2)); got != 30 {
		t.Fatalf("the new spool acknowledged 30 callbacks; %d are left to publish", got)
	}
}

// A failed write whose bytes cannot be cut off (fdatasync and ftruncate fail, here on
// a pipe put behind the segment's descriptor) leaves its segment behind; the records
// acknowledged afterwards get sequence numbers of their own and survive a restart.
func TestFailedRepairDoesNotReuseSequenceNumbers(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	mustAppend(t, s, events(1, "ok0"))
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	armed := true
	s.syncHook = func() { // the batch is written; fdatasync and ftruncate now fail
		if armed {
			armed = false
			if err := syscall.Dup2(p[0], int(s.active.Fd())); err != nil {
				t.Error(err)
			}
		}
	}
	if err := s.Append(context.Background(), bridge.Records(events(1, "failed"))); err == nil {
		t.Fatal("the failing append succeeded")
	}
	var acked []string
	for i := 0; i < 5; i++ {
		evs := events(1, fmt.Sprint("later", i))
		deadline := time.Now().Add(10 * time.Second)
		for s.Append(context.Background(), bridge.Records(evs)) != nil {
			if time.Now().After(deadline) {
				t.Fatal("the spool does not take appends again")
			}
			time.Sleep(10 * time.Millisecond)
		}
		acked = append(acked, evs[0].ID)
	}
	s.Close()
	s2 := open(t, dir, Options{})
	got := ids(readAll(t, s2))
	for _, id := range append([]string{"ok0-0"}, acked...) {
		if !slices.Contains(got, id) {
			t.Fatalf("acknowledged %s lost after the restart (read %v)", id, got)
		}
	}
}

// Counts in a payload that passes the checksum but is corrupt cannot make the decoder
// allocate far more than the payload.
func TestDecodeBoundsCounts(t *testing.T) {
	const n = 1 << 20
	for _, b := range [][]byte{
		append(binary.AppendUvarint([]byte{payloadVersion}, n), make([]byte, n)...),
		append(binary.AppendUvarint([]byte{payloadVersion, 1, 0, 0}, n), make([]byte, n)...),
	} {
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		_, err := decodeRecords(b)
		runtime.ReadMemStats(&m1)
		if err == nil {
			t.Fatal("a corrupt payload decoded")
		}
		if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > 16*uint64(len(b)) {
			t.Fatalf("decoding a %d-byte payload allocated %d bytes", len(b), alloc)
		}
	}
}
