package main

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge/events"
)

const hour = int64(time.Hour / time.Millisecond)

var (
	partA = Partition{Topic: "blocklist", ID: 0}
	partB = Partition{Topic: "blocklist", ID: 1}
)

// A tombstone is kept while it is at most the horizon older than the newest version
// read from its partition, and dropped after: an older addition of its pair is then
// applied, which is the documented price of a bounded memory. Versions are the clock,
// never the wall clock: these versions are from 2022.
func TestTombstoneHorizon(t *testing.T) {
	const removed = int64(1669872112000)
	type step struct {
		from Partition
		ev   any
	}
	tests := []struct {
		name           string
		give           []step
		wantBlocklist  []string
		wantTombstones int64
		wantDropped    int64
	}{
		{"an older addition within the horizon is ignored",
			[]step{{partA, change(false, "u", "t", removed)}, {partA, change(true, "x", "y", removed+hour)},
				{partA, change(true, "u", "t", removed-1)}},
			[]string{}, 1, 0},
		{"a tombstone exactly the horizon old is kept",
			[]step{{partA, change(false, "u", "t", removed)}, {partA, change(true, "x", "y", removed+hour)}},
			[]string{}, 1, 0},
		{"a tombstone older than the horizon is dropped, and an older addition is then applied",
			[]step{{partA, change(false, "u", "t", removed)}, {partA, change(true, "x", "y", removed+hour+1)},
				{partA, change(true, "u", "t", removed-1)}},
			[]string{"t"}, 0, 1},
		{"another partition's newer versions do not age a tombstone",
			[]step{{partA, change(false, "u", "t", removed)}, {partB, change(true, "x", "y", removed+10*hour)},
				{partA, change(true, "u", "t", removed-1)}},
			[]string{}, 1, 0},
		{"a removal already older than the horizon is not kept",
			[]step{{partA, change(true, "x", "y", removed+2*hour)}, {partA, change(false, "u", "t", removed)},
				{partA, change(true, "u", "t", removed-1)}},
			[]string{"t"}, 0, 1},
		{"a tombstone replaced by a newer addition is not dropped with it",
			[]step{{partA, change(false, "u", "t", removed)}, {partA, change(true, "u", "t", removed+1)},
				{partA, change(true, "x", "y", removed+2*hour)}},
			[]string{"t"}, 0, 0},
		{"a newer removal of the pair keeps the pair's tombstone",
			[]step{{partA, change(false, "u", "t", removed)}, {partA, change(false, "u", "t", removed+hour)},
				{partA, change(true, "x", "y", removed+hour+2)}, {partA, change(true, "u", "t", removed+1)}},
			[]string{}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewState(time.Hour)
			for _, st := range tt.give {
				s.Apply(st.from, st.ev)
			}
			st := s.Stats()
			if d := cmp.Diff(tt.wantBlocklist, s.Blocklist("u")); d != "" || st.Tombstones != tt.wantTombstones || st.TombstonesDropped != tt.wantDropped {
				t.Fatalf("blocklist (-want +got):\n%s\ntombstones %d dropped %d, want %d and %d", d, st.Tombstones, st.TombstonesDropped,
					tt.wantTombstones, tt.wantDropped)
			}
		})
	}
}

// Memory holds the removals of one horizon: 10,000 removals, then the versions move
// on past the horizon, and the state holds no tombstone and no user but the one that
// moved them.
func TestTombstonesDroppedShrinkTheState(t *testing.T) {
	const base = int64(1669872112000)
	s := NewState(time.Hour)
	for i := 0; i < 10000; i++ {
		user, target := fmt.Sprintf("u%d", i/10), fmt.Sprintf("t%d", i%10)
		s.Apply(partA, change(true, user, target, base+int64(i)))
		s.Apply(partA, change(false, user, target, base+20000+int64(i)))
	}
	before := s.Stats()
	s.Apply(partA, change(true, "clock", "t", base+40000+hour))
	after := s.Stats()
	want := Stats{Applied: 20001, Users: 1, Blocked: 1, TombstonesDropped: 10000}
	if before.Tombstones != 10000 || before.Users != 1000 || after != want {
		t.Fatalf("before %+v (want 10000 tombstones of 1000 users), after %+v, want %+v", before, after, want)
	}
	for _, ps := range s.parts {
		if len(ps.tombstones) != 0 {
			t.Fatalf("%s: %d removals still queued", ps.Partition, len(ps.tombstones))
		}
	}
}

