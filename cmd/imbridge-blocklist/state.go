package main

import (
	"container/heap"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/imbridge/imbridge/bridge/events"
)

// Partition names one partition of one topic: where an event was read.
type Partition struct {
	Topic string
	ID    int
}

func (p Partition) String() string { return p.Topic + "/" + strconv.Itoa(p.ID) }

// State is every user's blocklist, with what it takes to apply the next events in the
// right order and to resume reading where it stopped: per (user, target) the version
// of the last change applied (a removal stays as a tombstone until it is older than
// the horizon), and per partition the next offset to read and the newest version read.
// It is safe for concurrent use; one goroutine applies, any number read.
type State struct {
	mu sync.RWMutex
	// lists holds, per user and target, the last change applied.
	lists map[string]map[string]entry
	// horizon is how much older (in version milliseconds) than the newest version read
	// from its partition a tombstone may be before it is dropped; 0 keeps them all.
	horizon int64
	parts   []*partState
	index   map[Partition]int32

	blocked, tombstones       int64
	applied, ignored, dropped int64

	// now is the clock versions without a receivedAt, and a loaded snapshot's, are
	// clamped against (events.ClampVersion).
	now func() time.Time
}

// versionTolerance is how far ahead of the event's receivedAt a version may be before
// it counts as receivedAt plus the tolerance (events.ClampVersion): imbridge's rule
// takes an EventTime up to the signature window (60 s) after a RequestTime that may be
// 60 s ahead of the replica's clock. A version further ahead (a year-9999 EventTime
// published before imbridge's version rule) would otherwise win over every later change
// for good.
const versionTolerance = 2 * time.Minute

// entry is the last change applied to one (user, target). part is the partition of a
// removal, whose newest version decides when its tombstone is dropped.
type entry struct {
	version int64
	part    int32
	blocked bool
}

// partState is what the State knows of one partition.
type partState struct {
	Partition
	// next is the offset the next read starts from; -1 until the consumer read any.
	next int64
	// newest is the greatest version read from the partition: the clock tombstones age
	// by. One user's changes come from one partition, so a partition read ahead of
	// another (a catch-up, a replay) cannot age the other's tombstones.
	newest     int64
	tombstones tombHeap
}

// NewState returns an empty State that drops a tombstone once it is more than horizon
// older than the newest version read from its partition; horizon 0 keeps every one.
func NewState(horizon time.Duration) *State {
	return &State{lists: map[string]map[string]entry{}, index: map[Partition]int32{}, horizon: horizon.Milliseconds(), now: time.Now}
}

// part returns the state of p, adding it on first use. s.mu is held for writing.
func (s *State) part(p Partition) *partState {
	if i, ok := s.index[p]; ok {
		return s.parts[i]
	}
	ps := &partState{Partition: p, next: -1}
	s.index[p] = int32(len(s.parts))
	s.parts = append(s.parts, ps)
	return ps
}

// Apply applies one decoded event read from partition from if events.Newer says its
// version (clamped to versionTolerance after its receivedAt) is newer than the change
// held for its (user, target), and reports whether it did; other
// event types are ignored. Tombstones of from that the event's version makes older
// than the horizon are dropped first: from then on an older addition of their pair is
// applied.
func (s *State) Apply(from Partition, ev any) bool {
	var p *events.Pair
	var blocked bool
	switch e := ev.(type) {
	case *events.BlocklistAdded:
		p, blocked = &e.Pair, true
	case *events.BlocklistRemoved:
		p = &e.Pair
	default:
		return false
	}
	// Clamped against when the event was received, which the record carries, so that
	// reading the topic again days later gives the same state.
	ref := p.ReceivedAt
	if ref.IsZero() {
		ref = s.now()
	}
	version := events.ClampVersion(p.Version, ref, versionTolerance)
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.part(from)
	if version > ps.newest {
		ps.newest = version
		s.prune(ps)
	}
	list := s.lists[p.FromAccount]
	held, ok := list[p.ToAccount]
	if ok && !events.Newer(version, held.version) {
		s.ignored++
		return false
	}
	if list == nil {
		list = map[string]entry{}
		s.lists[p.FromAccount] = list
	}
	if ok {
		s.count(held, -1)
	}
	e := entry{version: version, part: s.index[from], blocked: blocked}
	list[p.ToAccount] = e
	s.count(e, 1)
	s.applied++
	if !blocked && s.horizon > 0 {
		heap.Push(&ps.tombstones, tomb{version: version, user: p.FromAccount, target: p.ToAccount})
		s.prune(ps) // a removal already older than the horizon is not kept either
	}
	return true
}

