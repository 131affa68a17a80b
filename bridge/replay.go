package bridge

import (
	"crypto/sha256"
	"sync"
	"time"
)

// CallbackSeed returns the callback's identity, from which its events' IDs derive (see
// EventID): SHA-256 over SDKAppID, CallbackCommand, RequestTime and the raw body. Two
// callbacks with the same seed are the same request sent twice.
func CallbackSeed(cb Callback) [sha256.Size]byte { return eventIDSeed(cb) }

// DefaultReplayCacheSize is the most callbacks a ReplayCache remembers when its size
// is 0: at about 100 bytes each, 10 MiB; enough for 800 callbacks a second within the
// default two minutes.
const DefaultReplayCacheSize = 100000

// ReplayCache remembers the seeds of callbacks answered OK for a window of time, so
// that an exact replay of one (same SDKAppID, RequestTime, command and body) can be
// answered without publishing its events again. Chat's Sign covers only the token and
// RequestTime, so a captured signed URL verifies until the skew window closes, on
// either side of RequestTime: a window of twice the skew covers every replay that
// verification lets through.
//
// It holds at most size seeds; when full, the oldest is forgotten early, and a replay
// of it is published again (with the same event IDs). It is safe for concurrent use.
type ReplayCache struct {
	window time.Duration
	size   int

	mu    sync.Mutex
	seen  map[[sha256.Size]byte]struct{}
	queue []replayEntry // in the order added, which is the order of expiry
	head  int
}

type replayEntry struct {
	seed    [sha256.Size]byte
	expires time.Time
}

// NewReplayCache returns a cache that remembers a seed for window, and at most size
// seeds (0: DefaultReplayCacheSize).
func NewReplayCache(window time.Duration, size int) *ReplayCache {
	if size <= 0 {
		size = DefaultReplayCacheSize
	}
	return &ReplayCache{window: window, size: size, seen: map[[sha256.Size]byte]struct{}{}}
}

// Seen reports whether seed was added less than the window before now.
func (c *ReplayCache) Seen(seed [sha256.Size]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	_, ok := c.seen[seed]
	return ok
}

// Add remembers seed from now on for the window.
func (c *ReplayCache) Add(seed [sha256.Size]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if _, ok := c.seen[seed]; ok {
		return
	}
	if len(c.seen) >= c.size {
		c.drop()
	}
	c.seen[seed] = struct{}{}
	c.queue = append(c.queue, replayEntry{seed: seed, expires: now.Add(c.window)})
}

// Len returns how many seeds the cache holds.
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// expire forgets the seeds whose window ended at or before now.
func (c *ReplayCache) expire(now time.Time) {
	for c.head < len(c.queue) && !c.queue[c.head].expires.After(now) {
		c.drop()
	}
}

// drop forgets the oldest seed, and compacts the queue once half of it is spent.
func (c *ReplayCache) drop() {
	delete(c.seen, c.queue[c.head].seed)
	c.queue[c.head] = replayEntry{}
	c.head++
	if c.head == len(c.queue) {
		c.queue, c.head = c.queue[:0], 0
	} else if c.head > len(c.queue)/2 && c.head > 1024 {
		n := copy(c.queue, c.queue[c.head:])
		c.queue, c.head = c.queue[:n], 0
	}
}
