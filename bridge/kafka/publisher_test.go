package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

func testEvent(topic, from, to string, i int) bridge.Event {
	at := time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC)
	return bridge.Event{
		Topic: topic, Type: "imbridge.blocklist.removed.v1", Source: "urn:tencent-im:sdkappid:1400187352", Time: at,
		ID: fmt.Sprintf("00000000-0000-8000-8000-%012d", i), SDKAppID: 1400187352, CallbackCommand: bridge.CommandBlackListDelete,
		Subject: bridge.PairSubject(from, to), ReceivedAt: "2022-12-01T05:21:52.345Z", OptPlatform: "RESTAPI",
	}
}

type header struct{ Key, Value string }

func headersOf(hs []kafkago.Header) []header {
	out := make([]header, len(hs))
	for i, h := range hs {
		out[i] = header{h.Key, string(h.Value)}
	}
	return out
}

func TestMessage(t *testing.T) {
	e := testEvent("t", "id", "id1", 7)
	m := kafka.Message(&e)
	wantValue := `{"eventId":"00000000-0000-8000-8000-000000000007","sdkAppId":1400187352,"callbackCommand":"Sns.CallbackBlackListDelete",` +
		`"fromAccount":"id","toAccount":"id1","receivedAt":"2022-12-01T05:21:52.345Z","optPlatform":"RESTAPI","version":1669872112345}`
	wantHeaders := []header{
		{"ce_specversion", "1.0"},
		{"ce_id", "00000000-0000-8000-8000-000000000007"},
		{"ce_type", "imbridge.blocklist.removed.v1"},
		{"ce_source", "urn:tencent-im:sdkappid:1400187352"},
		{"ce_time", "2022-12-01T05:21:52.345Z"},
		{"content-type", "application/json"},
		{"imbridge_version", "1669872112345"},
	}
	if m.Topic != "t" || string(m.Key) != "id" || string(m.Value) != wantValue {
		t.Fatalf("message = %s %s %s", m.Topic, m.Key, m.Value)
	}
	if d := cmp.Diff(wantHeaders, headersOf(m.Headers)); d != "" {
		t.Fatalf("headers (-want +got):\n%s", d)
	}
}

// Events written by the publisher come back from the broker unchanged, one user's in
// order, and each key in the partition that the Java client's default partitioner
// (librdkafka's murmur2_random, used by kcat here) picks.
func TestPublishRoundTrip(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "publish", 6)
	pub, err := kafka.New(kafka.Config{Brokers: brokers, Topics: []string{topic}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()

	var events []bridge.Event
	var keys []string
	for u := 0; u < 20; u++ {
		from := fmt.Sprintf("user-%d", u)
		keys = append(keys, from)
		for k := 0; k < 5; k++ {
			events = append(events, testEvent(topic, from, fmt.Sprintf("blocked-%d", k), u*5+k))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := pub.Publish(ctx, bridge.Records(events)); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if err := pub.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}

	got := kafkatest.ReadAll(t, brokers, topic)
	if len(got) != len(events) {
		t.Fatalf("read %d messages, want %d", len(got), len(events))
	}
	partitionOf := map[string]int{}
	perKey := map[string][]string{}
	byID := map[string]kafkago.Message{}
	for _, m := range got {
		k := string(m.Key)
		if p, ok := partitionOf[k]; ok && p != m.Partition {
			t.Fatalf("key %s in partitions %d and %d", k, p, m.Partition)
		}
		partitionOf[k] = m.Partition
		id := ""
		for _, h := range m.Headers {
			if h.Key == kafka.HeaderID {
				id = string(h.Value)
			}
		}
		perKey[k] = append(perKey[k], id)
		byID[id] = m
	}
	for i := range events {
		want := kafka.Message(&events[i])
		m, ok := byID[events[i].ID]
		if !ok {
			t.Fatalf("event %s missing", events[i].ID)
		}
		if string(m.Key) != string(want.Key) || string(m.Value) != string(want.Value) {
			t.Fatalf("event %s came back as key %s value %s", events[i].ID, m.Key, m.Value)
		}
		if d := cmp.Diff(headersOf(want.Headers), headersOf(m.Headers)); d != "" {
			t.Fatalf("event %s headers (-want +got):\n%s", events[i].ID, d)
		}
	}
	for u, k := range keys {
		var want []string
		for j := 0; j < 5; j++ {
			want = append(want, events[u*5+j].ID)
		}
		if d := cmp.Diff(want, perKey[k]); d != "" {
			t.Fatalf("order of %s (-want +got):\n%s", k, d)
		}
	}

	// The same keys produced by kcat with the Java-compatible partitioner.
	javaTopic := kafkatest.CreateTopic(t, brokers, "murmur2", 6)
	kafkatest.KcatProduce(t, brokers, javaTopic, keys)
	for _, m := range kafkatest.KcatConsume(t, brokers, javaTopic) {
		if partitionOf[m.Key] != m.Partition {
			t.Fatalf("key %s: imbridge wrote partition %d, the Java partitioner picks %d", m.Key, partitionOf[m.Key], m.Partition)
		}
	}
}

func TestPingMissingTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	pub, err := kafka.New(kafka.Config{Brokers: brokers, Topics: []string{"no.such.topic.for.imbridge"}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = pub.Ping(ctx)
	if err == nil || !strings.HasPrefix(err.Error(), "topic no.such.topic.for.imbridge: ") {
		t.Fatalf("Ping = %v, want an error naming the missing topic", err)
	}
}

// Publishing to a broker that is not there fails when the context ends, and the
// synchronous delivery reports it as unavailable.
func TestSyncDeliveryUnavailable(t *testing.T) {
	pub, err := kafka.New(kafka.Config{Brokers: []string{"127.0.0.1:1"}, Topics: []string{"t"}, DialTimeout: 200 * time.Millisecond}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	d := &bridge.SyncDelivery{Publisher: pub, Timeout: 300 * time.Millisecond}
	err = d.Accept(context.Background(), []bridge.Event{testEvent("t", "a", "b", 1)})
	if bridge.ErrorKind(err) != bridge.KindUnavailable || !strings.HasPrefix(bridge.ErrorMessage(err), "kafka did not acknowledge the events") {
		t.Fatalf("Accept = %v (kind %s), want unavailable", err, bridge.ErrorKind(err))
	}
}

// BenchmarkMessage measures encoding one event into its Kafka message (JSON value and
// CloudEvents headers).
func BenchmarkMessage(b *testing.B) {
	e := testEvent("imbridge.blocklist.removed", "user_1", "blocked_000001", 1)
	b.ReportAllocs()
	for b.Loop() {
		_ = kafka.Message(&e)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err       error
		permanent bool
	}{
		{kafkago.UnknownTopicOrPartition, true},
		{kafkago.MessageSizeTooLarge, true},
		{kafkago.TopicAuthorizationFailed, true},
		{kafkago.LeaderNotAvailable, false},
		{kafkago.NotLeaderForPartition, false},
		{kafkago.NotEnoughReplicas, false},
		{kafkago.RequestTimedOut, false},
		{io.EOF, false},
		{io.ErrUnexpectedEOF, false},
		{syscall.ECONNREFUSED, false},
		{context.DeadlineExceeded, false},
	}
	for _, tt := range tests {
		got := errors.Is(kafka.Classify(tt.err), bridge.ErrPermanent)
		if got != tt.permanent {
			t.Errorf("Classify(%v) permanent = %v, want %v", tt.err, got, tt.permanent)
		}
		if !errors.Is(kafka.Classify(tt.err), tt.err) {
			t.Errorf("Classify(%v) lost the cause", tt.err)
		}
	}
}
