// What the spool does when the disk refuses a write: the error, the repair, the retries.

package spool

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"go.uber.org/zap"
)

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
