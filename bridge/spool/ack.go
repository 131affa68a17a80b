package spool

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"strconv"

	"go.uber.org/zap"
)

// ackFile holds the acknowledgement cursor: the highest sequence number whose record,
// and every record before it, reached Kafka. It is one line, "v2 <seq> crc32c=<8 hex
// digits>", the CRC-32C covering "v2 <seq>". Versions before the checksum wrote the
// bare number, which is still read.
const ackFile = "ack"

// cursorVersion starts a cursor with a checksum.
const cursorVersion = "v2"

// ErrCursor is the kind of the error Open returns when it refuses the acknowledgement
// cursor: a checksum that does not match, a content in no known format, or a
// sequence number above every entry in the spool (a cursor copied from another spool,
// say). Open skips nothing then; the message names the file and what to do.
var ErrCursor = errors.New("spool acknowledgement cursor refused")

// encodeCursor returns the content of the cursor file for seq.
func encodeCursor(seq uint64) []byte {
	line := cursorVersion + " " + strconv.FormatUint(seq, 10)
	return fmt.Appendf(nil, "%s crc32c=%08x\n", line, crc32.Checksum([]byte(line), crcTable))
}

// parseCursor returns the sequence number of a cursor file's content, in this
// version's format or the bare number of earlier versions, or why it cannot be
// trusted.
func parseCursor(b []byte) (uint64, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		n, err := strconv.ParseUint(string(b), 10, 64)
		if err != nil {
			return 0, errors.New("neither a sequence number nor a cursor with a checksum")
		}
		return n, nil
	}
	line, sum, ok := bytes.Cut(b, []byte(" crc32c="))
	version, seq, ok2 := bytes.Cut(line, []byte(" "))
	if !ok || !ok2 || string(version) != cursorVersion {
		return 0, errors.New("neither a sequence number nor a cursor with a checksum")
	}
	want, err := strconv.ParseUint(string(sum), 16, 32)
	if err != nil || len(sum) != 8 {
		return 0, errors.New("its checksum is not 8 hex digits")
	}
	if got := crc32.Checksum(line, crcTable); got != uint32(want) {
		return 0, fmt.Errorf("checksum mismatch (crc32c %08x, the file says %08x)", got, want)
	}
	n, err := strconv.ParseUint(string(seq), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("sequence number: %w", err)
	}
	return n, nil
}

// Ack records that the entry, and every entry before it, reached Kafka. Entries
// must be acknowledged in order. The cursor is saved, and segments holding only
// acknowledged entries are deleted, by Flush.
func (s *Spool) Ack(rec Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.Seq <= s.acked {
		return
	}
	s.acked = rec.Seq
	s.pending--
	s.pendingB -= rec.Size
	s.pendingR -= rec.count
	for len(s.oldest) > 0 && s.oldest[0].seq <= rec.Seq {
		s.oldest = s.oldest[1:]
	}
}

// Flush saves the acknowledgement cursor, if it moved, and then deletes the segments
// whose records are all acknowledged. The cursor is written to a temporary file,
// fsync'd, renamed over the old one, and the directory fsync'd; deletions are
// followed by a directory fsync too. A cursor that could not be saved only means that
// acknowledged records still on disk are published again after a crash, so segments
// are deleted even then: recovery takes the next sequence number from what is on
// disk, never from the cursor alone.
func (s *Spool) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	// A spool that lost its directory touches nothing: the path may hold another
	// process's spool by now. (Every file operation also goes through s.root, the
	// directory opened at Open, so that it cannot reach a new directory of that name.)
	if err := s.Live(); err != nil {
		return err
	}
	s.mu.Lock()
	acked := s.acked
	s.mu.Unlock()
	var err error
	if acked != s.ackSaved {
		if err = s.saveCursor(acked); err == nil {
			s.ackSaved = acked
		}
	}
	return errors.Join(err, s.reclaim())
}

func (s *Spool) saveCursor(acked uint64) error {
	const tmp = ackFile + ".tmp"
	f, err := s.root.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, filePerm)
	if err != nil {
		return fmt.Errorf("save spool cursor: %w", err)
	}
	_, err = f.Write(encodeCursor(acked))
	if err == nil {
		err = fdatasync(f)
	}
	if e := f.Close(); err == nil {
		err = e
	}
	if err == nil {
		err = s.root.Rename(tmp, ackFile)
	}
	if err == nil {
		err = s.syncDir()
	}
	if err != nil {
		return fmt.Errorf("save spool cursor: %w", err)
	}
	return nil
}

// reclaim deletes the oldest segments while every record in them is acknowledged and
// the reader has moved past them.
func (s *Spool) reclaim() error {
	removed := 0
	var err error
	for {
		s.mu.Lock()
		if len(s.segs) < 2 || s.segs[1].first > s.acked+1 || s.rseg == 0 {
			s.mu.Unlock()
			break
		}
		path := s.segs[0].path
		if err = s.root.Remove(s.segs[0].name); err != nil && !os.IsNotExist(err) {
			s.mu.Unlock()
			s.log.Warn("spool: could not delete an acknowledged segment", zap.String("segment", path), zap.Error(err))
			err = fmt.Errorf("delete spool segment: %w", err)
			break
		}
		err = nil
		s.segs = s.segs[1:]
		s.rseg--
		s.mu.Unlock()
		removed++
	}
	if removed > 0 {
		if e := s.syncDir(); e != nil {
			return errors.Join(err, e)
		}
	}
	return err
}
