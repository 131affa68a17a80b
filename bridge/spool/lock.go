package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFile is the file in the spool directory that the owning process holds an
// exclusive flock on, and into which it writes its PID.
const lockFile = "lock"

// ErrLocked is returned by Open when another process holds the spool directory.
var ErrLocked = errors.New("spool directory is in use by another process")

// dirLock is an exclusive flock on the spool directory's lock file. The kernel
// releases it when the process ends, however it ends, so a crash never leaves a stale
// lock behind.
type dirLock struct {
	f    *os.File
	path string
	ino  uint64
}

// lockDir takes the lock of dir or fails at once, before anything in dir is read or
// written, naming the directory and, where readable, the holder's PID.
func lockDir(root *os.Root, dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFile)
	f, err := root.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("open spool lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := root.ReadFile(lockFile); rerr == nil {
			if pid := strings.TrimSpace(string(b)); pid != "" {
				holder = " (pid " + pid + ")"
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w%s: %s; every imbridge process needs a spool directory of its own", ErrLocked, holder, dir)
		}
		return nil, fmt.Errorf("lock spool directory %s: %w", dir, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat spool lock: %w", err)
	}
	// The PID is for the message a second process prints; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f, path: path, ino: st.Ino}, nil
}

// check returns an error when the lock is no longer ours: the lock file at the
// directory's path was removed or replaced (the directory deleted or recreated under
// the process), so another process could take the directory. It looks up the path on
// purpose, not the directory opened at Open.
func (l *dirLock) check() error {
	var st syscall.Stat_t
	if err := syscall.Stat(l.path, &st); err != nil {
		return fmt.Errorf("spool lock lost: %w", err)
	}
	if st.Ino != l.ino {
		return fmt.Errorf("spool lock lost: %s was replaced", l.path)
	}
	return nil
}

func (l *dirLock) release() error { return l.f.Close() }
