package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge/spool"
)

// spoolStatusUsage is the help of imbridge spool status.
func spoolStatusUsage() string {
	return fmt.Sprintf(`Usage: imbridge spool status [--json] [DIR]

Says what a spool directory holds, whether a process runs on it or not: the callbacks
and records not yet acknowledged by Kafka, the age of the oldest, the segment files
and their bytes, the acknowledgement cursor, and whether a process holds the spool's
lock. DIR defaults to IMBRIDGE_SPOOL_DIR (as serve has it, default %q).

It reads the files only: it takes no lock (a running imbridge is not disturbed, and
starting one beside it is not refused) and writes nothing. It counts the entries that
are whole on disk with a valid checksum: an append being written at that moment is not
counted, and an entry acknowledged while it reads may still be. Whether the lock is
held is read from the kernel's list of locks (/proc/locks), not by trying it.

Output: one line per item on stdout, or with --json one JSON object:
  dir                         the directory read
  locked, lock_known          a process holds the lock (false, and lock_known false,
                              when /proc/locks cannot be read)
  lock_pid                    the PID the lock file names (its holder, or the last one;
                              0 when it names none)
  pending_entries             callbacks not yet acknowledged by Kafka
  pending_records             their Kafka records
  pending_bytes               their bytes on disk (compressed, headers included)
  oldest_pending              append time of the oldest (RFC 3339; null when none)
  oldest_pending_age_seconds  its age now (0 when none)
  segments, segment_bytes     segment files and their size (acknowledged entries
                              still in them included)
  acknowledged_through        the cursor: every entry up to this sequence number
                              reached Kafka (0: none saved yet)
  cursor_error                why imbridge would refuse the cursor file (then every
                              entry counts as pending); absent when it is sound
  last_entry                  the sequence number of the newest whole entry
  partial_bytes               bytes at the end of the newest segment that are no
                              whole entry (an append being written, or a write torn
                              by a crash that the next start cuts off)
  corrupt_bytes               bytes elsewhere that hold no valid entry

Exit status: 0 when DIR was read; 1 when it cannot be read or holds no spool (no lock
file, no *.seg segment); 2 for bad usage.

Flags:
  --json
      print one JSON object instead of lines
`, serveDefault("IMBRIDGE_SPOOL_DIR"))
}

// spoolStatusJSON is the --json output of imbridge spool status; spoolStatusUsage
// states its fields.
type spoolStatusJSON struct {
	Dir              string     `json:"dir"`
	Locked           bool       `json:"locked"`
	LockKnown        bool       `json:"lock_known"`
	LockPID          int        `json:"lock_pid"`
	PendingEntries   int64      `json:"pending_entries"`
	PendingRecords   int64      `json:"pending_records"`
	PendingBytes     int64      `json:"pending_bytes"`
	OldestPending    *time.Time `json:"oldest_pending"`
	OldestPendingAge float64    `json:"oldest_pending_age_seconds"`
	Segments         int        `json:"segments"`
	SegmentBytes     int64      `json:"segment_bytes"`
	Acknowledged     uint64     `json:"acknowledged_through"`
	CursorError      string     `json:"cursor_error,omitempty"`
	LastEntry        uint64     `json:"last_entry"`
	PartialBytes     int64      `json:"partial_bytes"`
	CorruptBytes     int64      `json:"corrupt_bytes"`
}

