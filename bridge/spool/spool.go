package spool

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// Record layout: a 28-byte header, then the payload.
//
//	magic   uint32  0x494d4231 ("IMB1"), to find the next record after corruption
//	crc     uint32  CRC-32C over length, seq, time and payload
//	length  uint32  payload length
//	seq     uint64  record sequence number, strictly increasing across segments
//	time    int64   append time, Unix milliseconds
const (
	magic      = 0x494d4231
	headerSize = 28
	// maxPayload bounds a record's claimed length, so a corrupt length field is
	// recognised as corruption instead of a huge read.
	maxPayload = 256 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Defaults of Options.
const (
	DefaultMaxBytes     = 1 << 30
	DefaultSegmentBytes = 64 << 20
)

// Options configure a Spool. Zero values take the defaults.
type Options struct {
	// MaxBytes bounds the bytes of records not yet acknowledged by Kafka; an Append
	// that would exceed it fails with ErrFull. Default DefaultMaxBytes (1 GiB).
	MaxBytes int64
	// SegmentBytes is the size at which the active segment file is closed and a new one
	// started; acknowledged segments are deleted whole. Default the smaller of
	// DefaultSegmentBytes (64 MiB) and MaxBytes/8, at least 4 KiB.
	SegmentBytes int64
	// Log receives recovery reports (dropped torn tails, skipped corrupt records).
	// Default: no logging.
	Log *zap.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = min(int64(DefaultSegmentBytes), o.MaxBytes/8)
	}
	o.SegmentBytes = max(o.SegmentBytes, 4096)
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// ErrFull is returned by Append when the spool holds MaxBytes of unacknowledged
// records. ErrClosed is returned by Append and Next after Close.
var (
	ErrFull   = errors.New("spool is full")
	ErrClosed = errors.New("spool is closed")
)

// Record is one appended callback: all of its events, read back in append order.
type Record struct {
	// Seq is the record's sequence number; Ack takes it.
	Seq uint64
	// Size is the record's size on disk, header included.
	Size int64
	// Appended is when the record was appended.
	Appended time.Time
	Events   []bridge.Event
}

// Stats describe what the spool holds.
type Stats struct {
	// Records, Events and Bytes count the records not yet acknowledged.
	Records int64
	Events  int64
	Bytes   int64
	// Oldest is the append time of the oldest unacknowledged record; zero if none.
	Oldest time.Time
	// Segments is the number of segment files on disk.
	Segments int
	// Syncs counts the fsyncs that committed records since Open.
	Syncs int64
}

type segment struct {
	first uint64 // seq of its first record (also its file name)
	path  string
	size  int64 // committed bytes: everything before it is fsync'd
}

type appendReq struct {
	payload []byte
	events  int
	done    chan error
}

// Spool is a durable, append-only log of callbacks, kept in segment files in one
// directory. Append is safe for concurrent use and returns only after the record is
// fsync'd; concurrent appends share one fsync (group commit). One reader (the
// forwarder) reads records in order with Next and acknowledges them with Ack; fully
// acknowledged segments are deleted.
type Spool struct {
	dir  string
	opts Options
	log  *zap.Logger

	reqs     chan appendReq
	stop     chan struct{}
	writerWG sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond // signalled when records are committed or the spool closes
	segs     []*segment // in seq order; the last is active
	acked    uint64     // highest acknowledged seq
	pending  int64      // records not yet acknowledged
	pendingB int64      // their bytes
	pendingE int64      // their events
	oldest   []pendingRecord
	broken   error // a failed write or fsync: the spool refuses appends
	closed   bool

	// writer state, owned by the writer goroutine
	active *os.File
	buf    *bufio.Writer
	wseq   uint64 // seq of the next record the writer writes

	// reader state, owned by the Next caller
	rseg  int // index into segs (adjusted on reclaim)
	rfile *os.File
	roff  int64
	rlast uint64 // seq of the last record returned
	// read-ahead buffer: bytes of the reader's segment from file offset rbufOff
	rbuf    []byte
	rbufOff int64

	ackDirty bool
	ackSaved uint64

	syncs    int64  // fsyncs of record data, for tests and metrics
	syncHook func() // tests: called before each fsync
}

type pendingRecord struct {
	seq uint64
	at  time.Time
}

// Open opens or creates the spool in dir, recovers it (see the package
// documentation) and starts its writer.
func Open(dir string, opts Options) (*Spool, error) {
	opts.setDefaults()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create spool directory: %w", err)
	}
	s := &Spool{dir: dir, opts: opts, log: opts.Log, reqs: make(chan appendReq, 1024), stop: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	if err := s.recover(); err != nil {
		return nil, err
	}
	if len(s.segs) == 0 {
		if err := s.newSegment(); err != nil {
			return nil, err
		}
	} else {
		last := s.segs[len(s.segs)-1]
		f, err := os.OpenFile(last.path, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("open spool segment: %w", err)
		}
		if _, err := f.Seek(last.size, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("seek spool segment: %w", err)
		}
		s.active = f
	}
	s.buf = bufio.NewWriterSize(s.active, 1<<20)
	s.writerWG.Add(1)
	go s.writer()
	return s, nil
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }

const ackFile = "ack"

// recover reads the acknowledgement cursor and scans every segment: it counts the
// unacknowledged records, cuts a torn or corrupt tail off the last segment, and reports
// corruption elsewhere. It never refuses to open because of what it finds in a segment.
func (s *Spool) recover() error {
	if b, err := os.ReadFile(filepath.Join(s.dir, ackFile)); err == nil {
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64); err == nil {
			s.acked = n
		} else {
			s.log.Warn("spool acknowledgement cursor unreadable; records still on disk will be published again", zap.Error(err))
		}
	}
	s.ackSaved = s.acked
	names, err := filepath.Glob(filepath.Join(s.dir, "*.seg"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	lastSeq := s.acked
	for i, name := range names {
		first, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".seg"), 10, 64)
		if err != nil {
			s.log.Warn("ignoring a file that is not a spool segment", zap.String("file", name))
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read spool segment: %w", err)
		}
		isLast := i == len(names)-1
		end := int64(0)
		scanRecords(b, lastSeq, func(off int64, h header) {
			if h.seq > s.acked {
				s.pending++
				s.pendingB += headerSize + int64(h.length)
				s.pendingE += eventCount(b[off+headerSize : off+headerSize+int64(h.length)])
				s.oldest = append(s.oldest, pendingRecord{h.seq, time.UnixMilli(h.time)})
			}
			lastSeq = h.seq
			end = off + headerSize + int64(h.length)
		}, func(from, to int64) {
			if to < int64(len(b)) || !isLast {
				s.log.Error("spool segment is corrupt: skipping bytes that held acknowledged records",
					zap.String("segment", name), zap.Int64("from", from), zap.Int64("to", to))
			}
		})
		if end < int64(len(b)) {
			if isLast {
				s.log.Warn("spool: cutting off a torn or corrupt tail (a write interrupted by a crash, never acknowledged)",
					zap.String("segment", name), zap.Int64("offset", end), zap.Int64("bytes", int64(len(b))-end))
				if err := os.Truncate(name, end); err != nil {
					return fmt.Errorf("truncate torn spool tail: %w", err)
				}
			}
		}
		size := int64(len(b))
		if isLast {
			size = end
		}
		s.segs = append(s.segs, &segment{first: first, path: name, size: size})
	}
	s.wseq = lastSeq + 1
	s.rlast = s.acked
	if s.pending > 0 {
		s.log.Info("spool recovered", zap.Int64("records", s.pending), zap.Int64("bytes", s.pendingB),
			zap.Int("segments", len(s.segs)), zap.Uint64("acknowledged_through", s.acked))
	}
	return nil
}

