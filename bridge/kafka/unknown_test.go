package kafka

import (
	"errors"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

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
	}
}
