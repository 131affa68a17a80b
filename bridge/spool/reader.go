package spool

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
)

// Next returns the entry after the last one Next returned (starting after the
// acknowledged ones). With wait, it blocks until one is committed, ctx ends or the
// spool closes; without, it returns ok false at once when none is there. Entries
// committed since the reader caught up come from memory; the disk is read after a
// restart and when the reader has fallen behind by more than the memory queue holds.
// Only one goroutine may call Next. After an error (a failed read), calling Next again
// retries from the same entry: nothing is skipped.
func (s *Spool) Next(ctx context.Context, wait bool) (rec Entry, ok bool, err error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
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
				return Entry{}, false, ErrClosed
			}
			if e, ok := s.fromMemory(); ok {
				s.mu.Unlock()
				return e, true, nil
			}
			if s.committedAhead() {
				break
			}
			if !wait || ctx.Err() != nil {
				s.mu.Unlock()
				return Entry{}, false, ctx.Err()
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
			return Entry{}, false, err
		}
		if !ok || rec.Seq <= s.acked {
			continue // acknowledged before a restart
		}
		return rec, true, nil
	}
}

// fromMemory returns the next entry from the writer's hand-over queue when it is the
// one the reader needs, and moves the reader's disk position past it. Called with
// s.mu held.
func (s *Spool) fromMemory() (Entry, bool) {
	for len(s.mem) > 0 && (s.mem[0].Seq <= s.rlast || s.mem[0].Seq <= s.acked) {
		s.popMemory()
	}
	if len(s.mem) == 0 || s.mem[0].Seq != max(s.rlast, s.acked)+1 {
		return Entry{}, false
	}
	m := s.mem[0]
	s.popMemory()
	if s.segs[s.rseg] != m.seg {
		s.closeReader()
		for s.rseg < len(s.segs)-1 && s.segs[s.rseg] != m.seg {
			s.rseg++
		}
	}
	s.roff = m.off + m.Size
	s.rlast = m.Seq
	return m.Entry, true
}

func (s *Spool) popMemory() {
	s.memBytes -= s.mem[0].plain
	s.mem[0] = memEntry{}
	s.mem = s.mem[1:]
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
// skipped, like recovery does. A record whose checksum is right but whose payload does
// not decode is reported and returned without events, so that it is acknowledged
// rather than waited for.
// ok is false when bytes were skipped and no record was read.
func (s *Spool) readAt(seg *segment, limit int64) (Entry, bool, error) {
	if s.rfile == nil {
		f, err := s.root.Open(seg.name)
		if err != nil {
			return Entry{}, false, fmt.Errorf("open spool segment: %w", err)
		}
		s.rfile = f
	}
	if rec, err := s.readAhead(limit); err != nil {
		return Entry{}, false, err
	} else if rec != nil {
		if h, ok := parseAt(rec, 0, s.rlast); ok {
			// The read-ahead buffer is reused: the records get bytes of their own.
			payload := append([]byte(nil), rec[headerSize:]...)
			r := Entry{Seq: h.seq, Size: int64(len(rec)), Appended: time.UnixMilli(h.time), count: recordCount(payload)}
			records, err := decodeRecords(payload)
			if err != nil {
				s.log.Error("spool entry cannot be decoded: dropping it", zap.String("segment", seg.path),
					zap.Int64("offset", s.roff), zap.Uint64("seq", h.seq), zap.Error(err))
			}
			r.Records = records
			s.diskReads++
			s.roff += int64(len(rec))
			s.rlast = h.seq
			return r, true, nil
		}
	}
	// Not a valid record here: find the next one in the committed part of the segment.
	b := make([]byte, limit)
	if _, err := s.rfile.ReadAt(b, 0); err != nil && err != io.EOF {
		return Entry{}, false, fmt.Errorf("read spool segment: %w", err)
	}
	next := nextValid(b, s.roff+1, s.rlast)
	s.log.Error("spool segment is corrupt: skipping bytes that held acknowledged records",
		zap.String("segment", seg.path), zap.Int64("from", s.roff), zap.Int64("to", next))
	s.roff = next
	return Entry{}, false, nil
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
			s.rbuf = s.rbuf[:0]
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
