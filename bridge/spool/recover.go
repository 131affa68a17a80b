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
// to open because of what it finds in a segment.
func (s *Spool) recover() error {
	s.acked = s.readCursor()
	s.ackSaved = s.acked
	names, err := fs.Glob(s.root.FS(), "*.seg")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var lastSeq, newest uint64 // highest seq of a record, highest segment name
	var torn, corrupt int64
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
			torn = size - end
			s.log.Warn("spool: cutting off a torn or corrupt tail (a write interrupted by a crash, never acknowledged)",
				zap.String("segment", path), zap.Int64("offset", end), zap.Int64("bytes", torn))
			if err := s.truncate(name, end); err != nil {
				return fmt.Errorf("truncate torn spool tail: %w", err)
			}
			size = end
		}
		s.segs = append(s.segs, &segment{first: first, name: name, path: path, size: size})
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

// readCursor returns the saved acknowledgement cursor, 0 when there is none.
func (s *Spool) readCursor() uint64 {
	b, err := s.root.ReadFile(ackFile)
	if err != nil {
		if !os.IsNotExist(err) {
			s.log.Warn("spool acknowledgement cursor unreadable; records still on disk will be published again", zap.Error(err))
		}
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		s.log.Warn("spool acknowledgement cursor unreadable; records still on disk will be published again", zap.Error(err))
		return 0
	}
	return n
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
