package bridge

import (
	"hash/maphash"
	"sync"
	"time"
)

// Versioner gives the events of one replica their versions, by one rule (the README's
// "The version rule"): in Unix milliseconds,
//
//  1. the base of a callback is its EventTime when it carries one that is plausible:
//     at most MaxSkew after the request's time (RequestTime of a signed callback,
//     else the replica's clock); an EventTime further ahead does not set the version,
//     which cannot then be pushed into the future by a wrong clock or a forged body
//     (the event keeps EventTime as sent and says versionClamped);
//  2. otherwise the base is the later of RequestTime's second (signed callbacks) and
//     the replica's clock;
//  3. where a clock sets either version (this one by rule 2, or the subject's last
//     one), a subject's version is never below the last version this replica gave that
//     subject, so that a change acknowledged later by one replica is never below an
//     earlier one, whatever the mix of EventTime, RequestTime and clock steps; where it
//     would be, it equals the last one, and the tie keeps the replica's order (the
//     record read later wins, and one replica publishes a key's records in order).
//     Between EventTimes alone Chat's order stands, also when changes arrive out of
//     order.
//
// An EventTime below 10^12 (before 2001-09-09 in milliseconds: seconds, or garbage)
// is not plausible either: clamped as in 1.
//
// The base is each event's: the events of a callback share its EventTime, but a
// batch's entries carry their own (Push.*, Subject.EventTime).
//
// A subject here is the pair (From_Account, To_Account) of a relationship event, the
// record key of any other: what a consumer compares per (events.SubjectOf: a group and
// member, a group message, ...) lies within it, so rule 3 holds for that too. Every event of one subject in one
// callback with one base shares the version (a batch's entries of one subject reported at
// different times get their own, in the batch's order). Rule 3 remembers a subject for at
// least DefaultRememberFor after its last version (up to twice that while callbacks keep
// coming: generations turn only at a callback, so an idle replica remembers longer), unless
// DefaultMaxKeys/2 other subjects got versions meanwhile, which makes it forget sooner:
// it keeps two generations of subjects, the current one and the one before, and drops
// the older when the current is DefaultRememberFor old or holds DefaultMaxKeys/2, so
// that forgetting costs no scan, which would hold every callback meanwhile. A change of a forgotten subject whose base is older than its
// last version may get a lower one. Subjects are remembered by a 64-bit hash of their name (16 bytes each, the
// map's overhead apart), not the name: two subjects whose hashes collide (about one
// chance in 10^7 among a million subjects) share one last version, which can raise a
// version where a clock is involved, and can lower one as forgetting does: after A's
// clock version, B's higher EventTime version clears the clock flag, and A's next
// EventTime is then taken as is, though below A's clock version. A Versioner is safe for
// concurrent use; the zero value is not ready: use NewVersioner.
type Versioner struct {
	maxSkew     time.Duration
	rememberFor time.Duration
	maxKeys     int

	seed maphash.Seed
	mu   sync.Mutex
	// cur holds the subjects given a version since started, old those of the
	// generation before; a subject is looked up in both and written to cur.
	cur, old map[uint64]lastVersion
	started  time.Time
}

// Defaults of NewVersioner.
const (
	// DefaultRememberFor is how long, at least, a Versioner remembers a key's last
	// version (see Versioner).
	DefaultRememberFor = 10 * time.Minute
	// DefaultMaxKeys bounds the keys a Versioner remembers (about 30 bytes each, with
	// the map's overhead: 30 MB at most).
	DefaultMaxKeys = 1_000_000
)

// NewVersioner returns a Versioner that takes an EventTime as plausible up to maxSkew
// after the request's time (the signature window, IMBRIDGE_SIGN_MAX_SKEW); zero means
// DefaultMaxSkew, as for Verifier.MaxSkew.
func NewVersioner(maxSkew time.Duration) *Versioner {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	return &Versioner{maxSkew: maxSkew, rememberFor: DefaultRememberFor, maxKeys: DefaultMaxKeys, seed: maphash.MakeSeed(),
		cur: map[uint64]lastVersion{}, old: map[uint64]lastVersion{}}
}

// lastVersion is the last version a Versioner gave a subject, shifted left by one,
// and in the low bit whether a clock (rule 2), not Chat's EventTime, set it: one word
// per subject.
type lastVersion int64

func newLastVersion(v int64, clock bool) lastVersion {
	l := lastVersion(v << 1)
	if clock {
		l |= 1
	}
	return l
}

func (l lastVersion) v() int64    { return int64(l >> 1) }
func (l lastVersion) clock() bool { return l&1 != 0 }

// minEventTime is the smallest EventTime taken as Unix milliseconds (2001-09-09): a
// smaller one is seconds or garbage, and would version a change in 1970.
const minEventTime = 1_000_000_000_000

// Assign sets VersionMs (and VersionClamped) of every event of one callback, as Map
// made them; signed says whether the callback's RequestTime was verified, and now is
// the replica's clock when it received the callback (its ReceivedAt).
func (v *Versioner) Assign(events []Event, signed bool, now time.Time) {
	if len(events) == 0 {
		return
	}
	clock := now.UnixMilli()
	ref := clock
	// A signed RequestTime is within the signature window of the clock (Verify); one
	// further away was not verified against this clock (a replay of a callback kept
	// unsigned) and is not a base: it would put the version in the future, or past
	// what lastVersion holds. A second of slack for the clock's milliseconds.
	window := v.maxSkew.Milliseconds() + 1000
	if rt := events[0].RequestTime; signed && rt > 0 && rt <= (clock+window)/1000 && rt*1000 >= clock-window {
		ref = rt * 1000
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.rotate(now)
	// Events of one subject with one base share a version: every event of a callback,
	// and of a batch the entries of one subject reported at one time.
	type subjectBase struct {
		subject uint64 // its hash, as remembered
		base    int64
	}
	given := map[subjectBase]int64{}
	for i := range events {
		// Each event's own EventTime: the same for every event of a callback but a
		// batch's, whose entries carry their own (Subject.EventTime).
		base, clamped, fromClock := max(clock, ref), false, true
		if et := events[i].EventTime; et > 0 {
			if et >= minEventTime && et <= ref+v.maxSkew.Milliseconds() {
				base, fromClock = et, false
			} else {
				clamped = true
			}
		}
		h := maphash.String(v.seed, events[i].subject())
		ver, ok := given[subjectBase{h, base}]
		if !ok {
			// Rule 3 where a clock is involved: Chat's EventTimes alone order a
			// subject as Chat made its changes, also when they arrive out of order.
			prev, ok := v.cur[h]
			if !ok {
				prev = v.old[h]
			}
			ver = base
			if fromClock || prev.clock() {
				ver = max(base, prev.v())
			}
			given[subjectBase{h, base}] = ver
			v.cur[h] = newLastVersion(max(prev.v(), ver), fromClock || (prev.clock() && prev.v() > ver))
		}
		events[i].VersionMs = ver
		events[i].VersionClamped = clamped
	}
}

// rotate starts a new generation when the current one is rememberFor old or holds
// maxKeys/2 subjects: the one before is forgotten whole.
func (v *Versioner) rotate(now time.Time) {
	if v.started.IsZero() {
		v.started = now
	}
	if now.Sub(v.started) < v.rememberFor && len(v.cur) < v.maxKeys/2 {
		return
	}
	v.old, v.cur, v.started = v.cur, map[uint64]lastVersion{}, now
}

// subject is what consumers order e by: the subject's Order (a relationship's pair)
// when set, else its key.
func (e *Event) subject() string {
	if e.Subject.Order != "" {
		return e.Subject.Order
	}
	return e.Subject.Key
}
