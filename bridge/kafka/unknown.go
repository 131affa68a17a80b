package kafka

import (
	"errors"
	"fmt"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// unknownTopics decides when Kafka's "unknown topic" is final. kafka-go answers it
// from a metadata cache that is refreshed every 10 s, so a topic created seconds ago
// is unknown to it for a while; the error is retryable until a topic has been unknown
// for the timeout, then permanent.
type unknownTopics struct {
	timeout time.Duration
	now     func() time.Time

	mu    sync.Mutex
	since map[string]time.Time // topic → first failure with UnknownTopicOrPartition
}

// classify is Classify, except that UnknownTopicOrPartition for topic stays retryable
// until the topic has been unknown for the timeout.
func (u *unknownTopics) classify(topic string, err error) error {
	if err == nil || !errors.Is(err, kafkago.UnknownTopicOrPartition) {
		return Classify(err)
	}
	now := u.now()
	u.mu.Lock()
	first, seen := u.since[topic]
	if !seen {
		first = now
		u.since[topic] = now
	}
	u.mu.Unlock()
	if unknownFor := now.Sub(first); unknownFor < u.timeout {
		return fmt.Errorf("topic %s unknown to Kafka for %s; retrying with fresh metadata for up to %s: %w",
			topic, unknownFor.Round(time.Millisecond), u.timeout, err)
	}
	return Classify(err)
}

// found forgets that topic was unknown: a record reached it.
func (u *unknownTopics) found(topic string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.since) > 0 {
		delete(u.since, topic)
	}
}
