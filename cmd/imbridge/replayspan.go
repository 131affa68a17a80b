// Reading one partition's records, publishing their events in batches, committing.

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
)

// Limits of a batch: the events of consecutive mapped records are published in one
// call (Kafka acknowledges them in one round trip, not one per record), then
// committed. A batch is published when it holds batchRecords records, batchEvents
// events or batchBytes bytes, when it is batchWait old, and at the end.
const (
	batchRecords = 200
	batchEvents  = 2000
	batchBytes   = 4 << 20
	batchWait    = 200 * time.Millisecond
)

// commitEvery is how long skipped records may stay uncommitted while nothing is
// published.
const commitEvery = time.Second

// batch is what was read of a partition since the last publish: mapped records, and
// the skipped ones behind the first.
type batch struct {
	outcomes []replayOutcome
	records  []bridge.Record
	bytes    int
	first    int64 // the offset of the first record
	started  time.Time
}

func (b *batch) add(o replayOutcome, offset int64, now time.Time) {
	if len(b.outcomes) == 0 {
		b.first, b.started = offset, now
	}
	b.outcomes = append(b.outcomes, o)
	b.records = append(b.records, o.records...)
	for i := range o.records {
		b.bytes += o.records[i].Size()
	}
}

func (b *batch) full() bool {
	return len(b.outcomes) >= batchRecords || len(b.records) >= batchEvents || b.bytes >= batchBytes
}

// replaySpan replays the records of one partition from s.from up to s.to.
//
// done is the offset before which every record is done: its events acknowledged by
// Kafka, or skipped. The group's offset is moved to done after every publish, and
// every commitEvery while only skipped records are read; never past a record whose
// events are not acknowledged.
func (r *replayer) replaySpan(ctx context.Context, s span) error {
	if s.from >= s.to || r.countReached() {
		return nil
	}
	reader := kafkago.NewReader(kafkago.ReaderConfig{Brokers: r.cfg.KafkaBrokers, Topic: r.topic, Partition: s.partition,
		Dialer: r.dialer, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 200 * time.Millisecond,
		ErrorLogger: r.readerLog})
	defer reader.Close()
	if err := reader.SetOffset(s.from); err != nil {
		return err
	}
	var (
		next       = s.from // the offset of the next record to read
		done       = s.from
		committed  = s.from // the group's offset, as far as this replay moved it
		lastCommit = r.now()
		pending    batch
	)
	// commit moves the group's offset to done. It runs on a context of its own: an
	// interrupted replay still saves what it did.
	commit := func() error {
		if r.dryRun || committed == done {
			return nil
		}
		cctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
		if err := r.commit(cctx, s.partition, done); err != nil {
			return err
		}
		committed, lastCommit = done, r.now()
		return nil
	}
	// publish publishes the pending batch and commits. Also on a context of its own:
	// an interrupted replay finishes what it has read.
	publish := func() error {
		if len(pending.outcomes) > 0 {
			pctx, cancel := context.WithTimeout(context.Background(), r.timeout)
			err := r.pub.Publish(pctx, pending.records)
			cancel()
			if err != nil {
				done = pending.first
				return errors.Join(fmt.Errorf("kafka did not acknowledge the %d events of %s partition %d offsets %d to %d: %w; "+
					"the records before offset %d are committed: run %s again to resume",
					len(pending.records), r.topic, s.partition, pending.first, next-1, err, pending.first, r.name), commit())
			}
			for _, o := range pending.outcomes {
				r.tally(o)
			}
			pending = batch{}
		}
		done = next
		if err := commit(); err != nil {
			return fmt.Errorf("%w; the events of the records before offset %d are published: a replay run again publishes them again, with the same eventIds",
				err, next)
		}
		return nil
	}
	interrupted := func() error {
		return errors.Join(fmt.Errorf("%w at %s partition %d offset %d: run %s again with --group %s to resume",
			errInterrupted, r.topic, s.partition, next, r.name, r.group), publish())
	}
	for next < s.to && !r.countReached() {
		if ctx.Err() != nil {
			return interrupted()
		}
		if len(pending.outcomes) > 0 && r.now().Sub(pending.started) >= batchWait {
			if err := publish(); err != nil {
				return err
			}
		}
		fctx, cancel := context.WithTimeout(ctx, r.timeout)
		m, err := reader.FetchMessage(fctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return interrupted()
			}
			return errors.Join(fmt.Errorf("kafka (%s): no record of %s partition %d at offset %d for %s (the partition ends at %d): %w",
				strings.Join(r.cfg.KafkaBrokers, ","), r.topic, s.partition, next, r.timeout, s.to, err), publish())
		}
		if m.Offset < next {
			continue
		}
		r.n.read.Add(1)
		var o replayOutcome
		if r.decide != nil {
			o = r.decide(m)
		} else {
			o = r.outcome(m)
		}
		if o.fail != nil {
			// Not done: the group's offset stays before it, the next run starts there.
			r.n.read.Add(-1)
			return errors.Join(fmt.Errorf("%s partition %d offset %d: %w; the records before it are done: run %s again to resume",
				r.topic, s.partition, m.Offset, o.fail, r.name), publish())
		}
		if r.dryRun || o.records == nil || o.newIDs {
			says := o.says
			if says == "" {
				says = printable(o.command) + " " + o.describe()
			}
			fmt.Fprintf(r.out, "%d/%d %s\n", m.Partition, m.Offset, says)
		}
		next = m.Offset + 1
		if (o.records != nil && !r.dryRun) || len(pending.outcomes) > 0 {
			// A skipped record behind a batch is done when the batch is.
			pending.add(o, m.Offset, r.now())
			if pending.full() {
				if err := publish(); err != nil {
					return err
				}
			}
			continue
		}
		r.tally(o)
		done = next
		if r.now().Sub(lastCommit) >= commitEvery {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	return publish()
}

// tally counts what a record gave.
func (r *replayer) tally(o replayOutcome) {
	switch {
	case o.noRoute:
		r.n.noRoute.Add(1)
	case o.records == nil:
		r.n.unmappable.Add(1)
	default:
		r.n.replayed.Add(1)
		r.n.events.Add(int64(len(o.records)))
		if o.newIDs {
			r.n.newIDs.Add(1)
		}
	}
}

// countReached reports whether --count records were read.
func (r *replayer) countReached() bool { return r.count > 0 && r.n.read.Load() >= r.count }
