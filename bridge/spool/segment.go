// Segment files and the directory's durability.

package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

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
