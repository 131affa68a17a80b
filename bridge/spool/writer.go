package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// Append stores a callback's records as one entry and returns once it is on disk
// (fsync'd), or an
// error: ErrFull when the spool holds MaxBytes of unacknowledged records, ErrClosed
// during and after Close (at once, never blocking), a *WriteError while the disk
// refuses writes (the spool keeps retrying and heals by itself), or ErrFatal's kind
// when the spool lost its directory or lock. A record is stored whole or not at all.
// ctx only bounds the wait for the writer to take the record; once taken, Append
// waits for the fsync. The records must not change afterwards: the reader may get
// them from memory.
func (s *Spool) Append(ctx context.Context, records []bridge.Record) error {
	// Encoding and compressing happen here, on the caller's goroutine, so that the
	// one writer goroutine only writes.
	payload, plain, release := encodeEntry(records)
	req := appendReq{payload: payload, plain: int64(plain), records: records, done: make(chan error, 1)}
	s.appendMu.RLock()
	if s.closing {
		s.appendMu.RUnlock()
		release()
		return ErrClosed
	}
	select {
	case s.reqs <- req:
		s.appendMu.RUnlock()
	case <-ctx.Done():
		s.appendMu.RUnlock()
		release()
		return ctx.Err()
	}
	err := <-req.done
	release() // written, or refused: the writer holds the payload no longer
	return err
}

// WriteError is the error of an Append that the disk refused (no space left, too many
// open files, an I/O error). The spool puts its segment back to the last committed
// byte, retries in the background and accepts appends again once a write succeeds.
type WriteError struct {
	Err error
}

