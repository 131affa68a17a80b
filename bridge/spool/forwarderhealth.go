// What the Forwarder reports: how long Kafka has been failing, and its counts.

package spool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// succeeded records n events acknowledged by Kafka, on the dead-letter topic or not.
// Only progress (n > 0) ends a failure: a retry in which nothing succeeded leaves the
// time Kafka has been failing running.
func (f *Forwarder) succeeded(n int, deadLettered bool) {
	if n == 0 {
		return
	}
	f.mu.Lock()
	if deadLettered {
		f.deadLettered += int64(n)
	} else {
		f.published += int64(n)
	}
	since, outage := f.failingSince, f.unreachable
	f.failingSince, f.unreachable = time.Time{}, false
	f.lastErr = nil
	f.stuck = nil
	f.mu.Unlock()
	if outage {
		f.recovered(since)
	}
}

// recovered writes the one line that says Kafka takes records again after failing
// since since, with the backlog left, and starts watching the backlog drain.
func (f *Forwarder) recovered(since time.Time) {
	f.fold.Reset() // a new outage is reported when it starts
	st := f.spool.Stats()
	now := f.cfg.Now()
	f.log.Info("kafka is reachable again", zap.Duration("failing_for", now.Sub(since)),
		zap.Int64("backlog_callbacks", st.Entries), zap.Int64("backlog_events", st.Records))
	if st.Entries > 0 && !f.draining {
		published, _ := f.Counts()
		f.draining, f.drainStart, f.drainPublished = true, now, published
	}
}

// drainedAge is how old the oldest unpublished callback may be for the backlog to
// count as drained: live traffic keeps a few in the spool.
const drainedAge = time.Second

// checkDrained writes one line once the backlog of an outage is published: the
// spool empty, or its oldest callback younger than drainedAge.
func (f *Forwarder) checkDrained() {
	if !f.draining {
		return
	}
	st := f.spool.Stats()
	now := f.cfg.Now()
	if !st.Oldest.IsZero() && now.Sub(st.Oldest) >= drainedAge {
		return
	}
	published, _ := f.Counts()
	f.draining = false
	f.log.Info("spool backlog drained", zap.Duration("took", now.Sub(f.drainStart)),
		zap.Int64("published", published-f.drainPublished), zap.Int64("pending_callbacks", st.Entries))
}

func (f *Forwarder) failed(err, stuck error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failingSince.IsZero() {
		f.failingSince = f.cfg.Now()
	}
	// A record Kafka refuses for good (a missing topic, one too large), or one whose
	// topic it does not know yet, is not an outage: publishing it later says nothing
	// of Kafka being back.
	f.unreachable = f.unreachable || !(errors.Is(err, bridge.ErrPermanent) || errors.Is(err, bridge.ErrUnknownTopic))
	f.lastErr = err
	if stuck != nil {
		f.stuck = stuck
	}
}

func (f *Forwarder) readFailed(err error) {
	f.mu.Lock()
	f.readErr = err
	f.mu.Unlock()
}

// checkKafka pings Kafka while idle, so that Health notices an outage without traffic.
func (f *Forwarder) checkKafka(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := f.pub.Ping(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	f.mu.Lock()
	since, outage := f.failingSince, f.unreachable
	if err == nil {
		f.failingSince, f.lastErr, f.unreachable = time.Time{}, nil, false
	} else {
		if since.IsZero() {
			f.failingSince = f.cfg.Now()
		}
		f.lastErr, f.unreachable = err, true
	}
	f.mu.Unlock()
	switch {
	case err != nil:
		f.fold.Log(zap.WarnLevel, "kafka does not answer; the spool keeps the callbacks", err.Error())
	case outage:
		f.recovered(since)
	}
}

// Health returns nil while the forwarder makes progress, or why not: an event stuck
// (no dead-letter topic, or the dead-letter topic refused it too), a failing spool
// read, or Kafka failing for longer than UnreachableAfter, backlog or not.
func (f *Forwarder) Health() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stuck != nil {
		return f.stuck
	}
	if f.readErr != nil {
		return fmt.Errorf("the forwarder cannot read the spool: %w", f.readErr)
	}
	if !f.failingSince.IsZero() {
		if d := f.cfg.Now().Sub(f.failingSince); d >= f.cfg.UnreachableAfter {
			return fmt.Errorf("kafka has been failing for %s: %v", d.Round(time.Second), f.lastErr)
		}
	}
	return nil
}

// Counts returns how many events were published and dead-lettered since start.
func (f *Forwarder) Counts() (published, deadLettered int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.published, f.deadLettered
}
