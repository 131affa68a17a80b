package main

import (
	"bufio"
	"compress/gzip"
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge/events"
)

// A snapshot file is gzip (whose CRC-32 and length catch a damaged or cut file) around
// JSON values, one a line: a snapshotHeader, then one snapshotUser per user that holds
// an entry. It is written to a temporary file in the same directory, synced, renamed
// over the previous one and the directory synced, so that the file is always a whole
// snapshot, the previous one or the new one.

// snapshotFormat names the layout; a file of another layout is refused.
const snapshotFormat = "imbridge-blocklist snapshot 1"

// snapshotHeader is the first value of a snapshot.
type snapshotHeader struct {
	Format string `json:"format"`
	// Topics are the topics the state was read from (--topics, sorted).
	Topics  []string  `json:"topics"`
	Written time.Time `json:"written"`
	// Partitions are the partitions read: next offset and newest version of each.
	Partitions []snapshotPartition `json:"partitions"`
	Applied    int64               `json:"applied"`
	Ignored    int64               `json:"ignored"`
	Dropped    int64               `json:"tombstonesDropped"`
	// Users is how many snapshotUser values follow.
	Users int `json:"users"`
}

type snapshotPartition struct {
	Topic     string `json:"topic"`
	Partition int    `json:"partition"`
	// Next is the offset reading resumes at (-1: none read yet, from the first offset).
	Next   int64 `json:"next"`
	Newest int64 `json:"newest"`
}

// snapshotUser is one user's entries: blocked targets and tombstones, by target.
type snapshotUser struct {
	User    string                  `json:"user"`
	Blocked map[string]int64        `json:"blocked,omitempty"`
	Removed map[string]snapshotTomb `json:"removed,omitempty"`
}

type snapshotTomb struct {
	Version int64 `json:"version"`
	// From is the index, in the header's Partitions, of the partition the removal was
	// read from.
	From int `json:"from"`
}

// SnapshotError is a snapshot that cannot be used: the file and why.
type SnapshotError struct {
	Path string
	Err  error
}

func (e *SnapshotError) Error() string {
	return fmt.Sprintf("snapshot %s is not usable: %v; to start over, move it aside and start again: "+
		"the state is then rebuilt from the topics' first offset, without what their retention deleted", e.Path, e.Err)
}

func (e *SnapshotError) Unwrap() error { return e.Err }

// WriteSnapshot writes the state to w as the snapshot of topics. Applying waits
// meanwhile; readers do not.
func (s *State) WriteSnapshot(w io.Writer, topics []string, now time.Time) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	h := snapshotHeader{Format: snapshotFormat, Topics: sortedCopy(topics), Written: now.UTC(),
		Applied: s.applied, Ignored: s.ignored, Dropped: s.dropped, Users: len(s.lists)}
	for _, ps := range s.parts {
		h.Partitions = append(h.Partitions, snapshotPartition{Topic: ps.Topic, Partition: ps.ID, Next: ps.next, Newest: ps.newest})
	}
	enc := json.NewEncoder(zw)
	if err := enc.Encode(h); err != nil {
		return err
	}
	for user, list := range s.lists {
		u := snapshotUser{User: user}
		for target, e := range list {
			if e.blocked {
				if u.Blocked == nil {
					u.Blocked = map[string]int64{}
				}
				u.Blocked[target] = e.version
			} else {
				if u.Removed == nil {
					u.Removed = map[string]snapshotTomb{}
				}
				u.Removed[target] = snapshotTomb{Version: e.version, From: int(e.part)}
			}
		}
		if err := enc.Encode(u); err != nil {
			return err
		}
	}
	return zw.Close()
}

