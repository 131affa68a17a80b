package spool

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"go.uber.org/zap"
)

// The spool holds callbacks' bodies: its directory and files are for the owner alone.
// Open creates them so (the umask can only take bits away) and takes group and other
// bits off an existing directory and the regular files in it.
const (
	dirPerm  fs.FileMode = 0o700
	filePerm fs.FileMode = 0o600
)

// tightenModes takes every group and other permission bit off the spool directory and
// the regular files directly in it (segments, the cursor, the lock, temporary files),
// and logs one INFO line when it changed something. It needs the directory's lock.
// A mode that cannot be changed (a directory owned by another user, say) is logged,
// not fatal: the spool works as before.
func (s *Spool) tightenModes() {
	d, err := s.root.Open(".")
	if err != nil {
		s.log.Warn("spool: cannot check the permissions of the spool directory", zap.String("dir", s.dir), zap.Error(err))
		return
	}
	defer d.Close()
	var changed []string
	var errs []error
	if st, err := d.Stat(); err != nil {
		errs = append(errs, err)
	} else if m := st.Mode().Perm(); m&^dirPerm != 0 {
		// Special bits stay: a setgid directory (a Kubernetes fsGroup volume) keeps
		// giving new files its group.
		if err := d.Chmod(st.Mode() &^ (fs.ModePerm &^ dirPerm)); err != nil {
			errs = append(errs, fmt.Errorf("chmod %s: %w", s.dir, err))
		} else {
			changed = append(changed, fmt.Sprintf("directory %04o", m))
		}
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		errs = append(errs, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return cmp.Compare(a.Name(), b.Name()) })
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		m := info.Mode().Perm()
		if m&^filePerm == 0 {
			continue
		}
		if err := s.root.Chmod(e.Name(), m&filePerm); err != nil {
			errs = append(errs, err)
			continue
		}
		changed = append(changed, fmt.Sprintf("%s %04o", e.Name(), m))
	}
	if len(changed) > 0 {
		s.log.Info("spool: took group and other permissions off its directory and files, which hold callbacks' bodies",
			zap.String("dir", s.dir), zap.Strings("changed", changed))
	}
	if err := errors.Join(errs...); err != nil {
		s.log.Warn("spool: cannot restrict the permissions of the spool directory to its owner", zap.String("dir", s.dir), zap.Error(err))
	}
}
