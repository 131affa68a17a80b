package spool

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
)

// Ready follows the spool only: Kafka failing for longer than UnreachableAfter leaves
// the delivery ready (Health says why); a spool that refused a callback for want of
// room is not ready until it has shrunk.
func TestDeliveryReadyFollowsTheSpoolNotKafka(t *testing.T) {
	s := open(t, t.TempDir(), Options{MaxBytes: 64 << 10})
	down := errors.New("kafka: connection refused")
	pub := &fakePublisher{fail: func(int, pubRec) error { return down }}
	f := runForwarder(t, s, pub, ForwarderConfig{UnreachableAfter: time.Millisecond, MaxAttempts: 1 << 30})
	d := &Delivery{Spool: s, Forwarder: f}
	ctx := context.Background()

	if err := d.Accept(ctx, events(3, "a")); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	waitFor(t, "Health to report Kafka", func() bool { return d.Health() != nil })
	if err := d.Ready(ctx); err != nil {
		t.Fatalf("Ready with Kafka failing and room in the spool: %v", err)
	}
	var full error
	for i := 0; full == nil; i++ {
		if i > 10_000 {
			t.Fatal("the spool never filled")
		}
		full = d.Accept(ctx, events(3, "fill"+strings.Repeat("x", i%7)))
	}
	if bridge.ErrorKind(full) != bridge.KindUnavailable || !strings.HasPrefix(bridge.ErrorMessage(full), "spool is full") {
		t.Fatalf("Accept on a full spool: %v", full)
	}
	err := d.Ready(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "spool is full") {
		t.Fatalf("Ready on a full spool: %v", err)
	}

	pub.mu.Lock()
	pub.fail = nil // Kafka is back: the forwarder drains the spool
	pub.mu.Unlock()
	waitFor(t, "the spool to drain and Ready to recover", func() bool { return d.Ready(ctx) == nil && s.Stats().Entries == 0 })
	waitFor(t, "Health to recover", func() bool { return d.Health() == nil })
}

// A callback refused for want of room makes the delivery not ready although the room
// left is above the margin (the refused callback was large), until the spool shrinks.
func TestDeliveryNotReadyWhileRefusing(t *testing.T) {
	s := open(t, t.TempDir(), Options{MaxBytes: 64 << 10})
	pub := &fakePublisher{fail: func(int, pubRec) error { return errors.New("kafka: connection refused") }}
	d := &Delivery{Spool: s, Forwarder: runForwarder(t, s, pub, ForwarderConfig{MaxAttempts: 1 << 30})}
	ctx := context.Background()
	large := func(tag string) []bridge.Event {
		evs := events(1, tag)
		b := make([]byte, 40<<10) // letters: about 25 KiB once compressed
		for i := range b {
			b[i] = 'a' + byte(rand.IntN(26))
		}
		evs[0].Subject = bridge.PairSubject(string(b), "to")
		return evs
	}
	var err error
	for i := 0; err == nil; i++ {
		if i > 100 {
			t.Fatal("the spool never refused a callback")
		}
		if err = d.Ready(ctx); err != nil {
			t.Fatalf("Ready before the spool refused anything (%d bytes): %v", s.Stats().Bytes, err)
		}
		err = d.Accept(ctx, large("l"+string(rune('a'+i))))
	}
	if !strings.HasPrefix(bridge.ErrorMessage(err), "spool is full") {
		t.Fatalf("Accept: %v", err)
	}
	if err := d.Ready(ctx); err == nil {
		t.Fatalf("Ready after a callback was refused for want of room (%d of %d bytes held)", s.Stats().Bytes, s.MaxBytes())
	}
	pub.mu.Lock()
	pub.fail = nil
	pub.mu.Unlock()
	waitFor(t, "Ready once the spool has shrunk", func() bool { return d.Ready(ctx) == nil })
}