// ReadSnapshot reads a snapshot written by WriteSnapshot for topics and returns its
// state, tombstones dropped to horizon. Anything out of place is an error: a damaged
// file, another layout, other topics, values that WriteSnapshot does not write.
func ReadSnapshot(r io.Reader, topics []string, horizon time.Duration) (*State, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(zr)
	dec.DisallowUnknownFields()
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if h.Format != snapshotFormat {
		return nil, fmt.Errorf("format %q, want %q", h.Format, snapshotFormat)
	}
	if want := sortedCopy(topics); !slices.Equal(h.Topics, want) {
		return nil, fmt.Errorf("it holds the state of topics %s, not of --topics %s", strings.Join(h.Topics, ","), strings.Join(want, ","))
	}
	if h.Applied < 0 || h.Ignored < 0 || h.Dropped < 0 || h.Users < 0 {
		return nil, errors.New("header: negative count")
	}
	s := NewState(horizon)
	s.applied, s.ignored, s.dropped = h.Applied, h.Ignored, h.Dropped
	for _, p := range h.Partitions {
		key := Partition{Topic: p.Topic, ID: p.Partition}
		_, dup := s.index[key]
		switch {
		case !slices.Contains(h.Topics, p.Topic) || p.Partition < 0 || dup:
			return nil, fmt.Errorf("header: partition %s unknown or repeated", key)
		case p.Next < -1:
			return nil, fmt.Errorf("header: partition %s: offset %d", key, p.Next)
		}
		ps := s.part(key)
		ps.next, ps.newest = p.Next, events.ClampVersion(p.Newest, s.now(), versionTolerance)
	}
	for i := 0; i < h.Users; i++ {
		var u snapshotUser
		if err := dec.Decode(&u); err != nil {
			return nil, fmt.Errorf("user %d of %d: %w", i+1, h.Users, err)
		}
		if err := s.restoreUser(u); err != nil {
			return nil, fmt.Errorf("user %d of %d: %w", i+1, h.Users, err)
		}
	}
	// Reading to the end also checks gzip's CRC-32 and length.
	if err := dec.Decode(&json.RawMessage{}); err != io.EOF {
		if err == nil {
			err = errors.New("more values than the header counts")
		}
		return nil, fmt.Errorf("after user %d: %w", h.Users, err)
	}
	for _, ps := range s.parts {
		heap.Init(&ps.tombstones)
		s.prune(ps)
	}
	return s, nil
}

// restoreUser adds one snapshotUser to a State being read (no lock needed: it is not
// shared yet).
func (s *State) restoreUser(u snapshotUser) error {
	if u.User == "" || len(u.Blocked)+len(u.Removed) == 0 {
		return errors.New("no user or no entry")
	}
	if _, dup := s.lists[u.User]; dup {
		return fmt.Errorf("%q repeated", u.User)
	}
	list := make(map[string]entry, len(u.Blocked)+len(u.Removed))
	for target, v := range u.Blocked {
		if target == "" {
			return fmt.Errorf("%q: empty target", u.User)
		}
		list[target] = entry{version: events.ClampVersion(v, s.now(), versionTolerance), blocked: true}
		s.blocked++
	}
	for target, t := range u.Removed {
		if _, both := list[target]; both || target == "" || t.From < 0 || t.From >= len(s.parts) {
			return fmt.Errorf("%q: removed %q: empty, also blocked, or from an unknown partition", u.User, target)
		}
		t.Version = events.ClampVersion(t.Version, s.now(), versionTolerance)
		list[target] = entry{version: t.Version, part: int32(t.From)}
		s.tombstones++
		if s.horizon > 0 {
			ps := s.parts[t.From]
			ps.tombstones = append(ps.tombstones, tomb{version: t.Version, user: u.User, target: target})
		}
	}
	s.lists[u.User] = list
	return nil
}

func sortedCopy(v []string) []string {
	out := slices.Clone(v)
	slices.Sort(out)
	return out
}

// snapshotFile is where the consumer keeps its snapshot.
type snapshotFile struct {
	path   string
	topics []string
	now    func() time.Time
}

// load returns the state of the snapshot, or nil when there is none. A snapshot that
// cannot be used is a *SnapshotError. Temporary files a crash left behind are removed.
func (f *snapshotFile) load(horizon time.Duration) (*State, error) {
	f.removeTemporaries()
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &SnapshotError{Path: f.path, Err: err}
	}
	defer file.Close()
	s, err := ReadSnapshot(bufio.NewReaderSize(file, 1<<20), f.topics, horizon)
	if err != nil {
		return nil, &SnapshotError{Path: f.path, Err: err}
	}
	return s, nil
}

// write replaces the snapshot with s's, atomically, and returns its size.
func (f *snapshotFile) write(s *State) (int64, error) {
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return 0, err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := s.WriteSnapshot(bw, f.topics, f.now()); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	info, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return 0, err
	}
	done = true
	// The rename is durable once the directory is.
	d, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	return info.Size(), d.Sync()
}

func (f *snapshotFile) removeTemporaries() {
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), base+".tmp-") {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
