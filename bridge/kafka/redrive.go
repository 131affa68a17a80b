package kafka

import (
	"context"
	"errors"
	"fmt"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
)

// ErrNotDeadLetter is the error of FromDeadLetter for a record that imbridge did not
// dead-letter: it has no HeaderDeadLetterTopic naming the topic it was meant for.
var ErrNotDeadLetter = errors.New("not a dead letter: no " + bridge.HeaderDeadLetterTopic + " header names the topic it was meant for")

// ErrValueCut is the kind of FromDeadLetter's error for a dead letter whose value was
// cut to fit the dead-letter topic (it has HeaderDeadLetterValueBytes): the event is
// not whole on the topic, and republishing it would deliver a truncated event.
var ErrValueCut = errors.New("its value was cut to fit the dead-letter topic")

// deadLetterHeaders are the headers bridge.Record.DeadLetter adds to a record.
var deadLetterHeaders = map[string]bool{
	bridge.HeaderDeadLetterTopic: true, bridge.HeaderDeadLetterReason: true,
	bridge.HeaderDeadLetterValueBytes: true, bridge.HeaderDeadLetterValueSHA256: true,
}

// FromDeadLetter returns the record that the dead letter m was made from, the inverse
// of bridge.Record.DeadLetter: the topic HeaderDeadLetterTopic names, m's key and
// value, and m's headers without the dead-letter headers, in their order (ce_id, the
// event's ID, among them), so that consumers that drop duplicates by event ID keep
// dropping them. reason is HeaderDeadLetterReason's value, why Kafka refused it. It
// fails with ErrNotDeadLetter for a record without HeaderDeadLetterTopic, and with an
// error of kind ErrValueCut, saying how much was kept, for a dead letter whose value
// was cut.
func FromDeadLetter(m kafkago.Message) (rec bridge.Record, reason string, err error) {
	headers := make([]bridge.Header, 0, len(m.Headers))
	var topic, cutBytes, cutSum []byte
	hasTopic := false
	for _, h := range m.Headers {
		switch h.Key {
		case bridge.HeaderDeadLetterTopic:
			topic, hasTopic = h.Value, true
		case bridge.HeaderDeadLetterReason:
			reason = string(h.Value)
		case bridge.HeaderDeadLetterValueBytes:
			cutBytes = h.Value
		case bridge.HeaderDeadLetterValueSHA256:
			cutSum = h.Value
		}
		if !deadLetterHeaders[h.Key] {
			headers = append(headers, bridge.Header{Key: h.Key, Value: h.Value})
		}
	}
	switch {
	case !hasTopic:
		return bridge.Record{}, reason, ErrNotDeadLetter
	case len(topic) == 0:
		return bridge.Record{}, reason, fmt.Errorf("%w, and it is empty", ErrNotDeadLetter)
	case cutBytes != nil || cutSum != nil:
		return bridge.Record{}, reason, fmt.Errorf("%w: %d of its %.20s bytes kept (sha256 %.64s); the whole event is nowhere on Kafka and is not republished cut",
			ErrValueCut, len(m.Value), cutBytes, cutSum)
	}
	return bridge.Record{Topic: string(topic), Key: m.Key, Headers: headers, Value: m.Value}, reason, nil
}

// LoadTopicLimits reads the max.message.bytes of topics, besides the configured ones,
// and keeps them with those LoadLimits read: MaxMessageBytes and Publish use them from
// then on. A topic whose config cannot be read (it does not exist) is missing from the
// result and stays unknown.
func (p *Publisher) LoadTopicLimits(ctx context.Context, topics ...string) (map[string]int, error) {
	got, err := topicConfigInts(ctx, p.client, topics, "max.message.bytes")
	if err != nil {
		return nil, fmt.Errorf("read max.message.bytes: %w", err)
	}
	p.limits.mu.Lock()
	defer p.limits.mu.Unlock()
	if p.limits.byTopic == nil {
		p.limits.byTopic = map[string]int{}
	}
	for t, n := range got {
		p.limits.byTopic[t] = n
	}
	return got, nil
}
