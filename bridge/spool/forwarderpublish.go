// How the Forwarder publishes a window: all at once, then one by one, retries and dead letters.

package spool

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

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
		f.fold.Log(zap.WarnLevel, "publishing to kafka failed; retrying, the spool keeps the events", firstErr.Error(),
			zap.Int("records", len(retry)), zap.Duration("backoff", backoff))
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
		f.fold.Log(zap.WarnLevel, "publishing a record to kafka failed; retrying, the spool keeps it", err.Error(),
			zap.String("event_id", id), zap.String("topic", r.Topic), zap.Duration("backoff", backoff))
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
