package spool

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/imbridge/imbridge/bridge"
)

// Delivery is the spool delivery mode: Accept appends the callback's events to the
// spool and returns once they are fsync'd; a Forwarder publishes them afterwards.
type Delivery struct {
	Spool     *Spool
	Forwarder *Forwarder
	// HighWater is the fraction of the spool's MaxBytes above which Ready fails. Zero
	// means DefaultHighWater (1: only while the spool is full). Every replica sees the
	// same Kafka outage and fills at about the same rate, so a lower mark takes them
	// all out of service at once, while their spools still have room.
	HighWater float64
	// Limits, when not nil, refuses a callback with a record over its topic's
	// max.message.bytes before anything is stored (see bridge.EncodeRecords).
	Limits bridge.TopicLimits

	// refusedAt is the spool's size when Accept last refused a callback because the
	// spool was full; 0 once the spool has shrunk below it.
	refusedAt atomic.Int64
}

var _ bridge.Delivery = (*Delivery)(nil)

// DefaultHighWater is Delivery.HighWater's default: not ready only while full.
const DefaultHighWater = 1.0

// fullRoom is the room below which a spool counts as full for Ready: the room of a
// few large callbacks' records, at most 1% of the spool.
const fullRoom = 4 << 20

// Accept implements bridge.Delivery: it encodes the events once, as the records the
// forwarder will publish, and appends them. A full spool, a closed spool and a failed
// write are KindUnavailable: Chat's callback is answered 503 and nothing was
// acknowledged.
func (d *Delivery) Accept(ctx context.Context, events []bridge.Event) error {
	records, err := bridge.EncodeRecords(events, d.Limits)
	if err != nil {
		return err
	}
	err = d.Spool.Append(ctx, records)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrFull):
		st := d.Spool.Stats()
		d.refusedAt.Store(max(st.Bytes, 1))
		return &bridge.Error{Kind: bridge.KindUnavailable, Err: err, Message: fmt.Sprintf(
			"spool is full: %d bytes wait for Kafka (limit %d); try again later", st.Bytes, d.Spool.MaxBytes())}
	case errors.Is(err, ErrClosed):
		return &bridge.Error{Kind: bridge.KindUnavailable, Err: err, Message: "imbridge is shutting down; try again later"}
	}
	var we *WriteError
	if errors.As(err, &we) {
		return &bridge.Error{Kind: bridge.KindUnavailable, Err: err, Message: fmt.Sprintf(
			"the spool could not store the events (%s); try again later", we.Cause())}
	}
	return &bridge.Error{Kind: bridge.KindUnavailable, Err: err, Message: "the spool could not store the events; try again later"}
}

// Live reports a spool that only a restart can help (its directory or lock is gone),
// for the liveness probe.
func (d *Delivery) Live() error { return d.Spool.Live() }

// Ready implements bridge.Delivery: nil while the spool takes callbacks, that is while
// it can be written and is not full: not above HighWater of its MaxBytes, not with less
// room than a few large callbacks need, and not since Accept refused a callback for
// want of room until the spool has shrunk. Kafka's state does not count: while Kafka is
// away the spool exists to take callbacks, which Chat never sends again; Health
// reports it.
func (d *Delivery) Ready(context.Context) error {
	if err := d.Spool.Err(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	hw := d.HighWater
	if hw == 0 {
		hw = DefaultHighWater
	}
	st := d.Spool.Stats()
	limit := int64(hw * float64(d.Spool.MaxBytes()))
	if hw >= 1 {
		limit = d.Spool.MaxBytes() - min(fullRoom, d.Spool.MaxBytes()/100)
	}
	refused := d.refusedAt.Load()
	if refused > 0 && st.Bytes < refused {
		d.refusedAt.CompareAndSwap(refused, 0) // the forwarder has made room since
		refused = 0
	}
	if st.Bytes > limit || refused > 0 {
		return fmt.Errorf("spool is full: %d bytes wait for Kafka (limit %d, not ready above %d or while refusing callbacks)",
			st.Bytes, d.Spool.MaxBytes(), limit)
	}
	return nil
}

// Health returns nil while events reach Kafka, or why not: Kafka failing for longer
// than the forwarder's UnreachableAfter, an event stuck without a dead-letter topic, a
// failing read of the spool (see Forwarder.Health). It does not affect Ready.
func (d *Delivery) Health() error { return d.Forwarder.Health() }
