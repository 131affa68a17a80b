package kafka_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

// asMessage is r as a consumer reads it from its topic.
func asMessage(r bridge.Record) kafkago.Message {
	m := kafkago.Message{Topic: r.Topic, Key: r.Key, Value: r.Value}
	for _, h := range r.Headers {
		m.Headers = append(m.Headers, kafkago.Header{Key: h.Key, Value: h.Value})
	}
	return m
}

// FromDeadLetter gives back the record a whole dead letter was made from, and refuses
// one whose value was cut, and a record that is no dead letter.
func TestFromDeadLetter(t *testing.T) {
	ev := bridge.Event{Topic: "imbridge.friend", Type: "imbridge.friend.added.v1", Source: "urn:tencent-im:sdkappid:1",
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ID: "0b7d7c8e-1f3a-8c2b-9d4e-5f6a7b8c9d0e", SDKAppID: 1,
		CallbackCommand: bridge.CommandFriendAdd, Subject: bridge.PairSubject("alice", "bob"), ReceivedAt: "2026-01-02T03:04:05.000Z"}
	orig := ev.AppendRecord(nil)[0]
	const reason = "a 2000-byte message is over the 1000 bytes topic imbridge.friend accepts"

	got, why, err := kafka.FromDeadLetter(asMessage(orig.DeadLetter("imbridge.dlq", reason, 0)))
	if err != nil || why != reason {
		t.Fatalf("FromDeadLetter: reason %q, %v", why, err)
	}
	if d := cmp.Diff(orig, got); d != "" {
		t.Fatalf("FromDeadLetter of a whole dead letter (-want +got):\n%s", d)
	}

	// A dead-letter topic of 600 bytes: the value is cut.
	cut := orig.DeadLetter("imbridge.dlq", reason, 600)
	if cut.HeaderValue(bridge.HeaderDeadLetterValueBytes) == nil {
		t.Fatal("the dead letter was not cut: the test wants a cut one")
	}
	_, why, err = kafka.FromDeadLetter(asMessage(cut))
	if !errors.Is(err, kafka.ErrValueCut) || why != reason ||
		!strings.Contains(err.Error(), string(cut.HeaderValue(bridge.HeaderDeadLetterValueSHA256))) {
		t.Fatalf("FromDeadLetter of a cut dead letter: reason %q, %v; want ErrValueCut naming its hash", why, err)
	}

	if _, _, err = kafka.FromDeadLetter(asMessage(orig)); !errors.Is(err, kafka.ErrNotDeadLetter) {
		t.Fatalf("FromDeadLetter of an event: %v, want ErrNotDeadLetter", err)
	}
}
