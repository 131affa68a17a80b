package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// An unknown topic is retryable until it has been unknown for the timeout, then
// permanent; a record that reaches the topic starts the clock again. Other errors are
// classified as Classify does.
func TestUnknownTopicIsPermanentOnlyAfterTheTimeout(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	u := unknownTopics{timeout: 30 * time.Second, now: func() time.Time { return now }, since: map[string]time.Time{}}
	unknown := kafkago.UnknownTopicOrPartition
	steps := []struct {
		advance   time.Duration
		topic     string
		err       error
		found     bool // a record reached topic before this step
		permanent bool
	}{
		{0, "t", unknown, false, false},
		{29 * time.Second, "t", unknown, false, false},
		{0, "other", unknown, false, false}, // its own clock
		{time.Second, "t", unknown, false, true},
		{time.Hour, "t", unknown, true, false}, // created meanwhile, then deleted again
		{0, "t", kafkago.MessageSizeTooLarge, false, true},
		{0, "t", kafkago.LeaderNotAvailable, false, false},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if s.found {
			u.found(s.topic)
		}
		err := u.classify(s.topic, s.err)
		if got := errors.Is(err, bridge.ErrPermanent); got != s.permanent || !errors.Is(err, s.err) {
			t.Fatalf("step %d: %v, permanent %v, want %v", i, err, got, s.permanent)
		}
		// Unknown within the timeout: marked so (not an outage of Kafka).
		if want := s.err == unknown && !s.permanent; errors.Is(err, bridge.ErrUnknownTopic) != want {
			t.Fatalf("step %d: %v, ErrUnknownTopic %v, want %v", i, err, !want, want)
		}
	}
	// The retries' text is the same, whatever the time: they fold into one log line.
	u = unknownTopics{timeout: 30 * time.Second, now: func() time.Time { return now }, since: map[string]time.Time{}}
	first := u.classify("t", unknown).Error()
	now = now.Add(1234 * time.Millisecond)
	if again := u.classify("t", unknown).Error(); again != first {
		t.Fatalf("retries read %q, then %q", first, again)
	}
}

// A record over the limit assumed for a topic whose own max.message.bytes has not been
// read yet (Kafka unreachable since the start) fails as retryable, not permanently:
// the topic may take it (a quarantine topic of 2 MiB), and a permanent failure would
// dead-letter an acknowledged callback. Over a limit read from the topic it is
// permanent.
func TestOverAnAssumedLimitIsRetryable(t *testing.T) {
	p, err := New(Config{Brokers: []string{"127.0.0.1:1"}, Topics: []string{"q"}, DialTimeout: 100 * time.Millisecond}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	big := []bridge.Record{{Topic: "q", Key: []byte("k"), Value: make([]byte, 1100_000)}}
	err = p.Publish(context.Background(), big)
	if err == nil || errors.Is(err, bridge.ErrPermanent) || !strings.Contains(err.Error(), "assumed for topic q") {
		t.Fatalf("over the assumed limit: %v", err)
	}
	if n := p.MaxMessageBytes("q"); n != 0 {
		t.Fatalf("MaxMessageBytes of a topic not read yet: %d, want 0 (unknown)", n)
	}
	p.limits.mu.Lock()
	p.limits.byTopic = map[string]int{"q": 1_000_000}
	p.limits.mu.Unlock()
	if err := p.Publish(context.Background(), big); !errors.Is(err, bridge.ErrPermanent) {
		t.Fatalf("over the topic's own limit: %v, want permanent", err)
	}
}