// Error implements error.
func (e *WriteError) Error() string { return "spool cannot write: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *WriteError) Unwrap() error { return e.Err }

// Cause returns a short text of the cause that is safe to show to a client: the
// system's error text (such as "no space left on device"), without file names.
func (e *WriteError) Cause() string {
	var errno syscall.Errno
	if errors.As(e.Err, &errno) {
		return errno.Error()
	}
	return "write error"
}

// retryInterval is how often a spool that cannot write tries again without traffic,
// so that readiness comes back by itself when the cause is gone.
const retryInterval = 500 * time.Millisecond

// probeBytes is what a retry writes and fsyncs (to a scratch file) before the spool
// reports itself writable again.
const probeBytes = 64 << 10

// writer takes queued appends, writes as many as are waiting, fsyncs once and answers
// each of them: group commit. After a write error it retries every retryInterval until
// the disk takes writes again.
func (s *Spool) writer() {
	defer s.writerWG.Done()
	batch := make([]appendReq, 0, 256)
	var retry *time.Ticker
	for {
		var retryC <-chan time.Time
		if retry != nil {
			retryC = retry.C
		}
		var first appendReq
		select {
		case first = <-s.reqs:
		case <-retryC:
			if s.heal() == nil {
				retry.Stop()
				retry = nil
			}
			continue
		case <-s.stop:
			if retry != nil {
				retry.Stop()
			}
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
		results, err := s.commit(batch)
		switch {
		case err != nil && retry == nil:
			retry = time.NewTicker(retryInterval)
		case err == nil && retry != nil:
			retry.Stop()
			retry = nil
		}
		for i, r := range batch {
			if err != nil {
				r.done <- err
			} else {
				r.done <- results[i]
			}
		}
	}
}

// commit writes batch and fsyncs it. It returns each request's result (nil or
// ErrFull), or one error for all of them when nothing was committed.
func (s *Spool) commit(batch []appendReq) ([]error, error) {
	if err := s.fatalErr(); err != nil {
		return nil, err
	}
	if s.needRepair {
		if err := s.repair(); err != nil {
			return nil, s.degrade(err)
		}
	}
	s.mu.Lock()
	room := s.opts.MaxBytes - s.pendingB
	seg := s.segs[len(s.segs)-1]
	full := seg.size >= s.opts.SegmentBytes
	s.mu.Unlock()
	if full {
		// A segment that cannot be rotated (too many open files, say) keeps growing
		// instead: refusing callbacks for it would be worse.
		if err := s.newSegment(); err != nil {
			s.log.Warn("spool: cannot start a new segment; writing on in the current one", zap.Error(err))
		} else {
			s.mu.Lock()
			seg = s.segs[len(s.segs)-1]
			s.mu.Unlock()
		}
	}
	now := s.opts.Now().UnixMilli()
	results := make([]error, len(batch))
	var hdr [headerSize]byte
	var written, entries, recs, inMemory int64
	firstSeq, base := s.wseq, seg.size
	mem := make([]memEntry, 0, len(batch))
	for i, r := range batch {
		size := headerSize + int64(len(r.payload))
		if written+size > room {
			results[i] = ErrFull
			continue
		}
		putHeader(&hdr, r.payload, s.wseq, now)
		s.buf.Write(hdr[:])
		s.buf.Write(r.payload)
		mem = append(mem, memEntry{Entry: Entry{Seq: s.wseq, Size: size, Appended: time.UnixMilli(now), Records: r.records,
			count: int64(len(r.records))}, seg: seg, off: base + written, plain: r.plain})
		s.wseq++
		written += size
		inMemory += r.plain
		entries++
		recs += int64(len(r.records))
	}
	if entries == 0 {
		return results, nil
	}
	err := s.buf.Flush()
	if err == nil {
		if s.syncHook != nil {
			s.syncHook()
		}
		err = fdatasync(s.active)
	}
	if err != nil {
		// Nothing of this batch is committed: what the kernel kept of it is cut off
		// by repair, and its sequence numbers are used again, unless repair has to
		// leave the bytes behind (see there).
		s.written = s.wseq
		s.wseq = firstSeq
		s.needRepair = true
		return nil, s.degrade(err)
	}
	s.mu.Lock()
	s.syncs++
	seg.size += written
	s.pending += entries
	s.pendingB += written
	s.pendingR += recs
	at := time.UnixMilli(now)
	for q := firstSeq; q < s.wseq; q++ {
		s.oldest = append(s.oldest, pendingRecord{q, at})
	}
	s.handOver(mem, inMemory)
	recovered := s.degraded != nil
	s.degraded = nil
	s.cond.Broadcast()
	s.mu.Unlock()
	if recovered {
		s.log.Info("spool writes again")
	}
	return results, nil
}

// handOver queues committed entries for the reader, keeping the queue a run of
// consecutive sequence numbers within memMaxBytes of uncompressed payloads (bytes is
// theirs for mem): when they do not fit, the queue is dropped, and the reader reads
// from disk until it reaches the next run. Called with s.mu held.
func (s *Spool) handOver(mem []memEntry, bytes int64) {
	if n := len(s.mem); n > 0 && (s.mem[n-1].Seq+1 != mem[0].Seq || s.memBytes+bytes > s.memMax) {
		s.mem, s.memBytes = nil, 0
	}
	if bytes > s.memMax {
		return
	}
	s.mem = append(s.mem, mem...)
	s.memBytes += bytes
}

// degrade records a write error: appends are refused with it and readiness fails
// until a write succeeds again.
func (s *Spool) degrade(err error) error {
	we := &WriteError{Err: err}
	s.mu.Lock()
	first := s.degraded == nil
	s.degraded = we
	s.mu.Unlock()
	if first {
		s.log.Error("spool write failed; answering 503 and retrying until the disk takes writes again", zap.Error(err))
	}
	return we
}

// repair puts the active segment back to its last committed byte, so that the next
// write starts in a known state. If the file cannot be truncated it is left behind
// (recovery cuts such a tail) and a new segment is started.
func (s *Spool) repair() error {
	s.mu.Lock()
	seg := s.segs[len(s.segs)-1]
	size := seg.size
	s.mu.Unlock()
	if s.active != nil {
		s.buf.Reset(s.active)
		err := s.active.Truncate(size)
		if err == nil {
			_, err = s.active.Seek(size, io.SeekStart)
		}
		if err == nil {
			err = fdatasync(s.active)
		}
		if err == nil {
			s.needRepair = false
			return nil
		}
		s.log.Warn("spool: cannot cut the failed write off the segment; starting a new one", zap.Error(err))
		s.active.Close()
		s.active = nil
		// The failed batch's records may be in that file, valid: their sequence
		// numbers are used up, so that nothing written later shares them. (They were
		// answered 503; after a restart they may be published, as a duplicate of the
		// retry Chat makes.)
		s.wseq = max(s.wseq, s.written)
	}
	if err := s.newSegment(); err != nil {
		return err
	}
	s.needRepair = false
	return nil
}

// heal is the background retry after a write error: repair the segment, then write
// and fsync a scratch file, so that readiness returns only when the disk has room.
func (s *Spool) heal() error {
	if err := s.fatalErr(); err != nil {
		return err
	}
	s.mu.Lock()
	degraded := s.degraded
	s.mu.Unlock()
	if degraded == nil {
		return nil
	}
	if s.needRepair {
		if err := s.repair(); err != nil {
			s.degrade(err)
			return err
		}
	}
	// On a full disk the space to free is in the segments: once every record of the
	// active one is acknowledged, start a new (empty) one so that the forwarder's
	// next Flush can delete it.
	s.mu.Lock()
	active := s.segs[len(s.segs)-1]
	drained := active.size > 0 && s.acked+1 >= s.wseq
	s.mu.Unlock()
	if drained {
		if err := s.newSegment(); err != nil {
			s.log.Warn("spool: cannot start a new segment to free the drained one", zap.Error(err))
		}
	}
	if err := s.probe(); err != nil {
		s.degrade(err)
		return err
	}
	s.mu.Lock()
	s.degraded = nil
	s.mu.Unlock()
	s.log.Info("spool writes again")
	return nil
}

// probe writes probeBytes to a scratch file in the spool directory, fsyncs and removes
// it.
func (s *Spool) probe() error {
	const name = "probe.tmp"
	f, err := s.root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, filePerm)
	if err != nil {
		return err
	}
	_, err = f.Write(make([]byte, probeBytes))
	if err == nil {
		err = fdatasync(f)
	}
	f.Close()
	if e := s.root.Remove(name); err == nil && e != nil && !os.IsNotExist(e) {
		err = e
	}
	return err
}

// newSegment creates the segment that starts at the writer's next sequence number and
// makes it the active one. An empty active segment of that name is reused.
func (s *Spool) newSegment() error {
	s.mu.Lock()
	var last []*segment
	if len(s.segs) > 0 {
		last = s.segs[len(s.segs)-1:]
	}
	s.mu.Unlock()
	name := segmentName(s.wseq)
	path := filepath.Join(s.dir, name)
	if len(last) == 1 && last[0].first == s.wseq && last[0].size == 0 {
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return fmt.Errorf("open spool segment: %w", err)
		}
		s.setActive(f)
		return nil
	}
	f, err := s.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, filePerm)
	if err != nil {
		return fmt.Errorf("create spool segment: %w", err)
	}
	if err := s.syncDir(); err != nil {
		f.Close()
		s.root.Remove(name)
		return err
	}
	s.setActive(f)
	s.mu.Lock()
	s.segs = append(s.segs, &segment{first: s.wseq, name: name, path: path})
	s.cond.Broadcast() // a reader at the end of the old segment may move on
	s.mu.Unlock()
	return nil
}

func (s *Spool) setActive(f *os.File) {
	if s.active != nil {
		s.active.Close()
	}
	s.active = f
	if s.buf != nil {
		s.buf.Reset(f)
	}
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d.seg", first) }

// syncDir fsyncs the spool directory, so that created, renamed and deleted files in it
// are durable.
func (s *Spool) syncDir() error {
	d, err := s.root.Open(".")
	if err != nil {
		return fmt.Errorf("open spool directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync spool directory: %w", err)
	}
	return nil
}

func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
