package bridge

import (
	"crypto/sha256"
	"testing"
	"time"
)

func TestReplayCache(t *testing.T) {
	seed := func(b byte) [sha256.Size]byte { return [sha256.Size]byte{b} }
	start := time.Unix(1669872112, 0)
	c := NewReplayCache(2*time.Minute, 3)
	if c.Seen(seed(1), start) {
		t.Fatal("an empty cache has seen a seed")
	}
	c.Add(seed(1), start)
	c.Add(seed(1), start.Add(time.Second)) // no second entry, no longer window
	if !c.Seen(seed(1), start.Add(2*time.Minute-time.Nanosecond)) || c.Seen(seed(2), start) {
		t.Fatal("within the window: seed 1 seen, seed 2 not")
	}
	if c.Seen(seed(1), start.Add(2*time.Minute)) || c.Len() != 0 {
		t.Fatalf("at the end of the window seed 1 is still held (%d seeds)", c.Len())
	}

	// Full: the oldest is forgotten first.
	for i := byte(1); i <= 4; i++ {
		c.Add(seed(i), start.Add(time.Duration(i)*time.Second))
	}
	now := start.Add(5 * time.Second)
	if c.Len() != 3 || c.Seen(seed(1), now) || !c.Seen(seed(2), now) || !c.Seen(seed(4), now) {
		t.Fatalf("full cache holds %d seeds; want 2, 3, 4", c.Len())
	}
}

// Many seeds through a small cache: it never holds more than its size, and its queue
// does not grow without bound.
func TestReplayCacheBounded(t *testing.T) {
	c := NewReplayCache(time.Hour, 100)
	now := time.Unix(0, 0)
	for i := 0; i < 100000; i++ {
		var s [sha256.Size]byte
		s[0], s[1], s[2] = byte(i), byte(i>>8), byte(i>>16)
		c.Add(s, now.Add(time.Duration(i)*time.Millisecond))
	}
	if c.Len() != 100 || len(c.queue)-c.head != 100 || cap(c.queue) > 4096 {
		t.Fatalf("holds %d seeds, queue %d of capacity %d", c.Len(), len(c.queue)-c.head, cap(c.queue))
	}
}

// The seed is the eventId seed: the same callback gives the same seed; any part of
// its identity changed gives another.
func TestCallbackSeed(t *testing.T) {
	cb := Callback{Query: Query{CallbackCommand: CommandBlackListDelete, RequestTime: "1669872112"}, AppID: 1, Body: []byte(`{}`),
		ReceivedAt: time.Unix(1, 0)}
	again := cb
	again.ReceivedAt = time.Unix(2, 0)
	if CallbackSeed(cb) != CallbackSeed(again) || CallbackSeed(cb) != eventIDSeed(cb) {
		t.Fatal("the same callback received at another time has another seed")
	}
	for _, change := range []func(*Callback){
		func(c *Callback) { c.AppID = 2 },
		func(c *Callback) { c.Query.CallbackCommand = CommandBlackListAdd },
		func(c *Callback) { c.Query.RequestTime = "1669872113" },
		func(c *Callback) { c.Body = []byte(`{} `) },
	} {
		other := cb
		change(&other)
		if CallbackSeed(other) == CallbackSeed(cb) {
			t.Fatalf("%+v has the seed of %+v", other, cb)
		}
	}
}
