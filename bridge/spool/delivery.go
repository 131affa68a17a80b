package spool

import (
	"context"
	"errors"
	"fmt"

	"github.com/imbridge/imbridge/bridge"
)

// Delivery is the spool delivery mode: Accept appends the callback's events to the
// spool and returns once they are fsync'd; a Forwarder publishes them afterwards.
type Delivery struct {
	Spool     *Spool
	Forwarder *Forwarder
	// HighWater is the fraction of the spool's MaxBytes above which Ready fails, so
	// that traffic moves to other instances before this one refuses callbacks.
	// Zero means DefaultHighWater (0.8).
	HighWater float64
	// Limits, when not nil, refuses a callback with a record over its topic's
	// max.message.bytes before anything is stored (see bridge.EncodeRecords).
	Limits bridge.TopicLimits
}

var _ bridge.Delivery = (*Delivery)(nil)

// DefaultHighWater is Delivery.HighWater's default.
const DefaultHighWater = 0.8

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

// Ready implements bridge.Delivery: the spool takes writes and is below the
// high-water mark, and the forwarder makes progress.
func (d *Delivery) Ready(context.Context) error {
	if err := d.Spool.Err(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	hw := d.HighWater
	if hw == 0 {
		hw = DefaultHighWater
	}
	st := d.Spool.Stats()
	if limit := int64(hw * float64(d.Spool.MaxBytes())); st.Bytes > limit {
		return fmt.Errorf("spool holds %d bytes, above the high-water mark of %d: Kafka is not keeping up", st.Bytes, limit)
	}
	return d.Forwarder.Health()
}
