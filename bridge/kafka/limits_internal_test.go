package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
)

// bridge.Record.Size is the size kafka-go's Writer counts: a Writer whose BatchBytes
// is exactly Size takes the message, one byte less refuses it as too large. The
// publisher's chunks rely on it.
func TestRecordSizeIsKafkaGos(t *testing.T) {
	records := []bridge.Record{
		{Topic: "t", Value: []byte("v")},
		{Topic: "t", Key: []byte("key"), Value: []byte(strings.Repeat("x", 300)),
			Headers: []bridge.Header{{Key: "a", Value: []byte("1")}, {Key: strings.Repeat("h", 200), Value: make([]byte, 70000)}}},
	}
	for i := range records {
		m, _ := message(&records[i], nil)
		for _, delta := range []int64{0, -1} {
			w := &kafkago.Writer{Addr: kafkago.TCP("127.0.0.1:1"), BatchBytes: int64(records[i].Size()) + delta, MaxAttempts: 1}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			err := w.WriteMessages(ctx, m)
			cancel()
			w.Close()
			var tooLarge kafkago.MessageTooLargeError
			if got, want := errors.As(err, &tooLarge), delta < 0; got != want {
				t.Fatalf("record %d, BatchBytes Size%+d: too large %v (%v), want %v", i, delta, got, err, want)
			}
		}
	}
}