type header struct {
	length uint32
	seq    uint64
	time   int64
}

// parseAt returns the header of a valid record at off in b, whose seq is above
// after, and whether there is one.
func parseAt(b []byte, off int64, after uint64) (header, bool) {
	if off+headerSize > int64(len(b)) {
		return header{}, false
	}
	hb := b[off : off+headerSize]
	if binary.BigEndian.Uint32(hb[0:]) != magic {
		return header{}, false
	}
	h := header{
		length: binary.BigEndian.Uint32(hb[8:]),
		seq:    binary.BigEndian.Uint64(hb[12:]),
		time:   int64(binary.BigEndian.Uint64(hb[20:])),
	}
	if h.length > maxPayload || off+headerSize+int64(h.length) > int64(len(b)) || h.seq <= after {
		return header{}, false
	}
	crc := crc32.Update(0, crcTable, hb[8:])
	crc = crc32.Update(crc, crcTable, b[off+headerSize:off+headerSize+int64(h.length)])
	if crc != binary.BigEndian.Uint32(hb[4:]) {
		return header{}, false
	}
	return h, true
}

// scanRecords calls rec for every valid record in b, in order, and skipped for every
// run of bytes that holds no valid record (resynchronising on the next valid header).
func scanRecords(b []byte, after uint64, rec func(off int64, h header), skipped func(from, to int64)) {
	off := int64(0)
	for off < int64(len(b)) {
		if h, ok := parseAt(b, off, after); ok {
			rec(off, h)
			after = h.seq
			off += headerSize + int64(h.length)
			continue
		}
		next := nextValid(b, off+1, after)
		skipped(off, next)
		off = next
	}
}

