package spool

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// recover reads the acknowledgement cursor and scans every segment: it counts the
// unacknowledged records, cuts a torn or corrupt tail off the last segment, and reports
// corruption elsewhere. Records at or below the cursor are valid records, not
// corruption: a clean restart logs one INFO line and nothing louder. It never refuses
// to open because of what it finds in a segment; it refuses a cursor it cannot trust
// (see checkCursor), before it changes anything on disk.
func (s *Spool) recover() error {
	acked, err := s.readCursor()
	if err != nil {
		return err
	}
	s.acked = acked
	s.ackSaved = s.acked
	names, err := fs.Glob(s.root.FS(), "*.seg")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var lastSeq, newest uint64 // highest seq of a record, highest segment name
	var torn, corrupt int64
	var tornName string
	var tornEnd int64
	for i, name := range names {
		path := filepath.Join(s.dir, name)
		first, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil {
			s.log.Warn("ignoring a file that is not a spool segment", zap.String("file", path))
			continue
		}
		newest = max(newest, first)
		b, err := s.root.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read spool segment: %w", err)
		}
		isLast := i == len(names)-1
		end := int64(0)
		scanRecords(b, lastSeq, func(off int64, h header) {
			if h.seq > s.acked {
				s.pending++
				s.pendingB += headerSize + int64(h.length)
				s.pendingR += recordCount(b[off+headerSize : off+headerSize+int64(h.length)])
				s.oldest = append(s.oldest, pendingRecord{h.seq, time.UnixMilli(h.time)})
			}
			lastSeq = h.seq
			end = off + headerSize + int64(h.length)
		}, func(from, to int64) {
			if to < int64(len(b)) || !isLast {
				corrupt += to - from
				s.log.Error("spool segment is corrupt: skipping bytes that held acknowledged records",
					zap.String("segment", path), zap.Int64("from", from), zap.Int64("to", to))
			}
		})
		size := int64(len(b))
		if isLast && end < size {
			torn, tornName, tornEnd = size-end, name, end
			size = end
		}
		s.segs = append(s.segs, &segment{first: first, name: name, path: path, size: size})
	}
	if err := s.checkCursor(lastSeq, newest); err != nil {
		return err
	}
	if torn > 0 {
		s.log.Warn("spool: cutting off a torn or corrupt tail (a write interrupted by a crash, never acknowledged)",
			zap.String("segment", filepath.Join(s.dir, tornName)), zap.Int64("offset", tornEnd), zap.Int64("bytes", torn))
		if err := s.truncate(tornName, tornEnd); err != nil {
			return fmt.Errorf("truncate torn spool tail: %w", err)
		}
	}
	// The next sequence number is above every record, the cursor and the newest
	// segment's name: a segment may be empty (rotated, then nothing fit), and the
	// cursor may lag the records that were deleted with their segments.
	s.wseq = max(lastSeq+1, s.acked+1, newest)
	fields := []zap.Field{zap.String("dir", s.dir), zap.Int64("pending_entries", s.pending),
		zap.Int64("pending_bytes", s.pendingB), zap.Int64("max_bytes", s.opts.MaxBytes),
		zap.String("max_bytes_from", s.limitFrom)}
	if s.limitFrom == "volume" {
		fields = append(fields, zap.Int64("volume_bytes", s.volume))
	}
	s.log.Info("spool opened", append(fields, zap.Int("segments", len(s.segs)),
		zap.Uint64("acknowledged_through", s.acked), zap.Uint64("next_seq", s.wseq),
		zap.Int64("torn_bytes_cut", torn), zap.Int64("corrupt_bytes_skipped", corrupt))...)
	return nil
}

// readCursor returns the saved acknowledgement cursor, 0 when there is none, or an
// ErrCursor error when the file cannot be read or trusted.
func (s *Spool) readCursor() (uint64, error) {
	b, err := s.root.ReadFile(ackFile)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err == nil {
		var n uint64
		if n, err = parseCursor(b); err == nil {
			return n, nil
		}
	}
	return 0, s.cursorError(err.Error())
}

// checkCursor refuses a cursor above every entry the segments hold: lastSeq is the
// highest sequence number of a record found in them, newest the highest segment name
// (a segment is named after the next sequence number when it is created, so every
// entry below it was written, even when the segment is still empty). A cursor is only
// saved for entries that were committed, and the segment holding the newest of them
// is never deleted, so a higher cursor was not written by this spool: trusting it
// would hide the entries above the real one.
func (s *Spool) checkCursor(lastSeq, newest uint64) error {
	highest := lastSeq
	if newest > 0 {
		highest = max(highest, newest-1)
	}
	if s.acked <= highest {
		return nil
	}
	held := fmt.Sprintf("the spool's entries end at %d", highest)
	if highest == 0 {
		held = "the spool holds no entries"
	}
	return s.cursorError(fmt.Sprintf("it says entries through %d reached Kafka, but %s (a cursor copied from another spool, or damaged)",
		s.acked, held))
}

// cursorError is Open's refusal of the cursor, for why: what to do, and that nothing
// was skipped.
func (s *Spool) cursorError(why string) error {
	path := filepath.Join(s.dir, ackFile)
	return fmt.Errorf("%w: %s: %s; nothing was skipped. Delete %s to publish every entry still in the spool "+
		"again (Kafka may receive some twice), or write into it the acknowledged_through of this spool's last "+
		"\"spool opened\" log line", ErrCursor, path, why, path)
}

// truncate cuts the segment name to size bytes and syncs it.
func (s *Spool) truncate(name string, size int64) error {
	f, err := s.root.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = fdatasync(f)
	}
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}
