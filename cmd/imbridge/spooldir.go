// What spool drain and spool status share: checking a spool directory, wording what it holds.

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge/spool"
)

// describe says what a spool holds, for the progress lines and errors.
func describe(st spool.Stats, now time.Time) string {
	s := fmt.Sprintf("%d records (%s in %d callbacks", st.Records, byteSize(st.Bytes), st.Entries)
	if !st.Oldest.IsZero() {
		s += ", the oldest from " + now.Sub(st.Oldest).Round(time.Second).String() + " ago"
	}
	return s + ")"
}

// byteSize writes n bytes for people: 512 B, 1.5 KiB, 3.2 MiB, 1.0 GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 2 {
		v, i = v/unit, i+1
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMG"[i])
}

// checkSpoolDir refuses a DIR that is not a spool before Open creates one in it: a
// mistyped path, or the volume's mount point instead of the spool directory in it,
// would otherwise be "drained" of nothing, and get a lock file and a segment.
func checkSpoolDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool directory: %w", err)
	}
	for _, e := range entries {
		// A spool's directory holds the lock file from its first Open on, and its
		// segments; a copy may hold the segments only.
		if e.Name() == "lock" || strings.HasSuffix(e.Name(), ".seg") {
			return nil
		}
	}
	return fmt.Errorf("%s holds no spool (no lock file, no *.seg segment): name the directory the replica had as IMBRIDGE_SPOOL_DIR", dir)
}

// lockHolder names the process holding dir's lock as " (pid N)", the PID its holder
// wrote into the lock file, or "" when the file does not say.
func lockHolder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "lock"))
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return " (pid " + pid + ")"
	}
	return ""
}
