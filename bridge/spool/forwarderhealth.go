// What the Forwarder reports: how long Kafka has been failing, and its counts.

package spool

import (
	"context"
	"fmt"
	"time"
)

// succeeded records n events acknowledged by Kafka, on the dead-letter topic or not.
// Only progress (n > 0) ends a failure: a retry in which nothing succeeded leaves the
// time Kafka has been failing running.
func (f *Forwarder) succeeded(n int, deadLettered bool) {
	if n == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if deadLettered {
		f.deadLettered += int64(n)
	} else {
		f.published += int64(n)
	}
	f.failingSince = time.Time{}
	f.lastErr = nil
	f.stuck = nil
}

func (f *Forwarder) failed(err, stuck error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failingSince.IsZero() {
		f.failingSince = f.cfg.Now()
	}
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
	defer f.mu.Unlock()
	if err == nil {
		f.failingSince, f.lastErr = time.Time{}, nil
		return
	}
	if f.failingSince.IsZero() {
		f.failingSince = f.cfg.Now()
	}
	f.lastErr = err
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
