package spool

import (
	"context"
	"sync"
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
	done := doneChans.Get().(chan error)
	req := appendReq{payload: payload, plain: int64(plain), records: records, done: done}
	s.appendMu.RLock()
	if s.closing {
		s.appendMu.RUnlock()
		release()
		doneChans.Put(done)
		return ErrClosed
	}
	select {
	case s.reqs <- req:
		s.appendMu.RUnlock()
	case <-ctx.Done():
		s.appendMu.RUnlock()
		release()
		doneChans.Put(done)
		return ctx.Err()
	}
	err := <-req.done
	release() // written, or refused: the writer holds the payload no longer
	// The writer answers a queued request exactly once: the channel is empty again.
	doneChans.Put(done)
	return err
}

// doneChans reuses the channels on which the writer answers Append.
var doneChans = sync.Pool{New: func() any { return make(chan error, 1) }}

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
		began := time.Now()
		err = fdatasync(s.active)
		if err == nil && s.opts.ObserveSync != nil {
			s.opts.ObserveSync(time.Since(began))
		}
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