// The tombstones dropped, and so the state, depend on the records read and their order
// within each partition only: two partitions interleaved differently (readers that run
// at different speeds) end in the same state.
func TestHorizonIndependentOfInterleaving(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, uint64(time.Now().UnixNano())))
	const base = int64(1669872112000)
	for round := 0; round < 50; round++ {
		var a, b []any
		for i := 0; i < 200; i++ {
			v := base + int64(rng.IntN(4))*hour/2 + int64(i) // steps of half the horizon, late events included
			a = append(a, change(rng.IntN(2) == 0, fmt.Sprintf("a%d", rng.IntN(5)), fmt.Sprintf("t%d", rng.IntN(3)), v))
			b = append(b, change(rng.IntN(2) == 0, fmt.Sprintf("b%d", rng.IntN(5)), fmt.Sprintf("t%d", rng.IntN(3)), v+3*hour))
		}
		var states []*State
		for _, aFirst := range []bool{true, false} {
			s := NewState(time.Hour)
			i, j := 0, 0
			for i < len(a) || j < len(b) {
				if j == len(b) || (i < len(a) && (aFirst || rng.IntN(3) == 0)) {
					s.Apply(partA, a[i])
					i++
				} else {
					s.Apply(partB, b[j])
					j++
				}
			}
			states = append(states, s)
		}
		for u := 0; u < 5; u++ {
			for _, user := range []string{fmt.Sprintf("a%d", u), fmt.Sprintf("b%d", u)} {
				if d := cmp.Diff(states[0].Blocklist(user), states[1].Blocklist(user)); d != "" {
					t.Fatalf("round %d, %s (-a first +interleaved):\n%s", round, user, d)
				}
			}
		}
		if d := cmp.Diff(states[0].Stats(), states[1].Stats()); d != "" {
			t.Fatalf("round %d: stats (-a first +interleaved):\n%s", round, d)
		}
	}
}

// A version from the far future (a year-9999 EventTime published before imbridge's
// version rule) counts as the consumer's clock: a later removal wins (before: the
// addition stood for good).
// The clamp is against the event's receivedAt, which the record carries, so that a
// consumer reading the topic live, or hours later, or rebuilding from it after 48
// hours, ends the same (a clamp against the consumer's own clock left the addition
// standing when read later, and moved the horizon so that tombstones were dropped).
func TestFarFutureVersionIsClamped(t *testing.T) {
	t0 := time.UnixMilli(1669872112000)
	at := func(d time.Duration, add bool, user, target string, version int64) any {
		ev := change(add, user, target, version)
		switch e := ev.(type) {
		case *events.BlocklistAdded:
			e.ReceivedAt = t0.Add(d)
		case *events.BlocklistRemoved:
			e.ReceivedAt = t0.Add(d)
		}
		return ev
	}
	records := []any{
		at(0, true, "u", "t", 253402300799000),
		at(time.Hour, false, "u", "t", t0.Add(time.Hour).UnixMilli()),
		at(2*time.Hour, false, "v", "w", t0.Add(2*time.Hour).UnixMilli()),
		at(2*time.Hour+time.Second, true, "v", "w", t0.Add(2*time.Hour-time.Second).UnixMilli()), // older, published late
	}
	for _, readAt := range []time.Duration{0, 4 * time.Hour, 48 * time.Hour} {
		s := NewState(24 * time.Hour)
		s.now = func() time.Time { return t0.Add(readAt) }
		for _, r := range records {
			s.Apply(partA, r)
		}
		if u, v := s.Blocklist("u"), s.Blocklist("v"); len(u) != 0 || len(v) != 0 {
			t.Errorf("read %s after: u blocks %v, v blocks %v; want both unblocked", readAt, u, v)
		}
	}
}
