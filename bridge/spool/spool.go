package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// Defaults of Options.
const (
	// DefaultVolumeShare is the share of its filesystem's size that a spool may fill
	// when Options.MaxBytes is 0.
	DefaultVolumeShare  = 0.8
	DefaultSegmentBytes = 64 << 20
)

// Options configure a Spool. Zero values take the defaults.
type Options struct {
	// MaxBytes bounds the bytes on disk (compressed, headers included) of the entries
	// not yet acknowledged by Kafka; an Append that would exceed it fails with ErrFull.
	// Default (0): DefaultVolumeShare (80%) of the size of the filesystem holding the
	// directory, as statfs reports it when Open runs; Spool.MaxBytes returns the limit
	// in effect. The default counts the filesystem's whole size: other files on the
	// same volume can still fill it first, and then Append fails with a *WriteError
	// (no space left on device) instead of ErrFull.
	MaxBytes int64
	// SegmentBytes is the size at which the active segment file is closed and a new one
	// started; acknowledged segments are deleted whole. Default the smaller of
	// DefaultSegmentBytes (64 MiB) and MaxBytes/8, at least 4 KiB.
	SegmentBytes int64
	// Log receives recovery reports (one INFO line per Open, and one more when Open
	// restricted permissions; dropped torn tails and skipped corrupt records louder)
	// and write errors. Default: no logging.
	Log *zap.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// ObserveSync, when not nil, receives how long each fsync that committed records
	// took (imbridge_spool_fsync_seconds). It is called with the spool's writer
	// waiting: it must return at once.
	ObserveSync func(time.Duration)
}

// setDefaults fills in the defaults; volume is the size of the filesystem that holds
// the directory, for MaxBytes.
func (o *Options) setDefaults(volume int64) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = max(int64(DefaultVolumeShare*float64(volume)), 1)
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
// records. ErrClosed is returned by Append and Next during and after Close.
var (
	ErrFull   = errors.New("spool is full")
	ErrClosed = errors.New("spool is closed")
)

// Entry is one appended callback: its Kafka records, read back in append order.
type Entry struct {
	// Seq is the entry's sequence number; Ack takes it.
	Seq uint64
	// Size is the entry's size on disk, header included.
	Size int64
	// Appended is when the entry was appended.
	Appended time.Time
	// Records are the callback's records, read-only; nil for an entry that could not
	// be decoded (reported when read), which is acknowledged like any other.
	Records []bridge.Record
	count   int64 // the record count the entry claims, for the pending counters
}

// Stats describe what the spool holds.
type Stats struct {
	// Entries, Records and Bytes count the entries (callbacks) not yet acknowledged,
	// their Kafka records and their bytes on disk.
	Entries int64
	Records int64
	Bytes   int64
	// Oldest is the append time of the oldest unacknowledged entry; zero if none.
	Oldest time.Time
	// Segments is the number of segment files on disk.
	Segments int
	// Syncs counts the fsyncs that committed records since Open.
	Syncs int64
}

type segment struct {
	first uint64 // seq of its first record (also its file name)
	name  string // file name in the spool directory
	path  string // the same, with the directory, for messages
	size  int64  // committed bytes: everything before it is fsync'd
}

type appendReq struct {
	payload []byte // as stored: compressed, most often
	plain   int64  // the uncompressed payload's length
	records []bridge.Record
	done    chan error
}

// memEntry is a committed entry handed from the writer to the reader in memory, with
// where it is on disk, so that the reader skips the read-back and the decompression.
type memEntry struct {
	Entry
	seg   *segment
	off   int64
	plain int64 // the uncompressed payload's length, what memBytes counts
}

// memMaxBytes bounds the entries waiting in memory for the reader, counted
// uncompressed (records take at least that much room in memory); beyond it the reader
// reads them back from disk (it has fallen behind).
const memMaxBytes = 4 << 20

type pendingRecord struct {
	seq uint64
	at  time.Time
}

// Spool is a durable, append-only log of callbacks, kept in segment files in one
// directory that it holds an exclusive lock on. Append is safe for concurrent use and
// returns only after the record is fsync'd; concurrent appends share one fsync (group
// commit). One reader (the forwarder) reads records in order with Next and
// acknowledges them with Ack; Flush saves the cursor and deletes fully acknowledged
// segments.
type Spool struct {
	dir  string
	root *os.Root // the directory opened at Open: every file operation goes through it
	opts Options
	log  *zap.Logger
	lock *dirLock
	// limitFrom says where opts.MaxBytes came from, "setting" or "volume" (then
	// volume is the filesystem's size), for the open log line.
	limitFrom string
	volume    int64

	reqs     chan appendReq
	stop     chan struct{}
	writerWG sync.WaitGroup
	appendMu sync.RWMutex // Append holds it to send; Close takes it to set closing
	closing  bool

	mu       sync.Mutex
	cond     *sync.Cond // signalled when records are committed or the spool closes
	segs     []*segment // in seq order; the last is active
	acked    uint64     // highest acknowledged seq
	pending  int64      // entries not yet acknowledged
	pendingB int64      // their bytes
	pendingR int64      // their records
	mem      []memEntry // committed entries of consecutive seqs, for the reader
	memBytes int64
	memMax   int64 // memMaxBytes; tests lower it
	oldest   []pendingRecord
	degraded *WriteError // the last write error, until a write succeeds
	fatal    error       // the spool lost its directory or lock: no write is safe
	closed   bool

	// writer state, owned by the writer goroutine
	active     *os.File
	buf        *bufio.Writer
	wseq       uint64 // seq of the next record the writer writes
	needRepair bool   // a write failed: cut the active segment back before writing
	written    uint64 // the seq after the last record of a failed write

	// reader state, owned by the Next caller (rmu); rseg also changes under mu
	rmu   sync.Mutex
	rseg  int // index into segs (adjusted on reclaim)
	rfile *os.File
	roff  int64
	rlast uint64 // seq of the last record returned
	// read-ahead buffer: bytes of the reader's segment from file offset rbufOff
	rbuf    []byte
	rbufOff int64

	flushMu  sync.Mutex
	ackSaved uint64

	syncs     int64  // fsyncs of record data, for tests and metrics
	diskReads int64  // entries the reader read back from disk, for tests
	syncHook  func() // tests: called before each fsync
}

