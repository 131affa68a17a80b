package spool

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/imbridge/imbridge/bridge"
)

func events(n int, tag string) []bridge.Event {
	out := make([]bridge.Event, n)
	for i := range out {
		out[i] = bridge.Event{
			Topic: "t", Type: "imbridge.blocklist.removed.v1", Source: "urn:tencent-im:sdkappid:1",
			Time: time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC), ID: fmt.Sprintf("%s-%d", tag, i), SDKAppID: 1400187352,
			CallbackCommand: bridge.CommandBlackListDelete, Subject: bridge.PairSubject("from-"+tag, fmt.Sprintf("to-%d", i)),
			ReceivedAt: "2026-01-02T03:04:05.006Z", ClientIP: "127.0.0.1", OptPlatform: "iOS", RequestTime: 1767322800, EventTime: 1767322800123,
		}
	}
	return out
}

// incompressible returns the records of a callback whose one record's value is n
// random bytes: its entry takes n bytes and more on disk.
func incompressible(n int) []bridge.Record {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(rand.Uint32())
	}
	return []bridge.Record{{Topic: "t", Key: []byte("k"), Value: v}}
}

func open(t *testing.T, dir string, opts Options) *Spool {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAppend(t *testing.T, s *Spool, evs []bridge.Event) {
	t.Helper()
	if err := s.Append(context.Background(), bridge.Records(evs)); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// readAll returns every record Next has now, without waiting.
func readAll(t *testing.T, s *Spool) []Entry {
	t.Helper()
	var out []Entry
	for {
		rec, ok, err := s.Next(context.Background(), false)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if !ok {
			return out
		}
		out = append(out, rec)
	}
}

func ids(entries []Entry) []string {
	var out []string
	for _, e := range entries {
		for _, r := range e.Records {
			out = append(out, string(r.HeaderValue(bridge.HeaderID)))
		}
	}
	return out
}

func TestCodecRoundTrip(t *testing.T) {
	in := bridge.Records(events(3, "a"))
	in[1] = in[1].DeadLetter("dlq", "too large", 0)
	in[2].Key = nil
	out, err := decodeRecords(encodeRecords(nil, in))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, out, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("round trip (-in +out):\n%s", d)
	}
	full := encodeRecords(nil, in)
	for cut := 1; cut < len(full); cut += 7 {
		if _, err := decodeRecords(full[:cut]); err == nil {
			t.Fatalf("a payload cut at %d of %d bytes decoded", cut, len(full))
		}
	}
	if n := len(full); n > payloadSize(in) {
		t.Fatalf("payload of %d bytes, over payloadSize %d", n, payloadSize(in))
	}
}

// fixtureMessages reads what the records of a fixture spool must be, as Kafka messages.
func fixtureMessages(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func asMessages(entries []Entry) []map[string]any {
	var out []map[string]any
	for _, e := range entries {
		for _, r := range e.Records {
			hs := []any{}
			for _, h := range r.Headers {
				hs = append(hs, []any{h.Key, string(h.Value)})
			}
			out = append(out, map[string]any{"topic": r.Topic, "key": string(r.Key), "headers": hs, "value": string(r.Value)})
		}
	}
	return out
}

// writeFixtureMessages appends, with this version, the messages of v2.messages.json:
// two entries, a dead letter among their records.
func writeFixtureMessages(t *testing.T, s *Spool) {
	t.Helper()
	evs := events(3, "f")
	evs[1].Subject.Trailer = bridge.Fields("initiatorAccount", "init", "clientCmd", "friend_add", "adminAccount", "admin", "forceFlag", 1)
	evs[1].CallbackCommand, evs[1].Type = "Sns.CallbackFriendAdd", "imbridge.friend.added.v1"
	recs := bridge.Records(evs)
	recs[2] = recs[2].DeadLetter("dlq", "[3] Unknown Topic Or Partition", 0)
	if err := s.Append(context.Background(), recs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(context.Background(), recs[2:]); err != nil {
		t.Fatal(err)
	}
}

// copySegment copies the one segment of src into a new directory and returns it.
func copySegment(t *testing.T, src string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(src, "*.seg"))
	if len(files) != 1 {
		t.Fatalf("%d segments in %s", len(files), src)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(files[0])), b, 0o640); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Spools written by older versions (payload format 1 and 2, the events' fields; 3,
// the records as bytes, uncompressed) and by this one (4, format 3 compressed with S2)
// recover and give the same Kafka messages, byte for byte, dead letters included.
// testdata/vN holds a segment of format N, written by the version that wrote it, and
// vN.messages.json the messages it stands for (v3 stands for v2's messages).
func TestSegmentFormats(t *testing.T) {
	v4 := t.TempDir()
	s := open(t, v4, Options{})
	writeFixtureMessages(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, dir, want string
		format          byte
	}{
		{"v1", "testdata/v1", "testdata/v1.messages.json", 1},
		{"v2", "testdata/v2", "testdata/v2.messages.json", 2},
		{"v3", "testdata/v3", "testdata/v2.messages.json", 3},
		{"v4", v4, "testdata/v2.messages.json", payloadS2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := copySegment(t, tt.dir)
			b, err := os.ReadFile(segFiles(t, dir)[0])
			if err != nil {
				t.Fatal(err)
			}
			if b[headerSize] != tt.format {
				t.Fatalf("the segment's first payload has format %d, want %d", b[headerSize], tt.format)
			}
			s := open(t, dir, Options{})
			got := asMessages(readAll(t, s))
			if d := cmp.Diff(fixtureMessages(t, tt.want), got); d != "" {
				t.Fatalf("messages (-want +got):\n%s", d)
			}
		})
	}
}

// A spool the previous version left on a volume (format 3, uncompressed) takes this
// version's compressed entries behind its own in the same segment; after a restart the
// reader gets both from disk, in order, and a forwarder drains them all.
func TestUpgradeFromUncompressedSpool(t *testing.T) {
	dir := copySegment(t, "testdata/v3")
	old, err := os.ReadFile(segFiles(t, dir)[0])
	if err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, Options{})
	if st := s.Stats(); st.Entries != 2 || st.Records != 3 || st.Bytes != int64(len(old)) {
		t.Fatalf("the old spool opens with %+v, want 2 entries, 3 records, %d bytes", st, len(old))
	}
	writeFixtureMessages(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := segFiles(t, dir)
	b, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || b[headerSize] != 3 || b[len(old)+headerSize] != payloadS2 {
		t.Fatalf("%d segments; formats %d then %d, want one segment of 3 then %d", len(files), b[headerSize], b[len(old)+headerSize], payloadS2)
	}
	s = open(t, dir, Options{})
	if st := s.Stats(); st.Entries != 4 || st.Records != 6 || st.Bytes != int64(len(b)) {
		t.Fatalf("after the upgrade: %+v, want 4 entries, 6 records, %d bytes", st, len(b))
	}
	msgs := fixtureMessages(t, "testdata/v2.messages.json")
	entries := readAll(t, s)
	if d := cmp.Diff(append(msgs, msgs...), asMessages(entries)); d != "" {
		t.Fatalf("messages (-want +got):\n%s", d)
	}
	if s.diskReads != 4 {
		t.Fatalf("the reader read %d entries from disk, want all 4", s.diskReads)
	}
	for _, e := range entries {
		s.Ack(e)
	}
	if st := s.Stats(); st.Entries != 0 || st.Records != 0 || st.Bytes != 0 {
		t.Fatalf("after acknowledging everything: %+v", st)
	}
}

func TestAppendReadAckRestart(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	var want [][]bridge.Event
	for i := 0; i < 10; i++ {
		evs := events(i%3+1, fmt.Sprint("r", i))
		want = append(want, evs)
		mustAppend(t, s, evs)
	}
	recs := readAll(t, s)
	if len(recs) != 10 {
		t.Fatalf("read %d records, want 10", len(recs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		if d := cmp.Diff(bridge.Records(want[i]), r.Records); d != "" {
			t.Fatalf("record %d (-want +got):\n%s", i, d)
		}
	}
	if st := s.Stats(); st.Entries != 10 || st.Records != 19 {
		t.Fatalf("stats %+v, want 10 records of 19 events", st)
	}
	for _, r := range recs[:4] {
		s.Ack(r)
	}
	if st := s.Stats(); st.Entries != 6 {
		t.Fatalf("stats after 4 acks %+v, want 6 records", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := open(t, dir, Options{})
	if st := s2.Stats(); st.Entries != 6 || st.Records != 12 {
		t.Fatalf("stats after restart %+v, want 6 records of 12 events", st)
	}
	got := readAll(t, s2)
	if len(got) != 6 || got[0].Seq != 5 {
		t.Fatalf("after restart read %d records from seq %d, want 6 from 5", len(got), got[0].Seq)
	}
	for i, r := range got { // from disk, decompressed
		if d := cmp.Diff(bridge.Records(want[4+i]), r.Records); d != "" {
			t.Fatalf("record %d after restart (-want +got):\n%s", 4+i, d)
		}
	}
	mustAppend(t, s2, events(1, "new"))
	more := readAll(t, s2)
	if len(more) != 1 || more[0].Seq != 11 || ids(more)[0] != "new-0" {
		t.Fatalf("appended after restart: %+v", more)
	}
}

// Concurrent appends share fsyncs: with the writer held at its first fsync while 49
// more callbacks queue up, all 50 are committed by 2 fsyncs.
func TestGroupCommit(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	release, entered := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.syncHook = func() { once.Do(func() { close(entered); <-release }) }

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	wg.Add(1)
	go func() { defer wg.Done(); errs <- s.Append(context.Background(), bridge.Records(events(1, "first"))) }()
	<-entered // the writer holds the first record at its fsync
	for i := 0; i < 49; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Append(context.Background(), bridge.Records(events(1, fmt.Sprint("c", i))))
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(s.reqs) < 49 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d appends queued", len(s.reqs))
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Syncs != 2 || st.Entries != 50 {
		t.Fatalf("stats %+v, want 50 records in 2 fsyncs", st)
	}
}

func TestReclaimSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{SegmentBytes: 4096})
	for i := 0; i < 100; i++ {
		mustAppend(t, s, events(2, fmt.Sprint("r", i)))
	}
	segs := s.Stats().Segments
	if segs < 5 {
		t.Fatalf("%d segments, want several of 4 KiB", segs)
	}
	recs := readAll(t, s)
	if len(recs) != 100 {
		t.Fatalf("read %d records, want 100", len(recs))
	}
	for _, r := range recs {
		s.Ack(r)
	}
	if n, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(n) != segs {
		t.Fatalf("Ack deleted segments before the cursor was saved: %d files, want %d", len(n), segs)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, ackFile)); string(b) != string(encodeCursor(recs[99].Seq)) {
		t.Fatalf("cursor file holds %q, want %q", b, encodeCursor(recs[99].Seq))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if st := s.Stats(); st.Segments != 1 || len(files) != 1 || st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("after acking everything: %+v and %d files, want 1 segment, nothing pending", st, len(files))
	}
}

func TestFullAndRoomAgain(t *testing.T) {
	s := open(t, t.TempDir(), Options{MaxBytes: 8192})
	var n int
	var err error
	for ; n < 1000; n++ {
		if err = s.Append(context.Background(), bridge.Records(events(3, fmt.Sprint("r", n)))); err != nil {
			break
		}
	}
	if err != ErrFull || n == 0 {
		t.Fatalf("after %d appends: %v, want ErrFull", n, err)
	}
	if st := s.Stats(); st.Bytes > 8192 || st.Entries != int64(n) {
		t.Fatalf("stats %+v: over the limit or records lost", st)
	}
	recs := readAll(t, s)
	s.Ack(recs[0])
	if err := s.Append(context.Background(), bridge.Records(events(1, "again"))); err != nil {
		t.Fatalf("after an ack: %v", err)
	}
	if got := ids(readAll(t, s)); len(got) != 1 || got[0] != "again-0" {
		t.Fatalf("read %v", got)
	}
}

// writeSpool appends n records to a fresh spool in dir and returns the segment file
// and each record's start offset.
func writeSpool(t *testing.T, dir string, n int) (string, []int64) {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var offs []int64
	for i := 0; i < n; i++ {
		offs = append(offs, s.Stats().Bytes)
		mustAppend(t, s, events(2, fmt.Sprint("r", i)))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(files) != 1 {
		t.Fatalf("%d segments", len(files))
	}
	return files[0], offs
}

func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zap.InfoLevel)
	return zap.New(core), logs
}

// A crash mid-write leaves part of the last record: at every cut point, recovery keeps
// every complete record, drops the torn one, and the spool accepts appends again.
func TestTornTailAtEveryOffset(t *testing.T) {
	src := t.TempDir()
	seg, offs := writeSpool(t, src, 4)
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	last := offs[3]
	want := []string{"r0-0", "r0-1", "r1-0", "r1-1", "r2-0", "r2-1"}
	for cut := last + 1; cut < int64(len(full)); cut++ {
		dir := t.TempDir()
		path := filepath.Join(dir, filepath.Base(seg))
		if err := os.WriteFile(path, full[:cut], 0o640); err != nil {
			t.Fatal(err)
		}
		log, logs := observed()
		s, err := Open(dir, Options{Log: log})
		if err != nil {
			t.Fatalf("cut at %d: Open refused: %v", cut, err)
		}
		if got := ids(readAll(t, s)); !cmp.Equal(want, got) {
			t.Fatalf("cut at %d: read %v, want %v", cut, got, want)
		}
		if logs.FilterMessageSnippet("torn").Len() != 1 {
			t.Fatalf("cut at %d: the dropped tail was not logged", cut)
		}
		mustAppend(t, s, events(1, "after"))
		if got := ids(readAll(t, s)); !cmp.Equal([]string{"after-0"}, got) {
			t.Fatalf("cut at %d: after recovery read %v", cut, got)
		}
		s.Close()
		if fi, _ := os.Stat(path); fi.Size() <= last {
			t.Fatalf("cut at %d: segment is %d bytes", cut, fi.Size())
		}
	}
}

// A flipped bit anywhere in a middle record loses that record alone, loudly; the
// records before and after it are kept and nothing refuses to open.
func TestFlippedBits(t *testing.T) {
	src := t.TempDir()
	seg, offs := writeSpool(t, src, 5)
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	mid, end := offs[2], offs[3]
	for pos := mid; pos < end; pos += 3 {
		for _, bit := range []byte{0x01, 0x80} {
			b := append([]byte(nil), full...)
			b[pos] ^= bit
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), b, 0o640); err != nil {
				t.Fatal(err)
			}
			log, logs := observed()
			s, err := Open(dir, Options{Log: log})
			if err != nil {
				t.Fatalf("flip at %d: Open refused: %v", pos, err)
			}
			want := []string{"r0-0", "r0-1", "r1-0", "r1-1", "r3-0", "r3-1", "r4-0", "r4-1"}
			if got := ids(readAll(t, s)); !cmp.Equal(want, got) {
				t.Fatalf("flip %#x at %d: read %v, want %v", bit, pos, got, want)
			}
			if logs.FilterMessageSnippet("corrupt").Len() == 0 {
				t.Fatalf("flip at %d: corruption not reported", pos)
			}
			s.Close()
		}
	}
	// A flip in the last record is a corrupt tail: cut off, the rest kept.
	b := append([]byte(nil), full...)
	b[offs[4]+headerSize+3] ^= 0x10
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(seg)), b, 0o640); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, Options{})
	if got := ids(readAll(t, s)); len(got) != 8 || got[7] != "r3-1" {
		t.Fatalf("flip in the last record: read %v", got)
	}
}

