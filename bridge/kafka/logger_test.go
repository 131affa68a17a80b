package kafka

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// kafka-go's lines of one outage differ in topic, partition and attempt; folded, they
// are one cause per error text (with the broker's address), written once per interval.
func TestFoldedLogger(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := FoldedLogger(zap.New(core), "kafka writer")
	for p := range 6 {
		for a := range 7 {
			l.Printf("error writing messages to %s (partition %d, attempt %d): %s", "imbridge.group", p, a,
				"kafka.(*Client).Produce: dial tcp 127.0.0.1:9092: connect: connection refused")
		}
		l.Printf("error writing messages to %s (partition %d, attempt %d): %s", "imbridge.c2c", p, 0, "kafka.(*Client).Produce: unexpected EOF")
	}
	l.Printf("backing off %s writing %d messages to %s (partition: %d)", "1s", 3, "imbridge.group", 2)
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message+": "+e.ContextMap()["err"].(string))
	}
	want := []string{
		"kafka writer: kafka.(*Client).Produce: dial tcp 127.0.0.1:9092: connect: connection refused",
		"kafka writer: kafka.(*Client).Produce: unexpected EOF",
		"kafka writer: backing off 1s writing 3 messages to imbridge.group (partition: 2)",
	}
	if len(got) != len(want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, got[i], want[i])
		}
	}
}