// Open takes the spool directory's lock (failing at once with ErrLocked when another
// process holds it, before anything in the directory is read or written), restricts
// the directory (0700) and its files (0600) to their owner, recovers the spool (see
// the package documentation) and starts its writer. It fails with an ErrCursor error,
// and skips nothing, when the acknowledgement cursor cannot be trusted.
//
// With Options.MaxBytes 0, the limit is DefaultVolumeShare of the size of the
// filesystem that holds dir; the "spool opened" log line states the limit and where it
// came from.
func Open(dir string, opts Options) (*Spool, error) {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("create spool directory: %w", err)
	}
	var volume int64
	limitFrom := "setting"
	if opts.MaxBytes <= 0 {
		v, err := volumeBytes(dir)
		if err != nil {
			return nil, fmt.Errorf("size the spool from its volume: %w", err)
		}
		volume, limitFrom = v, "volume"
	}
	opts.setDefaults(volume)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open spool directory: %w", err)
	}
	lock, err := lockDir(root, dir)
	if err != nil {
		root.Close()
		return nil, err
	}
	s := &Spool{dir: dir, root: root, opts: opts, log: opts.Log, lock: lock, reqs: make(chan appendReq, 1024), stop: make(chan struct{}),
		memMax: memMaxBytes, limitFrom: limitFrom, volume: volume}
	s.cond = sync.NewCond(&s.mu)
	s.tightenModes()
	if err := s.open(); err != nil {
		if s.active != nil {
			s.active.Close()
		}
		lock.release()
		root.Close()
		return nil, err
	}
	s.buf = bufio.NewWriterSize(s.active, 1<<20)
	s.writerWG.Add(1)
	go s.writer()
	return s, nil
}

func (s *Spool) open() error {
	if err := s.recover(); err != nil {
		return err
	}
	if len(s.segs) == 0 {
		return s.newSegment()
	}
	last := s.segs[len(s.segs)-1]
	f, err := s.root.OpenFile(last.name, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open spool segment: %w", err)
	}
	if _, err := f.Seek(last.size, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("seek spool segment: %w", err)
	}
	s.active = f
	return nil
}

// Stats returns what the spool holds now.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Entries: s.pending, Records: s.pendingR, Bytes: s.pendingB, Segments: len(s.segs), Syncs: s.syncs}
	if len(s.oldest) > 0 {
		st.Oldest = s.oldest[0].at
	}
	return st
}

// MaxBytes returns the bound of unacknowledged bytes on disk in effect:
// Options.MaxBytes, or the share of the volume Open chose when it was 0.
func (s *Spool) MaxBytes() int64 { return s.opts.MaxBytes }

// volumeBytes returns the size of the filesystem that holds dir.
func volumeBytes(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return int64(st.Blocks) * st.Frsize, nil
}

// Err returns why the spool cannot take appends now, or nil: a *WriteError while the
// disk refuses writes (it clears by itself once a retry succeeds), or the fatal error
// of Live.
func (s *Spool) Err() error {
	if err := s.Live(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.degraded != nil {
		return s.degraded
	}
	return nil
}

// Live returns an error when the spool is in a state it cannot leave while the
// process runs: its directory is gone or its lock file was replaced, so nothing it
// writes is safe. Only a restart helps; the liveness probe reports it.
func (s *Spool) Live() error {
	s.mu.Lock()
	err := s.fatal
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.fatalErr()
}

// fatalErr checks the lock (one stat of its path: a directory removed or replaced
// takes the lock file with it), and remembers a failure for good.
func (s *Spool) fatalErr() error {
	err := s.lock.check()
	if err == nil {
		return nil
	}
	if _, e := os.Stat(s.dir); e != nil {
		err = fmt.Errorf("spool directory is gone: %w", e)
	}
	s.mu.Lock()
	first := s.fatal == nil
	if first {
		s.fatal = err
	}
	err = s.fatal
	s.mu.Unlock()
	if first {
		s.log.Error("spool is unusable until restart", zap.Error(err))
	}
	return err
}

// Close stops the writer (appends still queued, and any Append from now on, fail with
// ErrClosed), wakes and waits for a reader in Next, saves the cursor, closes the files
// and releases the directory's lock. Everything unacknowledged stays on disk.
func (s *Spool) Close() error {
	s.appendMu.Lock()
	if s.closing {
		s.appendMu.Unlock()
		return nil
	}
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
	err := s.Flush()
	if s.active != nil {
		if e := s.active.Close(); err == nil {
			err = e
		}
	}
	if e := s.lock.release(); err == nil {
		err = e
	}
	if e := s.root.Close(); err == nil {
		err = e
	}
	return err
}