// nextValid returns the offset of the next valid record at or after from, or len(b).
func nextValid(b []byte, from int64, after uint64) int64 {
	for off := from; off+headerSize <= int64(len(b)); off++ {
		if b[off] == byte(magic>>24) {
			if _, ok := parseAt(b, off, after); ok {
				return off
			}
		}
	}
	return int64(len(b))
}

func (s *Spool) newSegment() error {
	seg := &segment{first: s.wseq, path: filepath.Join(s.dir, segmentName(s.wseq))}
	f, err := os.OpenFile(seg.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("create spool segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	if s.active != nil {
		s.active.Close()
	}
	s.active = f
	if s.buf != nil {
		s.buf.Reset(f)
	}
	s.mu.Lock()
	s.segs = append(s.segs, seg)
	s.mu.Unlock()
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open spool directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync spool directory: %w", err)
	}
	return nil
}

// Append stores events as one record and returns once it is on disk (fsync'd), or an
// error: ErrFull when the spool holds MaxBytes of unacknowledged records, ErrClosed
// after Close, or the write error that broke the spool. A record is stored whole or
// not at all. ctx only bounds the wait for the writer to take the record; once
// taken, Append waits for the fsync.
func (s *Spool) Append(ctx context.Context, events []bridge.Event) error {
	req := appendReq{payload: encodeEvents(make([]byte, 0, 256*len(events)+16), events), events: len(events), done: make(chan error, 1)}
	select {
	case s.reqs <- req:
	case <-s.stop:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-req.done
}

// writer takes queued appends, writes as many as are waiting, fsyncs once and answers
// each of them: group commit.
func (s *Spool) writer() {
	defer s.writerWG.Done()
	batch := make([]appendReq, 0, 256)
	var hdr [headerSize]byte
	for {
		var first appendReq
		select {
		case first = <-s.reqs:
		case <-s.stop:
			// Answer whatever is still queued: nothing more is written.
			for {
				select {
				case r := <-s.reqs:
					r.done <- ErrClosed
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < cap(batch) {
			select {
			case r := <-s.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}

		s.mu.Lock()
		broken := s.broken
		room := s.opts.MaxBytes - s.pendingB
		seg := s.segs[len(s.segs)-1]
		full := seg.size >= s.opts.SegmentBytes
		s.mu.Unlock()
		if broken != nil {
			for _, r := range batch {
				r.done <- broken
			}
			continue
		}
		if full {
			if err := s.newSegment(); err != nil {
				s.fail(err, batch)
				continue
			}
			s.mu.Lock()
			seg = s.segs[len(s.segs)-1]
			s.mu.Unlock()
		}
		now := s.opts.Now().UnixMilli()
		results := make([]error, len(batch))
		var written, records, evs int64
		firstSeq := s.wseq
		for i, r := range batch {
			size := headerSize + int64(len(r.payload))
			if written+size > room {
				results[i] = ErrFull
				continue
			}
			binary.BigEndian.PutUint32(hdr[0:], magic)
			binary.BigEndian.PutUint32(hdr[8:], uint32(len(r.payload)))
			binary.BigEndian.PutUint64(hdr[12:], s.wseq)
			binary.BigEndian.PutUint64(hdr[20:], uint64(now))
			crc := crc32.Update(0, crcTable, hdr[8:])
			binary.BigEndian.PutUint32(hdr[4:], crc32.Update(crc, crcTable, r.payload))
			s.buf.Write(hdr[:])
			s.buf.Write(r.payload)
			s.wseq++
			written += size
			records++
			evs += int64(r.events)
		}
		if records > 0 {
			if err := s.buf.Flush(); err != nil {
				s.fail(fmt.Errorf("write spool: %w", err), batch)
				continue
			}
			if s.syncHook != nil {
				s.syncHook()
			}
			if err := fdatasync(s.active); err != nil {
				s.fail(fmt.Errorf("sync spool: %w", err), batch)
				continue
			}
			s.mu.Lock()
			s.syncs++
			seg.size += written
			s.pending += records
			s.pendingB += written
			s.pendingE += evs
			at := time.UnixMilli(now)
			for q := firstSeq; q < s.wseq; q++ {
				s.oldest = append(s.oldest, pendingRecord{q, at})
			}
			s.cond.Broadcast()
			s.mu.Unlock()
		}
		for i, r := range batch {
			r.done <- results[i]
		}
	}
}

// fail marks the spool broken after a failed write or fsync: what the kernel did with
// the data is unknown, so the spool accepts nothing more until restarted (recovery then
// finds what really reached the disk).
func (s *Spool) fail(err error, batch []appendReq) {
	s.log.Error("spool write failed; refusing further callbacks until restart", zap.Error(err))
	s.mu.Lock()
	s.broken = err
	s.cond.Broadcast()
	s.mu.Unlock()
	for _, r := range batch {
		r.done <- err
	}
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// Next returns the record after the last one Next returned (starting after the
// acknowledged ones). With wait, it blocks until one is committed, ctx ends or the
// spool closes; without, it returns ok false at once when none is there.
// Only one goroutine may call Next.
func (s *Spool) Next(ctx context.Context, wait bool) (rec Record, ok bool, err error) {
	if wait {
		stop := context.AfterFunc(ctx, func() {
			s.mu.Lock()
			s.cond.Broadcast()
			s.mu.Unlock()
		})
		defer stop()
	}
	for {
		s.mu.Lock()
		for {
			if s.closed {
				s.mu.Unlock()
				return Record{}, false, ErrClosed
			}
			if s.committedAhead() {
				break
			}
			if !wait || ctx.Err() != nil {
				s.mu.Unlock()
				return Record{}, false, ctx.Err()
			}
			s.cond.Wait()
		}
		seg := s.segs[s.rseg]
		limit := seg.size
		sealed := s.rseg < len(s.segs)-1
		s.mu.Unlock()

		if s.roff >= limit {
			if !sealed {
				continue // committed records are in a later segment, not yet visible here
			}
			s.closeReader()
			s.mu.Lock()
			s.rseg++
			s.mu.Unlock()
			continue
		}
		rec, ok, err := s.readAt(seg, limit)
		if err != nil {
			return Record{}, false, err
		}
		if !ok || rec.Seq <= s.acked {
			continue // acknowledged before a restart
		}
		return rec, true, nil
	}
}

// committedAhead reports whether the reader's segment, or a later one, holds
// committed bytes it has not read. Called with s.mu held.
func (s *Spool) committedAhead() bool {
	return s.rseg < len(s.segs)-1 || s.roff < s.segs[s.rseg].size
}

func (s *Spool) closeReader() {
	if s.rfile != nil {
		s.rfile.Close()
		s.rfile = nil
	}
	s.roff = 0
	s.rbuf = s.rbuf[:0]
	s.rbufOff = 0
}

// readAt reads the record at the reader's offset in seg, whose committed size is limit.
// Bytes that hold no valid record (corruption found after Open) are reported and
// skipped, like recovery does.
// ok is false when bytes were skipped and no record was read.
func (s *Spool) readAt(seg *segment, limit int64) (Record, bool, error) {
	if s.rfile == nil {
		f, err := os.Open(seg.path)
		if err != nil {
			return Record{}, false, fmt.Errorf("open spool segment: %w", err)
		}
		s.rfile = f
	}
	if rec, err := s.readAhead(limit); err != nil {
		return Record{}, false, err
	} else if rec != nil {
		if h, ok := parseAt(rec, 0, s.rlast); ok {
			if events, err := decodeEvents(rec[headerSize:]); err == nil {
				s.roff += int64(len(rec))
				s.rlast = h.seq
				return Record{Seq: h.seq, Size: int64(len(rec)), Appended: time.UnixMilli(h.time), Events: events}, true, nil
			}
		}
	}
	// Not a valid record here: find the next one in the committed part of the segment.
	b := make([]byte, limit)
	if _, err := s.rfile.ReadAt(b, 0); err != nil && err != io.EOF {
		return Record{}, false, fmt.Errorf("read spool segment: %w", err)
	}
	next := nextValid(b, s.roff+1, s.rlast)
	s.log.Error("spool segment is corrupt: skipping bytes that held acknowledged records",
		zap.String("segment", seg.path), zap.Int64("from", s.roff), zap.Int64("to", next))
	s.roff = next
	return Record{}, false, nil
}

// readAheadSize is how much of a segment the reader reads with one system call.
const readAheadSize = 1 << 20

// readAhead returns the bytes of the record that its header at the reader's offset
// announces, served from a read-ahead buffer, or nil when the header is not a record
// header or the record would end past limit.
func (s *Spool) readAhead(limit int64) ([]byte, error) {
	fill := func(n int64) error {
		size := max(min(limit-s.roff, readAheadSize), n)
		if int64(cap(s.rbuf)) < size {
			s.rbuf = make([]byte, size)
		}
		s.rbuf = s.rbuf[:size]
		if _, err := s.rfile.ReadAt(s.rbuf, s.roff); err != nil && err != io.EOF {
			return fmt.Errorf("read spool segment: %w", err)
		}
		s.rbufOff = s.roff
		return nil
	}
	have := func(n int64) bool {
		return s.rbuf != nil && s.roff >= s.rbufOff && s.roff+n <= s.rbufOff+int64(len(s.rbuf))
	}
	if s.roff+headerSize > limit {
		return nil, nil
	}
	if !have(headerSize) {
		if err := fill(headerSize); err != nil {
			return nil, err
		}
	}
	at := s.roff - s.rbufOff
	hb := s.rbuf[at : at+headerSize]
	length := int64(binary.BigEndian.Uint32(hb[8:]))
	if binary.BigEndian.Uint32(hb[0:]) != magic || length > maxPayload || s.roff+headerSize+length > limit {
		return nil, nil
	}
	if !have(headerSize + length) {
		if err := fill(headerSize + length); err != nil {
			return nil, err
		}
		at = 0
	}
	return s.rbuf[at : at+headerSize+length], nil
}

// Ack records that the record seq, and every record before it, reached Kafka. Records
// must be acknowledged in order. Segments that hold only acknowledged records are
// deleted; the cursor is saved by Flush.
func (s *Spool) Ack(rec Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.Seq <= s.acked {
		return
	}
	s.acked = rec.Seq
	s.pending--
	s.pendingB -= rec.Size
	s.pendingE -= int64(len(rec.Events))
	for len(s.oldest) > 0 && s.oldest[0].seq <= rec.Seq {
		s.oldest = s.oldest[1:]
	}
	s.ackDirty = true
	// A segment is reclaimable when the next one starts at or below acked+1 and the
	// reader has moved past it.
	for len(s.segs) > 1 && s.segs[1].first <= s.acked+1 && s.rseg > 0 {
		if err := os.Remove(s.segs[0].path); err != nil {
			s.log.Warn("spool: could not delete an acknowledged segment", zap.Error(err))
			break
		}
		s.segs = s.segs[1:]
		s.rseg--
	}
}

// Flush saves the acknowledgement cursor, if it moved. A lost cursor only means that
// acknowledged records still on disk are published again after a crash.
func (s *Spool) Flush() error {
	s.mu.Lock()
	acked, dirty := s.acked, s.ackDirty
	s.ackDirty = false
	s.mu.Unlock()
	if !dirty || acked == s.ackSaved {
		return nil
	}
	tmp := filepath.Join(s.dir, ackFile+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(acked, 10)+"\n"), 0o640); err != nil {
		return fmt.Errorf("save spool cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, ackFile)); err != nil {
		return fmt.Errorf("save spool cursor: %w", err)
	}
	s.ackSaved = acked
	return nil
}

// Stats returns what the spool holds now.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Records: s.pending, Events: s.pendingE, Bytes: s.pendingB, Segments: len(s.segs), Syncs: s.syncs}
	if len(s.oldest) > 0 {
		st.Oldest = s.oldest[0].at
	}
	return st
}

// MaxBytes returns the configured bound of unacknowledged bytes.
func (s *Spool) MaxBytes() int64 { return s.opts.MaxBytes }

// Err returns the error that broke the spool, or nil.
func (s *Spool) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.broken
}

// Close stops the writer (appends still queued fail with ErrClosed), wakes a waiting
// Next, saves the cursor and closes the files. Everything unacknowledged stays on disk.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	close(s.stop)
	s.writerWG.Wait()
	err := s.Flush()
	if s.active != nil {
		if e := s.active.Close(); err == nil {
			err = e
		}
	}
	s.closeReader()
	return err
}
