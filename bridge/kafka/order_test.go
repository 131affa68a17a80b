package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
	"github.com/imbridge/imbridge/bridge/spool"
)

// One key's large events against a topic whose max.message.bytes is below the
// writer's batch bytes: once the limit is known, they all arrive, in order. Before, a
// chunk the broker refuses stops the call, and nothing after it is sent, so no later
// event of the key can overtake the refused ones.
func TestLargeEventsOfOneKeyKeepOrder(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopicWithLimit(t, brokers, "order-large", 1, 200_000)
	events := make([]bridge.Event, 100)
	for i := range events {
		events[i] = testEvent(topic, "same", fmt.Sprintf("e-%02d", i), i)
		events[i].Subject.Trailer = bridge.Fields("clientCmd", strings.Repeat("c", 12_000))
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
	records := bridge.Records(events)
	err = p.Publish(ctx, records)
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
	if err := p.Publish(ctx, records); err != nil {
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
	// The check at the door: an event over the limit is refused, one under is not.
	big := events[0]
	big.Subject.Trailer = bridge.Fields("clientCmd", strings.Repeat("<", 40_000)) // 240,000 bytes of JSON escapes
	if _, err := bridge.EncodeRecords([]bridge.Event{events[0], big}, p); bridge.ErrorKind(err) != bridge.KindTooLarge ||
		!strings.Contains(err.Error(), "over the 200000 bytes that topic "+topic+" accepts") {
		t.Fatalf("EncodeRecords of a 240 KB event: %v", err)
	}
	if _, err := bridge.EncodeRecords(events[:1], p); err != nil {
		t.Fatalf("EncodeRecords of a 12 KB event: %v", err)
	}
}

// The door and the publisher apply one limit: a record its own topic accepts is
// published there even when it is over BatchBytes or over another topic's limit, and
// one that must be dead-lettered is cut to fit the dead-letter topic's own limit.
func TestOneLimitForDoorAndPublisher(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	for _, tc := range []struct {
		name                       string
		mainLimit, dlqLimit, value int
		toDLQ                      bool
	}{
		{"over BatchBytes, within its topic", 3_000_000, 3_000_000, 250_000, false},
		{"over the DLQ's limit, within its topic", 1_048_588, 100_000, 25_000, false},
		{"dead-lettered into a small DLQ", 1_048_588, 20_000, 150_000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			main := kafkatest.CreateTopicWithLimit(t, brokers, "one-limit", 1, tc.mainLimit)
			dlq := kafkatest.CreateTopicWithLimit(t, brokers, "one-limit-dlq", 1, tc.dlqLimit)
			p, err := kafka.New(kafka.Config{Brokers: brokers, Topics: []string{main, dlq}}, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if _, err := p.LoadLimits(ctx); err != nil {
				t.Fatal(err)
			}
			if tc.toDLQ { // the topic's limit was lowered after the callback was accepted
				kafkatest.SetTopicLimit(t, brokers, main, 100_000)
			}
			ev := testEvent(main, "u1", "u2", 1)
			ev.Subject.Trailer = bridge.Fields("clientCmd", strings.Repeat("<", tc.value/6))
			records, err := bridge.EncodeRecords([]bridge.Event{ev}, p)
			if err != nil {
				t.Fatalf("the door refuses a record its topic accepts: %v", err)
			}
			s, err := spool.Open(t.TempDir(), spool.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Append(ctx, records); err != nil {
				t.Fatal(err)
			}
			f := spool.NewForwarder(s, p, spool.ForwarderConfig{DeadLetterTopic: dlq, MaxAttempts: 2,
				BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond}, zap.NewNop())
			fctx, fcancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); _ = f.Run(fctx) }()
			for deadline := time.Now().Add(30 * time.Second); s.Stats().Entries > 0 && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			fcancel()
			<-done
			wantMain, wantDLQ := int64(1), int64(0)
			if tc.toDLQ {
				wantMain, wantDLQ = 0, 1
			}
			if m, d := kafkatest.Count(t, brokers, main), kafkatest.Count(t, brokers, dlq); m != wantMain || d != wantDLQ {
				t.Fatalf("%d in the topic and %d in the DLQ, want %d and %d (health %v)", m, d, wantMain, wantDLQ, f.Health())
			}
		})
	}
}
