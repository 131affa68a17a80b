package spool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// pubRec is what a test needs to see of a published record.
type pubRec struct{ Topic, Key, ID, DLQTopic, DLQReason string }

func asPub(r bridge.Record) pubRec {
	return pubRec{Topic: r.Topic, Key: string(r.Key), ID: string(r.HeaderValue(bridge.HeaderID)),
		DLQTopic: string(r.HeaderValue(bridge.HeaderDeadLetterTopic)), DLQReason: string(r.HeaderValue(bridge.HeaderDeadLetterReason))}
}

// eventsAsPub is what publishing events should show.
func eventsAsPub(evs []bridge.Event) []pubRec {
	var out []pubRec
	for _, r := range bridge.Records(evs) {
		out = append(out, asPub(r))
	}
	return out
}

// fakePublisher records published records; fail decides an error per record.
type fakePublisher struct {
	mu    sync.Mutex
	got   []pubRec
	calls int
	fail  func(call int, r pubRec) error
}

func (p *fakePublisher) Publish(_ context.Context, records []bridge.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	// Like Kafka, a produce request for one partition (here: one key) succeeds or fails
	// as a whole.
	keyErr := map[string]error{}
	for _, r := range records {
		if p.fail != nil && keyErr[string(r.Key)] == nil {
			keyErr[string(r.Key)] = p.fail(p.calls, asPub(r))
		}
	}
	ee := make(bridge.EventErrors, len(records))
	failed := false
	for i, r := range records {
		if ee[i] = keyErr[string(r.Key)]; ee[i] != nil {
			failed = true
			continue
		}
		p.got = append(p.got, asPub(r))
	}
	if failed {
		return ee
	}
	return nil
}

func (p *fakePublisher) Ping(context.Context) error { return nil }
func (p *fakePublisher) Close() error               { return nil }

func (p *fakePublisher) published() []pubRec {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]pubRec(nil), p.got...)
}

func runForwarder(t *testing.T, s *Spool, pub bridge.Publisher, cfg ForwarderConfig) *Forwarder {
	t.Helper()
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 5*time.Millisecond
	f := NewForwarder(s, pub, cfg, zap.NewNop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func sameKey(evs []bridge.Event) []bridge.Event {
	for i := range evs {
		evs[i].Subject = bridge.PairSubject("same", evs[i].ID)
	}
	return evs
}

func perKey(recs []pubRec) map[string][]string {
	out := map[string][]string{}
	for _, r := range recs {
		out[r.Key] = append(out[r.Key], r.ID)
	}
	return out
}

// Failed events are retried, only they, and per key the order of the spool holds.
func TestForwarderRetriesKeepOrder(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	var want []bridge.Event
	for i := 0; i < 30; i++ {
		evs := events(3, fmt.Sprint("r", i))
		for j := range evs {
			evs[j].Subject = bridge.PairSubject(fmt.Sprint("user", i%4), evs[j].ID)
		}
		want = append(want, evs...)
		mustAppend(t, s, evs)
	}
	// user1's events fail on the first three calls (one partition down), as kafka-go
	// fails a whole partition batch; io.EOF-like errors are retryable.
	pub := &fakePublisher{fail: func(call int, e pubRec) error {
		if call <= 3 && e.Key == "user1" {
			return errors.New("EOF")
		}
		return nil
	}}
	runForwarder(t, s, pub, ForwarderConfig{MaxEvents: 20})
	waitFor(t, "everything acknowledged", func() bool { return s.Stats().Entries == 0 })
	got := pub.published()
	if len(got) != len(want) {
		t.Fatalf("published %d events, want %d", len(got), len(want))
	}
	if d := cmp.Diff(perKey(eventsAsPub(want)), perKey(got)); d != "" {
		t.Fatalf("per-key order (-want +got):\n%s", d)
	}
}

func TestForwarderDeadLetters(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	mustAppend(t, s, sameKey(events(3, "a")))
	mustAppend(t, s, sameKey(events(2, "b")))
	tooLarge := fmt.Errorf("%w: [10] Message Size Too Large", bridge.ErrPermanent)
	pub := &fakePublisher{fail: func(_ int, e pubRec) error {
		if e.ID == "a-1" && e.Topic == "t" {
			return tooLarge
		}
		return nil
	}}
	f := runForwarder(t, s, pub, ForwarderConfig{DeadLetterTopic: "dlq", MaxAttempts: 3})
	waitFor(t, "everything acknowledged", func() bool { return s.Stats().Entries == 0 })
	var got []string
	for _, e := range pub.published() {
		got = append(got, e.Topic+"/"+e.ID+"/"+e.DLQTopic+"/"+e.DLQReason)
	}
	want := []string{"t/a-0//", "dlq/a-1/t/permanent: [10] Message Size Too Large", "t/a-2//", "t/b-0//", "t/b-1//"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("published (-want +got):\n%s", d)
	}
	if pub, dead := f.Counts(); pub != 4 || dead != 1 || f.Health() != nil {
		t.Fatalf("counts %d %d, health %v", pub, dead, f.Health())
	}
}

// Without a dead-letter topic, a permanently failing event stays, blocks the ones
// behind it and makes Health fail; once it goes through, everything follows.
func TestForwarderStuckWithoutDeadLetterTopic(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	mustAppend(t, s, sameKey(events(1, "a")))
	mustAppend(t, s, sameKey(events(1, "b")))
	var mu sync.Mutex
	missing := true
	pub := &fakePublisher{fail: func(_ int, e pubRec) error {
		mu.Lock()
		defer mu.Unlock()
		if missing && e.ID == "a-0" {
			return fmt.Errorf("%w: [3] Unknown Topic Or Partition", bridge.ErrPermanent)
		}
		return nil
	}}
	f := runForwarder(t, s, pub, ForwarderConfig{MaxAttempts: 2})
	waitFor(t, "health to report the stuck event", func() bool { return f.Health() != nil })
	if err := f.Health(); !strings.Contains(err.Error(), "event a-0 for topic t failed") || !strings.Contains(err.Error(), "IMBRIDGE_DLQ_TOPIC") {
		t.Fatalf("health: %v", err)
	}
	if got := pub.published(); len(got) != 0 {
		t.Fatalf("events behind the stuck one were published: %v", got)
	}
	mu.Lock()
	missing = false // the topic was created
	mu.Unlock()
	waitFor(t, "everything acknowledged", func() bool { return s.Stats().Entries == 0 })
	var got []string
	for _, e := range pub.published() {
		got = append(got, e.ID)
	}
	if d := cmp.Diff([]string{"a-0", "b-0"}, got); d != "" || f.Health() != nil {
		t.Fatalf("published (-want +got):\n%s\nhealth %v", d, f.Health())
	}
}

// A record larger than a window is published in several windows, in order.
func TestForwarderSplitsLargeRecords(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	big := events(2500, "big")
	mustAppend(t, s, big)
	pub := &fakePublisher{}
	runForwarder(t, s, pub, ForwarderConfig{})
	waitFor(t, "everything acknowledged", func() bool { return s.Stats().Entries == 0 })
	got := pub.published()
	if len(got) != 2500 || pub.calls < 3 {
		t.Fatalf("published %d events in %d calls, want 2500 in at least 3", len(got), pub.calls)
	}
	for i, e := range got {
		if e.ID != big[i].ID {
			t.Fatalf("event %d is %s, want %s", i, e.ID, big[i].ID)
		}
	}
}