func (s *State) count(e entry, n int64) {
	if e.blocked {
		s.blocked += n
	} else {
		s.tombstones += n
	}
}

// prune drops the tombstones of ps older than the horizon. s.mu is held for writing.
func (s *State) prune(ps *partState) {
	if s.horizon == 0 {
		return
	}
	cutoff := ps.newest - s.horizon
	for len(ps.tombstones) > 0 && ps.tombstones[0].version < cutoff {
		t := heap.Pop(&ps.tombstones).(tomb)
		list := s.lists[t.user]
		// The pair may have changed since (a newer addition, a repeated removal): only
		// the tombstone this item stands for is dropped.
		if e, ok := list[t.target]; ok && !e.blocked && e.version == t.version && s.parts[e.part] == ps {
			delete(list, t.target)
			s.tombstones--
			s.dropped++
			if len(list) == 0 {
				delete(s.lists, t.user)
			}
		}
	}
}

// Advance records that the next read of p starts at offset next: everything before it
// has been applied.
func (s *State) Advance(p Partition, next int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.part(p).next = next
}

// Next returns the offset the next read of p starts at, and false when the State has
// read nothing of p.
func (s *State) Next(p Partition) (int64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if i, ok := s.index[p]; ok && s.parts[i].next >= 0 {
		return s.parts[i].next, true
	}
	return 0, false
}

// Blocklist returns user's blocklist, sorted.
func (s *State) Blocklist(user string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []string{}
	for u, e := range s.lists[user] {
		if e.blocked {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// Stats are the State's counters, as GET /stats answers them.
type Stats struct {
	// Applied and Ignored count blocklist events applied, and ignored as older than the
	// change held, since the state began (a snapshot carries them over).
	Applied int64 `json:"applied"`
	Ignored int64 `json:"ignored"`
	// Users hold at least one entry; Blocked pairs and Tombstones (removals kept to
	// refuse older additions) are the entries.
	Users      int   `json:"users"`
	Blocked    int64 `json:"blocked"`
	Tombstones int64 `json:"tombstones"`
	// TombstonesDropped counts tombstones dropped as older than the horizon.
	TombstonesDropped int64 `json:"tombstonesDropped"`
}

// Stats returns the State's counters.
func (s *State) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return Stats{Applied: s.applied, Ignored: s.ignored, Users: len(s.lists), Blocked: s.blocked,
		Tombstones: s.tombstones, TombstonesDropped: s.dropped}
}

// Applied returns how many blocklist events were applied.
func (s *State) Applied() int64 { return s.Stats().Applied }

// Ignored returns how many blocklist events were ignored as older than the change held.
func (s *State) Ignored() int64 { return s.Stats().Ignored }

// tomb is a removal waiting to be dropped once older than the horizon.
type tomb struct {
	version      int64
	user, target string
}

// tombHeap orders a partition's removals by version, the oldest first.
type tombHeap []tomb

func (h tombHeap) Len() int           { return len(h) }
func (h tombHeap) Less(i, j int) bool { return h[i].version < h[j].version }
func (h tombHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *tombHeap) Push(x any)        { *h = append(*h, x.(tomb)) }
func (h *tombHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = tomb{} // let the strings go
	*h = old[:len(old)-1]
	return t
}
