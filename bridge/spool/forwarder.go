package spool

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/internal/logfold"
)

// Forwarder drains a Spool into Kafka: it reads records in order, publishes their
// events in windows, retries failures and acknowledges a record once all of its events
// are published (or dead-lettered). Per key, events reach Kafka in spool order.
type Forwarder struct {
	spool *Spool
	pub   bridge.Publisher
	cfg   ForwarderConfig
	log   *zap.Logger
	fold  *logfold.Folder // the retry lines: one per cause per RetryLogInterval

	// Kept by Run's goroutine alone: the backlog being published since Kafka came back.
	draining       bool
	drainStart     time.Time
	drainPublished int64 // published when the drain started

	// reading position: an entry whose records are partly in earlier windows
	cur    *Entry
	curIdx int

	mu           sync.Mutex
	failingSince time.Time // zero while publishing works
	unreachable  bool      // a failure since then was Kafka's, not one record's
	lastErr      error
	stuck        error // an event that failed permanently with no dead-letter topic
	readErr      error // the spool read that failed, until a read succeeds
	published    int64
	deadLettered int64
}

// NewForwarder returns a Forwarder from s to pub. Start it with Run.
func NewForwarder(s *Spool, pub bridge.Publisher, cfg ForwarderConfig, log *zap.Logger) *Forwarder {
	cfg.setDefaults()
	return &Forwarder{spool: s, pub: pub, cfg: cfg, log: log, fold: logfold.New(log, RetryLogInterval, cfg.Now)}
}

// RetryLogInterval is how often the forwarder's retry lines of one cause (an error
// text, with the broker's address) are written while Kafka fails: the first at once,
// then one per interval with the count of retries ("repeated").
const RetryLogInterval = time.Minute

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
			f.checkDrained()
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
		f.checkDrained()
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
