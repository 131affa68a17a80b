package spool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/imbridge/imbridge/bridge"
)

// An outage reads as a few lines: one WARN for the cause however often the forwarder
// retries within the minute, then one line when Kafka takes records again and one when
// the backlog is published. A record Kafka refuses for good is not an outage: no
// line says Kafka is back after it.
func TestForwarderOutageLines(t *testing.T) {
	refused := errors.New("dial tcp 127.0.0.1:9092: connect: connection refused")
	missing := fmt.Errorf("%w: [3] Unknown Topic Or Partition", bridge.ErrPermanent)
	tests := []struct {
		name string
		err  error
		want map[string]int
	}{
		{"broker away", refused, map[string]int{
			"publishing to kafka failed; retrying, the spool keeps the events": 1,
			"kafka is reachable again": 1, "spool backlog drained": 1}},
		{"topic missing", missing, map[string]int{
			"publishing a record to kafka failed; retrying, the spool keeps it": 1}},
		// A topic being created: its retries make one line, and its arrival is not
		// Kafka coming back.
		{"topic not known yet", fmt.Errorf("topic t unknown to Kafka; retrying with fresh metadata for up to 30s: %w: [3] Unknown Topic Or Partition", bridge.ErrUnknownTopic), map[string]int{
			"publishing to kafka failed; retrying, the spool keeps the events": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, t.TempDir(), Options{})
			for i := range 5 {
				mustAppend(t, s, sameKey(events(2, fmt.Sprint("r", i))))
			}
			var mu sync.Mutex
			failing := true
			pub := &fakePublisher{fail: func(call int, _ pubRec) error {
				mu.Lock()
				defer mu.Unlock()
				if call > 30 {
					failing = false
				}
				if failing {
					return tt.err
				}
				return nil
			}}
			core, logs := observer.New(zap.InfoLevel)
			f := NewForwarder(s, pub, ForwarderConfig{BackoffMin: time.Millisecond, BackoffMax: time.Millisecond, MaxAttempts: 1000}, zap.New(core))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = f.Run(ctx) }()
			waitFor(t, "everything acknowledged", func() bool { return s.Stats().Entries == 0 })
			time.Sleep(50 * time.Millisecond) // the drained line follows the last acknowledgement
			cancel()
			<-done
			got := map[string]int{}
			for _, e := range logs.All() {
				got[e.Message]++
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("lines (-want +got):\n%s", d)
			}
		})
	}
}
