package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// createTopicWithLimit creates a one-partition topic whose max.message.bytes is limit.
func createTopicWithLimit(t *testing.T, brokers []string, prefix string, limit int) string {
	t.Helper()
	name := fmt.Sprintf("test.%s.%d", prefix, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := kafkatest.Client(brokers).CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
		Topic: name, NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: []kafkago.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(limit)}},
	}}})
	if err == nil {
		err = resp.Errors[name]
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
	kafkatest.WaitCount(t, brokers, name, 0, 30*time.Second)
	return name
}

// One key's large events against a topic whose max.message.bytes is below the
// writer's batch bytes: once the limit is known, they all arrive, in order. Before, a
// chunk the broker refuses stops the call, and nothing after it is sent, so no later
// event of the key can overtake the refused ones.
func TestLargeEventsOfOneKeyKeepOrder(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := createTopicWithLimit(t, brokers, "order-large", 200_000)
	events := make([]bridge.Event, 100)
	for i := range events {
		events[i] = testEvent(topic, "same", fmt.Sprintf("e-%02d", i), i)
		events[i].ClientCmd = strings.Repeat("c", 12_000)
	}
	p, err := kafka.New(kafka.Config{Brokers: brokers, Topics: []string{topic}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The limit not read yet: the first chunk (1 MiB) is refused whole, the rest is
	// not sent.
	err = p.Publish(ctx, events)
	var ee bridge.EventErrors
	if !errors.As(err, &ee) || len(ee) != len(events) {
		t.Fatalf("Publish before the limit is known: %v", err)
	}
	refused, notSent := 0, 0
	for i, e := range ee {
		switch {
		case errors.Is(e, bridge.ErrPermanent) && notSent == 0:
			refused++
		case errors.Is(e, kafka.ErrNotAttempted) && !errors.Is(e, bridge.ErrPermanent):
			notSent++
		default:
			t.Fatalf("event %d: %v (after %d refused, %d not sent)", i, e, refused, notSent)
		}
	}
	if refused == 0 || notSent == 0 || kafkatest.Count(t, brokers, topic) != 0 {
		t.Fatalf("%d refused, %d not sent, %d in the topic; want some of each and none", refused, notSent, kafkatest.Count(t, brokers, topic))
	}

	limits, err := p.LoadLimits(ctx)
	if err != nil || limits[topic] != 200_000 {
		t.Fatalf("LoadLimits = %v, %v", limits, err)
	}
	if err := p.Publish(ctx, events); err != nil {
		t.Fatalf("Publish with the limit known: %v", err)
	}
	msgs := kafkatest.ReadAll(t, brokers, topic)
	if len(msgs) != len(events) {
		t.Fatalf("topic holds %d messages, want %d", len(msgs), len(events))
	}
	for i, m := range msgs {
		if want := fmt.Sprintf(`"toAccount":"e-%02d"`, i); !strings.Contains(string(m.Value), want) {
			t.Fatalf("message %d is not e-%02d: %.120s", i, i, m.Value)
		}
	}
	// The size the door checks: an event over the limit is reported, one under is not.
	big := events[0]
	big.ClientCmd = strings.Repeat("<", 40_000) // 240,000 bytes of JSON escapes
	if size, limit := p.MessageSize(&big); size <= limit || limit != 200_000 {
		t.Fatalf("MessageSize of a 240 KB event = %d, %d", size, limit)
	}
	if size, limit := p.MessageSize(&events[0]); size > limit {
		t.Fatalf("MessageSize of a 12 KB event = %d, %d", size, limit)
	}
}

// A dead letter of an event too large for any topic is cut to DeadLetterMaxValue with
// its size and hash in headers, and the reason header is bounded.
func TestDeadLetterFits(t *testing.T) {
	e := testEvent("dlq", "u", "v", 1)
	e.ClientCmd = strings.Repeat("<", 200_000)
	e.DeadLetterTopic, e.DeadLetterReason = "orig", strings.Repeat("r", 5000)
	m := kafka.Message(&e)
	h := map[string]string{}
	for _, kv := range m.Headers {
		h[kv.Key] = string(kv.Value)
	}
	if len(m.Value) != kafka.DeadLetterMaxValue || h[kafka.HeaderDeadLetterValueBytes] == "" ||
		len(h[kafka.HeaderDeadLetterValueSHA256]) != 64 || len(h[kafka.HeaderDeadLetterReason]) != 1024 || h[kafka.HeaderDeadLetterTopic] != "orig" {
		t.Fatalf("dead letter: value %d bytes, headers %v", len(m.Value), h)
	}
	e2 := e
	e2.DeadLetterTopic = ""
	if n := fmt.Sprint(len(kafka.Message(&e2).Value)); h[kafka.HeaderDeadLetterValueBytes] != n {
		t.Fatalf("size header %s, want %s", h[kafka.HeaderDeadLetterValueBytes], n)
	}
}