// spoolStatus runs `imbridge spool status [--json] [DIR]`.
func spoolStatus(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	const short = "Usage: imbridge spool status [--json] [DIR]\n(imbridge spool status --help says what it prints)\n"
	usageErr := usageError(stderr, "spool status", short)
	fs := flag.NewFlagSet("imbridge spool status", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are worded below, help is spoolStatusUsage
	asJSON := fs.Bool("json", false, "")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, spoolStatusUsage())
		return 0
	case err != nil:
		return usageErr("%v", err)
	case fs.NArg() > 1:
		return usageErr("unexpected argument %q after DIR (flags go before DIR)", fs.Arg(1))
	}
	dir := fs.Arg(0)
	if fs.NArg() == 0 {
		dir = serveDefault("IMBRIDGE_SPOOL_DIR")
		if v, ok := lookup("IMBRIDGE_SPOOL_DIR"); ok {
			dir = v
		}
		if dir == "" {
			return usageErr("IMBRIDGE_SPOOL_DIR is empty: name the spool directory")
		}
	}
	if err := checkSpoolDir(dir); err != nil {
		fmt.Fprintf(stderr, "imbridge spool status: %v\n", err)
		return 1
	}
	now := time.Now()
	st, err := spool.ReadStatus(dir)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge spool status: %v\n", err)
		return 1
	}
	if *asJSON {
		out := spoolStatusJSON{Dir: st.Dir, Locked: st.Locked, LockKnown: st.LockKnown, LockPID: st.HolderPID,
			PendingEntries: st.Entries, PendingRecords: st.Records, PendingBytes: st.Bytes,
			Segments: st.Segments, SegmentBytes: st.SegmentBytes, Acknowledged: st.Acknowledged,
			CursorError: st.CursorErr, LastEntry: st.Last, PartialBytes: st.Partial, CorruptBytes: st.Corrupt}
		if !st.Oldest.IsZero() {
			oldest := st.Oldest.UTC()
			out.OldestPending, out.OldestPendingAge = &oldest, max(now.Sub(st.Oldest).Seconds(), 0)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
		return 0
	}
	fmt.Fprint(stdout, statusLines(st, now))
	return 0
}

// statusLines is imbridge spool status's text output.
func statusLines(st spool.Status, now time.Time) string {
	var b strings.Builder
	line := func(item, format string, a ...any) {
		fmt.Fprintf(&b, "%-9s "+format+"\n", append([]any{item}, a...)...)
	}
	line("spool", "%s", st.Dir)
	pid := ""
	if st.HolderPID > 0 {
		pid = fmt.Sprintf(" (pid %d)", st.HolderPID)
	}
	switch {
	case !st.LockKnown:
		line("lock", "unknown: /proc/locks cannot be read%s", strings.Replace(pid, "(pid", "(the lock file names pid", 1))
	case st.Locked:
		line("lock", "held%s: a running imbridge owns this spool and forwards it", pid)
	case pid != "":
		line("lock", "free: no process runs on this spool (the last holder was pid %d)", st.HolderPID)
	default:
		line("lock", "free: no process runs on this spool")
	}
	line("pending", "%s", describe(spool.Stats{Entries: st.Entries, Records: st.Records, Bytes: st.Bytes, Oldest: st.Oldest}, now))
	if st.Oldest.IsZero() {
		line("oldest", "none: Kafka has every entry")
	} else {
		line("oldest", "appended %s, %s ago", st.Oldest.UTC().Format(time.RFC3339Nano), now.Sub(st.Oldest).Round(time.Millisecond))
	}
	files := "files"
	if st.Segments == 1 {
		files = "file"
	}
	line("segments", "%d %s, %s", st.Segments, files, byteSize(st.SegmentBytes))
	if st.CursorErr != "" {
		line("cursor", "refused: %s (imbridge would not start on it; see \"The spool's files\" in the README); every entry counted as pending", st.CursorErr)
	} else {
		line("cursor", "acknowledged through entry %d; the newest entry is %d", st.Acknowledged, st.Last)
	}
	if st.Partial > 0 {
		line("tail", "%s at the end of the newest segment are no whole entry: an append being written, or a write torn by a crash (cut off at the next start)", byteSize(st.Partial))
	}
	if st.Corrupt > 0 {
		line("corrupt", "%s hold no valid entry (imbridge skips them and logs an error)", byteSize(st.Corrupt))
	}
	return b.String()
}

// serveDefault is the default of serve's setting env, from the settings table.
func serveDefault(env string) string {
	for _, s := range settings {
		if s.env == env {
			return s.def
		}
	}
	return ""
}
