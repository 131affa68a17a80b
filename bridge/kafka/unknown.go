package kafka

import (
	"errors"
	"fmt"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
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
	if now.Sub(first) < u.timeout {
		return &unknownTopicError{topic: topic, timeout: u.timeout, err: err}
	}
	return Classify(err)
}

// unknownTopicError is a topic still unknown within the timeout: bridge.ErrUnknownTopic
// and Kafka's error. Its text is the same at every retry (no elapsed time in it), so
// that the retries fold into one log line.
type unknownTopicError struct {
	topic   string
	timeout time.Duration
	err     error
}

func (e *unknownTopicError) Error() string {
	return fmt.Sprintf("topic %s unknown to Kafka; retrying with fresh metadata for up to %s: %v", e.topic, e.timeout, e.err)
}

func (e *unknownTopicError) Unwrap() []error { return []error{bridge.ErrUnknownTopic, e.err} }

// found forgets that topic was unknown: a record reached it.
func (u *unknownTopics) found(topic string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.since) > 0 {
		delete(u.since, topic)
	}
}
