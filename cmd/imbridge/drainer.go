// Forwarding a stopped spool to Kafka until it is empty, and saying why it is not.

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/spool"
)

// drainer forwards one stopped spool to Kafka until it is empty.
type drainer struct {
	dir      string
	cfg      Config
	giveUp   time.Duration // 0: never
	every    time.Duration
	log      *zap.Logger
	progress io.Writer
	now      func() time.Time
}

// drainResult is what a drain did.
type drainResult struct {
	opened                  bool // the spool was opened: the counts below mean something
	forwarded, deadLettered int64
	left                    spool.Stats
	took                    time.Duration
}

// pollInterval is how often drain looks whether the spool is empty.
const pollInterval = 50 * time.Millisecond

// run opens the spool, waits until Kafka answers (reading the topics' limits), runs
// the forwarder until the spool is empty, and closes everything. The error says why
// the spool is not empty.
func (d *drainer) run(ctx context.Context) (drainResult, error) {
	var res drainResult
	if err := checkSpoolDir(d.dir); err != nil {
		return res, err
	}
	sp, err := spool.Open(d.dir, spool.Options{Log: d.log.Named("spool")})
	if errors.Is(err, spool.ErrLocked) {
		return res, fmt.Errorf("%s is locked by a running process%s: a running replica forwards its own spool; "+
			"drain only the spool of a replica that is gone for good, where nothing else uses it", d.dir, lockHolder(d.dir))
	}
	if err != nil {
		return res, err
	}
	res.opened = true
	start := d.now()
	st := sp.Stats()
	fmt.Fprintf(d.progress, "imbridge spool drain: %s holds %s\n", d.dir, describe(st, d.now()))
	if st.Entries == 0 {
		res.took = d.now().Sub(start)
		return res, sp.Close()
	}

	pub, err := kafka.New(kafka.Config{Brokers: d.cfg.KafkaBrokers, Topics: d.cfg.topics(), Security: d.cfg.Kafka,
		UnknownTopicTimeout: d.cfg.KafkaUnknownTopic}, d.log.Named("kafka"))
	if err != nil {
		res.left = st
		return res, errors.Join(err, sp.Close())
	}
	unreachable := d.every
	if d.giveUp > 0 {
		unreachable = min(unreachable, d.giveUp)
	}
	fwd := spool.NewForwarder(sp, pub, spool.ForwarderConfig{
		DeadLetterTopic: d.cfg.DLQTopic,
		MaxAttempts:     d.cfg.DLQAfterAttempts,
		BackoffMax:      d.cfg.KafkaRetryBackoffMax,
		// Health then reports Kafka failing for one progress interval: the progress
		// line and the final error say why nothing moves.
		UnreachableAfter: unreachable,
	}, d.log.Named("forwarder"))

	err = d.loadLimits(ctx, pub, sp, start)
	if err == nil {
		fctx, stopForwarder := context.WithCancel(ctx)
		fwdDone := make(chan struct{})
		go func() {
			defer close(fwdDone)
			_ = fwd.Run(fctx) // it only returns nil, once fctx ends
		}()
		err = d.forward(ctx, sp, fwd, start, st.Records)
		// The forwarder stops before the spool closes: a spool is never closed under
		// its reader.
		stopForwarder()
		<-fwdDone
	}
	res.forwarded, res.deadLettered = fwd.Counts()
	res.left = sp.Stats()
	if cerr := sp.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close the spool: %w (its cursor may not be saved: the next drain may forward records again)", cerr))
	}
	_ = pub.Close() // every record was acknowledged or stays in the spool: nothing to flush
	res.took = d.now().Sub(start)
	return res, err
}

// loadLimits reads the topics' max.message.bytes, retrying until Kafka answers, so
// that no record is refused as too large for a topic that takes it. It gives up after
// giveUp since start.
func (d *drainer) loadLimits(ctx context.Context, pub *kafka.Publisher, sp *spool.Spool, start time.Time) error {
	lastLine := start
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		// Ping first: its error says why the brokers do not answer (LoadLimits' does
		// not); a topic's error means they do, and the forwarder reports the topic.
		err := pub.Ping(rctx)
		var topicErr kafkago.Error
		if err == nil || errors.As(err, &topicErr) {
			_, err = pub.LoadLimits(rctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return d.stopped(sp)
		}
		now := d.now()
		if d.giveUp > 0 && now.Sub(start) >= d.giveUp {
			return d.gaveUp(sp, err)
		}
		if now.Sub(lastLine) >= d.every {
			fmt.Fprintf(d.progress, "imbridge spool drain: %s left; waiting for kafka (%s): %v\n",
				describe(sp.Stats(), now), strings.Join(d.cfg.KafkaBrokers, ","), err)
			lastLine = now
		}
		if d.giveUp > 0 {
			wait = min(wait, start.Add(d.giveUp).Sub(now))
		}
		select {
		case <-ctx.Done():
			return d.stopped(sp)
		case <-time.After(wait):
		}
	}
}

// forward waits until the spool is empty, printing a progress line every interval.
// It gives up when nothing was forwarded for giveUp. records is how many the spool
// held at start.
func (d *drainer) forward(ctx context.Context, sp *spool.Spool, fwd *spool.Forwarder, start time.Time, records int64) error {
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	var moved int64 // records forwarded or dead-lettered at the last change
	lastMove, lastLine := start, start
	var lineMoved int64 // moved at the last progress line
	for {
		st := sp.Stats()
		if st.Entries == 0 {
			return nil
		}
		now := d.now()
		pub, dead := fwd.Counts()
		if pub+dead != moved {
			moved, lastMove = pub+dead, now
		}
		if d.giveUp > 0 && now.Sub(lastMove) >= d.giveUp {
			return d.gaveUp(sp, fwd.Health())
		}
		if now.Sub(lastLine) >= d.every {
			rate := float64(moved-lineMoved) / now.Sub(lastLine).Seconds()
			// The spool acknowledges a window of records once all of them are
			// through: until then its counts include those already forwarded.
			left := min(st.Records, max(records-moved, 0))
			line := fmt.Sprintf("imbridge spool drain: %d records left (%s not yet acknowledged on disk, in %d callbacks); %.0f records/s; %d forwarded, %d dead-lettered",
				left, byteSize(st.Bytes), st.Entries, rate, pub, dead)
			if err := fwd.Health(); err != nil {
				line += "; " + err.Error()
			}
			fmt.Fprintln(d.progress, line)
			lastLine, lineMoved = now, moved
		}
		select {
		case <-ctx.Done():
			return d.stopped(sp)
		case <-poll.C:
		}
	}
}

// gaveUp is the error of a drain that forwarded nothing for giveUp; why is the last
// reason Kafka gave, nil if none was reported.
func (d *drainer) gaveUp(sp *spool.Spool, why error) error {
	reason := "no error reported"
	if why != nil {
		reason = why.Error()
	}
	return fmt.Errorf("nothing forwarded for %s (%s); %s stay in %s: drain it again once Kafka takes them",
		d.giveUp, reason, describe(sp.Stats(), d.now()), d.dir)
}

// stopped is the error of a drain ended by a signal.
func (d *drainer) stopped(sp *spool.Spool) error {
	return fmt.Errorf("interrupted; %s stay in %s: drain it again to forward them", describe(sp.Stats(), d.now()), d.dir)
}
