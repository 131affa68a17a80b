package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrPermanent marks a publish error that retrying will not fix, such as a missing
// topic or a message over the broker's size limit. Publishers wrap such errors so that
// errors.Is(err, ErrPermanent) holds; every other error is worth retrying.
var ErrPermanent = errors.New("permanent")

// ErrUnknownTopic marks a publish error that names a topic Kafka does not know yet (one
// being created, or not yet in the client's metadata): retried for a while, then
// ErrPermanent. It says nothing of Kafka being away: a forwarder does not count it as
// an outage.
var ErrUnknownTopic = errors.New("topic unknown to Kafka")

// EventErrors is returned by Publisher.Publish when some records failed: entry i is
// the error of records[i], nil for those the broker acknowledged.
type EventErrors []error

// Error implements error with a summary: how many failed and the first error.
func (ee EventErrors) Error() string {
	failed, first := 0, error(nil)
	for _, err := range ee {
		if err != nil {
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if first == nil {
		return "no event failed"
	}
	return fmt.Sprintf("%d of %d events failed, the first: %v", failed, len(ee), first)
}

// Unwrap returns the events' errors, so that errors.Is and errors.As see them.
func (ee EventErrors) Unwrap() []error {
	var out []error
	for _, err := range ee {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// Publisher writes records to the message broker. Implementations are safe for
// concurrent use. Publish is synchronous: it returns nil only when the broker has
// acknowledged every record (with acks from all in-sync replicas), and it keeps the
// order of records with one key: a record is never acknowledged before an earlier one
// of its key that failed. On failure the error is an EventErrors with one entry per
// record; errors retrying cannot fix wrap ErrPermanent. Close flushes nothing that
// Publish has not already acknowledged; it releases connections.
type Publisher interface {
	Publish(ctx context.Context, records []Record) error
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
	// Limits, when not nil, refuses a callback with a record over its topic's
	// max.message.bytes (see EncodeRecords).
	Limits TopicLimits
}

var _ Delivery = (*SyncDelivery)(nil)

// Accept implements Delivery: it encodes the events (KindTooLarge for a record its
// topic cannot take) and publishes the records. Any failure to publish is
// KindUnavailable.
func (d *SyncDelivery) Accept(ctx context.Context, events []Event) error {
	records, err := EncodeRecords(events, d.Limits)
	if err != nil {
		return err
	}
	timeout := d.Timeout
	if timeout == 0 {
		timeout = DefaultSyncTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := d.Publisher.Publish(ctx, records); err != nil {
		msg := "kafka did not acknowledge the events"
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "kafka did not acknowledge the events within " + timeout.String()
		}
		return &Error{Kind: KindUnavailable, Message: msg, Err: err}
	}
	return nil
}

// ReadyTimeout bounds SyncDelivery.Ready: a broker that does not answer within it
// makes the replica not ready.
const ReadyTimeout = 2 * time.Second

// Ready implements Delivery: a broker answers now and the topics exist. Sync mode
// cannot take a callback without Kafka, so Kafka's state is its readiness.
func (d *SyncDelivery) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	return d.Publisher.Ping(ctx)
}
