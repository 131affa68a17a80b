package spool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// ForwarderConfig configures a Forwarder. Zero values take the defaults.
type ForwarderConfig struct {
	// DeadLetterTopic receives an event that failed permanently MaxAttempts times, with
	// the reason in a header. Empty (the default) means no dead-letter topic: the event
	// is retried at the longest backoff, blocking the events behind it, and Health
	// reports it so that readiness fails.
	DeadLetterTopic string
	// MaxAttempts is how many permanent failures (missing topic, message too large) an
	// event gets before it is dead-lettered. Retryable errors are retried forever.
	// Default DefaultMaxAttempts (5).
	MaxAttempts int
	// MaxEvents and MaxBytes bound one window of records published together (MaxBytes
	// against each record's exact bridge.Record.Size). Order does not depend on them: the
	// publisher sends a window in chunks, a chunk only after the earlier ones
	// succeeded. Defaults 1000 and 512 KiB.
	MaxEvents int
	MaxBytes  int
	// BackoffMin and BackoffMax bound the capped exponential backoff between attempts.
	// Defaults 100ms and DefaultBackoffMax (10s).
	BackoffMin, BackoffMax time.Duration
	// PublishTimeout bounds one Publish call. Default 30s.
	PublishTimeout time.Duration
	// UnreachableAfter is how long publishing may fail before Health reports Kafka as
	// unreachable. Default 5m.
	UnreachableAfter time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Defaults of ForwarderConfig.
const (
	DefaultMaxAttempts      = 5
	DefaultBackoffMax       = 10 * time.Second
	DefaultUnreachableAfter = 5 * time.Minute
)

func (c *ForwarderConfig) setDefaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxEvents <= 0 {
		c.MaxEvents = 1000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 512 << 10
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 30 * time.Second
	}
	if c.UnreachableAfter <= 0 {
		c.UnreachableAfter = DefaultUnreachableAfter
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Forwarder drains a Spool into Kafka: it reads records in order, publishes their
// events in windows, retries failures and acknowledges a record once all of its events
// are published (or dead-lettered). Per key, events reach Kafka in spool order.
type Forwarder struct {
	spool *Spool
	pub   bridge.Publisher
	cfg   ForwarderConfig
	log   *zap.Logger

	// reading position: an entry whose records are partly in earlier windows
	cur    *Entry
	curIdx int

	mu           sync.Mutex
	failingSince time.Time // zero while publishing works
	lastErr      error
	stuck        error // an event that failed permanently with no dead-letter topic
	readErr      error // the spool read that failed, until a read succeeds
	published    int64
	deadLettered int64
}

// NewForwarder returns a Forwarder from s to pub. Start it with Run.
func NewForwarder(s *Spool, pub bridge.Publisher, cfg ForwarderConfig, log *zap.Logger) *Forwarder {
	cfg.setDefaults()
	return &Forwarder{spool: s, pub: pub, cfg: cfg, log: log}
}

// idleTick is how often an idle forwarder saves the cursor and checks Kafka.
const idleTick = 2 * time.Second

// Run forwards until ctx ends or the spool closes, then returns nil; what was not
// acknowledged stays in the spool. It never stops on its own while both live: a failed
// read of the spool is retried with backoff from the record it failed on, and Health
// reports it meanwhile.
func (f *Forwarder) Run(ctx context.Context) error {
	lastFlush := time.Now()
	backoff := f.cfg.BackoffMin
	for ctx.Err() == nil {
		records, done, err := f.window(ctx)
		if errors.Is(err, ErrClosed) || ctx.Err() != nil {
			break
		}
		if err != nil {
			f.readFailed(err)
			f.log.Error("reading the spool failed; retrying", zap.Duration("backoff", backoff), zap.Error(err))
			if !sleep(ctx, backoff) {
				break
			}
			backoff = min(backoff*2, f.cfg.BackoffMax)
			continue
		}
		f.readFailed(nil)
		backoff = f.cfg.BackoffMin
		if len(records) == 0 && len(done) == 0 { // idle
			f.checkKafka(ctx)
			f.flush()
			lastFlush = time.Now()
			continue
		}
		if len(records) > 0 && !f.publish(ctx, records) {
			break
		}
		for _, rec := range done {
			f.spool.Ack(rec)
		}
		if time.Since(lastFlush) > 200*time.Millisecond {
			f.flush()
			lastFlush = time.Now()
		}
	}
	f.flush()
	return nil
}

func (f *Forwarder) flush() {
	if err := f.spool.Flush(); err != nil {
		f.log.Warn("spool cursor not saved", zap.Error(err))
	}
}

// window collects the next records to publish, waiting up to idleTick for the first,
// and returns the entries that it completes.
func (f *Forwarder) window(ctx context.Context) ([]bridge.Record, []Entry, error) {
	var records []bridge.Record
	var done []Entry
	size := 0
	for {
		if f.cur == nil {
			wctx, cancel := ctx, context.CancelFunc(func() {})
			wait := len(records) == 0
			if wait {
				wctx, cancel = context.WithTimeout(ctx, idleTick)
			}
			rec, ok, err := f.spool.Next(wctx, wait)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				if len(records) > 0 || len(done) > 0 {
					// Publish what was read; the next window meets the error again,
					// at the entry it failed on (Next skips nothing on error).
					return records, done, nil
				}
				return nil, nil, err
			}
			if !ok {
				return records, done, nil
			}
			f.cur, f.curIdx = &rec, 0
		}
		for f.curIdx < len(f.cur.Records) {
			sz := f.cur.Records[f.curIdx].Size()
			if len(records) > 0 && (len(records)+1 > f.cfg.MaxEvents || size+sz > f.cfg.MaxBytes) {
				return records, done, nil
			}
			records = append(records, f.cur.Records[f.curIdx])
			f.curIdx++
			size += sz
		}
		done = append(done, *f.cur)
		f.cur = nil
	}
}

// publish publishes records until each is acknowledged or dead-lettered, retrying only
// the ones that failed. A permanent error in a window switches to publishing the failed
// records one by one, so that a record is only blamed (and dead-lettered) for its own
// error, not for sharing a produce request with it. It returns false when ctx ended.
func (f *Forwarder) publish(ctx context.Context, records []bridge.Record) bool {
	todo := records
	backoff := f.cfg.BackoffMin
	for {
		err := f.publishCall(ctx, todo)
		if err == nil {
			f.succeeded(len(todo), false)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		var ee bridge.EventErrors
		if !errors.As(err, &ee) || len(ee) != len(todo) {
			ee = make(bridge.EventErrors, len(todo))
			for i := range ee {
				ee[i] = err
			}
		}
		var retry []bridge.Record
		var firstErr error
		permanent := false
		for i, e := range ee {
			if e == nil {
				continue
			}
			if firstErr == nil {
				firstErr = e
			}
			permanent = permanent || errors.Is(e, bridge.ErrPermanent)
			retry = append(retry, todo[i])
		}
		f.succeeded(len(todo)-len(retry), false)
		if permanent {
			for _, r := range retry {
				if !f.publishOne(ctx, r, false) {
					return false
				}
			}
			return true
		}
		f.failed(firstErr, nil)
		f.log.Warn("publishing to kafka failed; retrying", zap.Int("records", len(retry)),
			zap.Duration("backoff", backoff), zap.Error(firstErr))
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, f.cfg.BackoffMax)
		todo = retry
	}
}

// publishOne publishes one record until it is acknowledged. Retryable errors are
// retried forever; after MaxAttempts permanent errors the record goes to the
// dead-letter topic (dead says it is already there), or, without one, stays and makes
// Health fail. It returns false when ctx ended.
func (f *Forwarder) publishOne(ctx context.Context, r bridge.Record, dead bool) bool {
	attempts := 0
	backoff := f.cfg.BackoffMin
	id := string(r.HeaderValue(bridge.HeaderID))
	for {
		err := f.publishCall(ctx, []bridge.Record{r})
		if err == nil {
			f.succeeded(1, dead)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		var stuck error
		if errors.Is(err, bridge.ErrPermanent) {
			attempts++
			if attempts >= f.cfg.MaxAttempts {
				if f.cfg.DeadLetterTopic != "" && !dead {
					f.log.Error("record failed permanently; moving it to the dead-letter topic", zap.String("event_id", id),
						zap.String("topic", r.Topic), zap.String("dlq_topic", f.cfg.DeadLetterTopic), zap.Error(err))
					limit := 0
					if tl, ok := f.pub.(bridge.TopicLimits); ok {
						limit = tl.MaxMessageBytes(f.cfg.DeadLetterTopic)
					}
					return f.publishOne(ctx, r.DeadLetter(f.cfg.DeadLetterTopic, err.Error(), limit), true)
				}
				if dead {
					stuck = fmt.Errorf("event %s for topic %s failed %d times, and the dead-letter topic %s refused it too: %w",
						id, r.HeaderValue(bridge.HeaderDeadLetterTopic), attempts, r.Topic, err)
				} else {
					stuck = fmt.Errorf("event %s for topic %s failed %d times: %w; set IMBRIDGE_DLQ_TOPIC to move such events aside",
						id, r.Topic, attempts, err)
				}
				backoff = f.cfg.BackoffMax
			}
		}
		f.failed(err, stuck)
		f.log.Warn("publishing a record to kafka failed; retrying", zap.String("event_id", id),
			zap.String("topic", r.Topic), zap.Duration("backoff", backoff), zap.Error(err))
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, f.cfg.BackoffMax)
	}
}

func (f *Forwarder) publishCall(ctx context.Context, records []bridge.Record) error {
	pctx, cancel := context.WithTimeout(ctx, f.cfg.PublishTimeout)
	defer cancel()
	err := f.pub.Publish(pctx, records)
	var ee bridge.EventErrors
	if len(records) == 1 && errors.As(err, &ee) && len(ee) == 1 {
		return ee[0] // one record: its own error says it plainest
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

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
