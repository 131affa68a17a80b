package bridge

import (
	"context"
	"errors"
	"time"
)

// Publisher writes events to the message broker. Implementations are safe for
// concurrent use. Publish is synchronous: it returns nil only when the broker has
// acknowledged every event (with acks from all in-sync replicas), and it keeps the
// order of events with one key. Close flushes nothing that Publish has not already
// acknowledged; it releases connections.
type Publisher interface {
	Publish(ctx context.Context, events []Event) error
	// Ping checks that the broker answers and that the topics the publisher writes to
	// exist; it returns an error saying which is not the case.
	Ping(ctx context.Context) error
	Close() error
}

// DefaultSyncTimeout is how long SyncDelivery waits for Kafka's acknowledgement when
// its Timeout is zero: below Chat's 2 s wait, so that a slow broker turns into a
// visible 503 rather than a timeout on Chat's side.
const DefaultSyncTimeout = 1500 * time.Millisecond

// SyncDelivery is the synchronous delivery mode: Accept publishes the events and
// returns once Kafka acknowledged all of them.
type SyncDelivery struct {
	Publisher Publisher
	// Timeout bounds one Accept; zero means DefaultSyncTimeout.
	Timeout time.Duration
}

var _ Delivery = (*SyncDelivery)(nil)

// Accept implements Delivery. Any failure is KindUnavailable.
func (d *SyncDelivery) Accept(ctx context.Context, events []Event) error {
	timeout := d.Timeout
	if timeout == 0 {
		timeout = DefaultSyncTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := d.Publisher.Publish(ctx, events); err != nil {
		msg := "kafka did not acknowledge the events"
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "kafka did not acknowledge the events within " + timeout.String()
		}
		return &Error{Kind: KindUnavailable, Message: msg, Err: err}
	}
	return nil
}

// Ready implements Delivery: the broker answers and the topics exist.
func (d *SyncDelivery) Ready(ctx context.Context) error {
	return d.Publisher.Ping(ctx)
}