func TestNextWaitsForAppend(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	got := make(chan Entry, 1)
	go func() {
		rec, ok, err := s.Next(context.Background(), true)
		if ok && err == nil {
			got <- rec
		}
		close(got)
	}()
	time.Sleep(20 * time.Millisecond)
	mustAppend(t, s, events(1, "late"))
	select {
	case rec := <-got:
		if ids([]Entry{rec})[0] != "late-0" {
			t.Fatalf("got %+v", rec)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not wake up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, ok, err := s.Next(ctx, true); ok || err != context.DeadlineExceeded {
		t.Fatalf("Next on an empty spool: ok %v err %v, want deadline", ok, err)
	}
}

// With MaxBytes 0 the limit is 80% of the size of the filesystem holding the
// directory (statfs), and the open log line says so; a MaxBytes set is kept.
func TestMaxBytesFromVolume(t *testing.T) {
	statfs := func(dir string) int64 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			t.Fatal(err)
		}
		return int64(st.Blocks) * st.Frsize
	}
	tmpfs := filepath.Join(mountTmpfs(t, 8<<20), "spool")
	temp := filepath.Join(t.TempDir(), "spool")
	for _, tt := range []struct {
		name     string
		dir      string
		give     int64
		want     int64
		wantFrom string
	}{
		{"tmpfs of 8 MiB", tmpfs, 0, 8 << 20 * 8 / 10, "volume"},
		{"temp dir", temp, 0, int64(0.8 * float64(statfs(filepath.Dir(temp)))), "volume"},
		{"set", t.TempDir(), 12345, 12345, "setting"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := observed()
			s := open(t, tt.dir, Options{MaxBytes: tt.give, Log: log})
			if got := s.MaxBytes(); got != tt.want {
				t.Fatalf("MaxBytes %d, want %d", got, tt.want)
			}
			opened := logs.FilterMessage("spool opened").All()
			if len(opened) != 1 {
				t.Fatalf("%d open lines", len(opened))
			}
			fields := opened[0].ContextMap()
			if fields["max_bytes"] != tt.want || fields["max_bytes_from"] != tt.wantFrom {
				t.Fatalf("open line %v, want max_bytes %d from %s", fields, tt.want, tt.wantFrom)
			}
			if vol, ok := fields["volume_bytes"]; ok != (tt.wantFrom == "volume") || ok && vol != statfs(tt.dir) {
				t.Fatalf("open line %v: volume_bytes, want %d", fields, statfs(tt.dir))
			}
		})
	}
}

// ObserveSync hears of every fsync that committed records, with its duration: as many
// as Stats.Syncs counts.
func TestObserveSync(t *testing.T) {
	var mu sync.Mutex
	var took []time.Duration
	s := open(t, t.TempDir(), Options{ObserveSync: func(d time.Duration) { mu.Lock(); took = append(took, d); mu.Unlock() }})
	for i := range 3 {
		if err := s.Append(context.Background(), bridge.Records(events(1, fmt.Sprint("o", i)))); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if syncs := s.Stats().Syncs; int64(len(took)) != syncs || syncs < 1 {
		t.Fatalf("%d fsyncs observed, %d counted", len(took), syncs)
	}
	for _, d := range took {
		if d <= 0 {
			t.Fatalf("an fsync of %v", d)
		}
	}
}
