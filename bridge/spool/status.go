package spool

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Status is what a spool directory holds, as ReadStatus reads it from the files
// without opening the spool.
type Status struct {
	// Dir is the directory read.
	Dir string
	// Entries, Records and Bytes count the entries (callbacks) above the cursor that
	// are whole on disk, their Kafka records and their bytes on disk (headers
	// included): what the owner has still to forward.
	Entries int64
	Records int64
	Bytes   int64
	// Oldest is the append time of the oldest of those entries; zero if none.
	Oldest time.Time
	// Segments is the number of segment files, SegmentBytes their size together
	// (acknowledged entries still in them included).
	Segments     int
	SegmentBytes int64
	// Acknowledged is the cursor: every entry up to this sequence number reached
	// Kafka (0 when no cursor was saved yet). CursorErr says why the cursor file
	// cannot be trusted, the reason Open would refuse it; then Acknowledged is 0 and
	// every entry counts as pending.
	Acknowledged uint64
	CursorErr    string
	// Last is the sequence number of the newest whole entry, 0 if none.
	Last uint64
	// Partial is the bytes at the end of the newest segment that hold no whole entry:
	// an append being written by a live owner, or a torn tail that the next Open cuts
	// off. Corrupt is the bytes elsewhere that hold no valid entry.
	Partial int64
	Corrupt int64
	// Locked reports whether a process holds the spool's lock (so it is live: that
	// process appends and forwards); HolderPID is the PID written in the lock file
	// by its holder, 0 when not known. LockKnown is false when the lock could not be
	// checked (no /proc/locks); Locked is false then.
	Locked    bool
	HolderPID int
	LockKnown bool
}

// ErrNotSpool is returned by ReadStatus for a directory that holds neither a lock
// file nor a segment: a mistyped path, or the volume's mount point instead of the
// spool directory in it.
var ErrNotSpool = errors.New("not a spool directory (no lock file, no *.seg segment)")

// ReadStatus reads what the spool in dir holds without taking its lock and without
// writing anything, so it may run beside the process that owns the spool. It reads
// the cursor first and then every segment, counting the entries above the cursor
// that are whole and whose checksum matches: an append still being written is not
// counted, and an entry acknowledged while ReadStatus runs may still be. A segment
// deleted meanwhile (all of it acknowledged) is skipped. Segments are read whole,
// one at a time (at most Options.SegmentBytes, 64 MiB by default, in memory).
func ReadStatus(dir string) (Status, error) {
	st := Status{Dir: dir}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return st, fmt.Errorf("spool directory: %w", err)
	}
	var names []string
	hasLock := false
	for _, e := range entries {
		switch {
		case e.Name() == lockFile:
			hasLock = true
		case strings.HasSuffix(e.Name(), ".seg"):
			if _, err := strconv.ParseUint(strings.TrimSuffix(e.Name(), ".seg"), 10, 64); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	if !hasLock && len(names) == 0 {
		return st, fmt.Errorf("%s: %w", dir, ErrNotSpool)
	}
	if hasLock {
		st.Locked, st.HolderPID, st.LockKnown = lockState(filepath.Join(dir, lockFile))
	}
	// The cursor before the segments: the owner saves it before it deletes the
	// segments it covers, so no entry is missed, at worst one is counted that was
	// acknowledged meanwhile.
	if b, err := os.ReadFile(filepath.Join(dir, ackFile)); err == nil {
		if st.Acknowledged, err = parseCursor(b); err != nil {
			st.CursorErr = err.Error()
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return st, fmt.Errorf("read spool cursor: %w", err)
	}
	sort.Strings(names)
	for i, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted by its owner: every entry in it was acknowledged
		}
		if err != nil {
			return st, fmt.Errorf("read spool segment: %w", err)
		}
		st.Segments++
		st.SegmentBytes += int64(len(b))
		isLast := i == len(names)-1
		scanRecords(b, st.Last, func(off int64, h header) {
			if h.seq > st.Acknowledged {
				st.Entries++
				st.Bytes += headerSize + int64(h.length)
				st.Records += recordCount(b[off+headerSize : off+headerSize+int64(h.length)])
				if st.Oldest.IsZero() {
					st.Oldest = time.UnixMilli(h.time)
				}
			}
			st.Last = h.seq
		}, func(from, to int64) {
			if isLast && to == int64(len(b)) {
				st.Partial += to - from
			} else {
				st.Corrupt += to - from
			}
		})
	}
	return st, nil
}

// lockState reports whether a process holds the flock on the lock file at path,
// without taking it (even a shared lock taken for a moment would make the owner's
// Open fail if it started then): it looks for the file's device and inode among the
// kernel's FLOCK entries in /proc/locks. pid is what the lock file says; known is
// false when /proc/locks cannot be read.
func lockState(path string) (locked bool, pid int, known bool) {
	if b, err := os.ReadFile(path); err == nil {
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	var fi syscall.Stat_t
	if err := syscall.Stat(path, &fi); err != nil {
		return false, pid, false
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return false, pid, false
	}
	defer f.Close()
	dev := uint64(fi.Dev)
	// Linux's encoding of a device number: major in bits 8-19 and 32-43, minor in
	// bits 0-7 and 20-31; /proc/locks prints them in hex, the inode in decimal.
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, fi.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; a waiter's line has "->"
		// after its number and does not hold the lock.
		fields := strings.Fields(sc.Text())
		if len(fields) >= 6 && fields[1] == "FLOCK" && fields[5] == want {
			return true, pid, true
		}
	}
	return false, pid, sc.Err() == nil
}
