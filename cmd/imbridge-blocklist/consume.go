package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge/events"
)

// Reading settings.
const (
	// fetchWait is how long a fetch waits for records; an empty fetch is also how a
	// reader learns that its partition is still there.
	fetchWait = 500 * time.Millisecond
	// fetchBytes bounds one fetch (Kafka returns a larger record batch whole).
	fetchBytes = 1 << 20
	// rediscoverEvery is how often the topics' partitions are listed again, for
	// partitions and topics created since.
	rediscoverEvery = 30 * time.Second
	// backoffMin and backoffMax bound the wait between attempts while Kafka does not
	// answer: the consumer is back within backoffMax of Kafka.
	backoffMin, backoffMax = 250 * time.Millisecond, 5 * time.Second
)

// batch is what one fetch of one partition read: records and the offset after them.
type batch struct {
	from Partition
	msgs []kafkago.Message
	next int64
	// caughtUp: with this batch applied, the partition is read to its end as the
	// fetch saw it. A batch of caughtUp alone (marker) moves nothing: it only passes
	// behind the batches queued before it, so that /readyz turns ready once they are
	// applied, not when they were fetched.
	caughtUp, marker bool
}

// consumer reads every partition of its topics, one reader per partition (no consumer
// group: every instance keeps every user's state), and applies the records in one
// goroutine, which also writes the snapshot.
type consumer struct {
	brokers, topics []string
	dialer          *kafkago.Dialer
	state           *State
	health          *health
	// snapshot is nil without --snapshot; every and events say when to write it.
	snapshot      *snapshotFile
	every         time.Duration
	events        int
	logw          io.Writer
	batches       chan batch
	fatal         chan error
	readers       sync.WaitGroup
	snapshotStats snapshotStats
}

// run reads and applies until ctx ends (nil) or the state cannot go on (the error):
// a partition that ends before the offset the state has read. Kafka being unreachable
// is never an error: readers retry with backoff, and /readyz says so meanwhile. On a
// clean stop the snapshot is written last.
func (c *consumer) run(ctx context.Context) error {
	readCtx, stopReading := context.WithCancel(ctx)
	c.readers.Add(1)
	go c.discover(readCtx)
	err := c.apply(ctx)
	stopReading()
	c.readers.Wait()
	if err == nil && c.snapshot != nil {
		c.writeSnapshot()
	}
	return err
}

// apply applies what the readers fetch, in fetch order per partition, and writes the
// snapshot every c.every or c.events records.
func (c *consumer) apply(ctx context.Context) error {
	var tick <-chan time.Time
	if c.snapshot != nil {
		t := time.NewTicker(c.every)
		defer t.Stop()
		tick = t.C
	}
	pending, dirty := 0, false
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-c.fatal:
			return err
		case b := <-c.batches:
			if b.marker {
				c.health.caughtUp(b.from)
				continue
			}
			for _, m := range b.msgs {
				hs := make([]events.Header, len(m.Headers))
				for i, h := range m.Headers {
					hs[i] = events.Header{Key: h.Key, Value: h.Value}
				}
				ev, err := events.Decode(m.Key, m.Value, hs)
				if err != nil {
					if !errors.Is(err, events.ErrUnknownType) {
						fmt.Fprintf(c.logw, "imbridge-blocklist: skipping %s/%d@%d: %v\n", m.Topic, m.Partition, m.Offset, err)
					}
					continue
				}
				c.state.Apply(b.from, ev)
			}
			c.state.Advance(b.from, b.next)
			if b.caughtUp {
				c.health.caughtUp(b.from)
			}
			pending += len(b.msgs)
			dirty = true
			if c.snapshot != nil && pending >= c.events {
				c.writeSnapshot()
				pending, dirty = 0, false
			}
		case <-tick:
			if dirty {
				c.writeSnapshot()
				pending, dirty = 0, false
			}
		}
	}
}

// writeSnapshot writes the snapshot; a failure is logged and the previous snapshot
// stays, to be replaced at the next attempt.
func (c *consumer) writeSnapshot() {
	start := time.Now()
	size, err := c.snapshot.write(c.state)
	if err != nil {
		fmt.Fprintf(c.logw, "imbridge-blocklist: snapshot %s not written, the previous one stays: %v\n", c.snapshot.path, err)
		return
	}
	c.snapshotStats.set(size, time.Since(start))
}

// snapshotStats is the last snapshot written, for GET /stats.
type snapshotStats struct {
	mu      sync.Mutex
	written int64
	bytes   int64
	took    time.Duration
}

func (s *snapshotStats) set(size int64, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written++
	s.bytes, s.took = size, took
}

func (s *snapshotStats) get() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return map[string]any{"written": s.written, "bytes": s.bytes, "tookMs": s.took.Milliseconds()}
}

// discover lists the topics' partitions, at start and every rediscoverEvery, and
// starts a reader for each new one, from the offset the state has read to (the first
// offset for a partition it has not read).
func (c *consumer) discover(ctx context.Context) {
	defer c.readers.Done()
	started := map[Partition]bool{}
	warned := map[string]bool{}
	for attempt := 0; ; {
		parts, missing, err := c.partitions(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := rediscoverEvery
		if err != nil {
			c.health.fail("metadata", err)
			attempt++
			wait = backoff(attempt)
		} else {
			c.health.ok("metadata")
			attempt = 0
			for _, t := range missing {
				if !warned[t] {
					warned[t] = true
					fmt.Fprintf(c.logw, "imbridge-blocklist: topic %s does not exist: create it (imbridge's blocklist topic is imbridge.blocklist by default), or its blocklists stay empty\n", t)
				}
			}
			var fresh []Partition
			for _, p := range parts {
				if !started[p] {
					started[p] = true
					fresh = append(fresh, p)
				}
			}
			c.health.discovered(fresh)
			for _, p := range fresh {
				offset, ok := c.state.Next(p)
				if !ok {
					offset = kafkago.FirstOffset
				}
				c.readers.Add(1)
				go c.read(ctx, p, offset)
			}
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// partitions returns the partitions of the topics that exist and the names of those
// that do not, asking each broker in turn until one answers.
func (c *consumer) partitions(ctx context.Context) ([]Partition, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out []Partition
	var missing []string
	for _, topic := range c.topics {
		var ps []kafkago.Partition
		var err error
		for _, broker := range c.brokers {
			if ps, err = c.dialer.LookupPartitions(ctx, "tcp", broker, topic); err == nil || errors.Is(err, kafkago.UnknownTopicOrPartition) {
				break
			}
		}
		switch {
		case errors.Is(err, kafkago.UnknownTopicOrPartition):
			missing = append(missing, topic)
		case err != nil:
			return nil, nil, err
		}
		for _, p := range ps {
			out = append(out, Partition{Topic: topic, ID: p.ID})
		}
	}
	return out, missing, nil
}

// read fetches partition p from offset until ctx ends, handing each fetch to the
// applier. Errors are retried with backoff; each is reported to the health, which
// logs when Kafka is lost and when it is back.
func (c *consumer) read(ctx context.Context, p Partition, offset int64) {
	defer c.readers.Done()
	source := p.String()
	for attempt := 0; ; attempt++ {
		if attempt > 0 && !sleep(ctx, backoff(attempt)) {
			return
		}
		conn, err := c.dialLeader(ctx, p)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.health.fail(source, err)
			continue
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		offset, err = c.seek(conn, p, offset)
		if err == nil {
			var progressed bool
			progressed, err = c.fetch(ctx, conn, p, &offset)
			if progressed {
				attempt = 0
			}
		}
		stop()
		conn.Close()
		var fatal *positionError
		switch {
		case ctx.Err() != nil:
			return
		case errors.As(err, &fatal):
			select {
			case c.fatal <- err:
			case <-ctx.Done():
			}
			return
		case errors.Is(err, kafkago.OffsetOutOfRange):
			// Records were deleted under the reader (or the partition was cut): seek
			// again, which says which.
			attempt = 0
		default:
			c.health.fail(source, err)
		}
	}
}

// dialLeader connects to the leader of p through the first broker that answers.
func (c *consumer) dialLeader(ctx context.Context, p Partition) (*kafkago.Conn, error) {
	var err error
	for _, broker := range c.brokers {
		var conn *kafkago.Conn
		if conn, err = c.dialer.DialLeader(ctx, "tcp", broker, p.Topic, p.ID); err == nil {
			return conn, nil
		}
	}
	return nil, err
}

// positionError is a partition that ends before the offset the state has read: the
// state belongs to records that are gone, and reading on would mix it with others.
type positionError struct {
	p          Partition
	next, last int64
	snapshot   string
}

func (e *positionError) Error() string {
	fix := "restart to rebuild the state from the topic"
	if e.snapshot != "" {
		fix = "move the snapshot " + e.snapshot + " aside and restart to rebuild the state from the topic"
	}
	return fmt.Sprintf("%s ends at offset %d but the state has read it up to offset %d: the topic was deleted and created again, "+
		"or the partition lost records (an unclean leader election); %s", e.p, e.last, e.next, fix)
}

// seek positions conn at offset, or at the partition's first offset for FirstOffset
// or when the records before it were deleted, which is logged: their changes are
// missing from the state. An offset past the partition's end is a *positionError.
func (c *consumer) seek(conn *kafkago.Conn, p Partition, offset int64) (int64, error) {
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	first, last, err := conn.ReadOffsets()
	if err != nil {
		return offset, err
	}
	_ = conn.SetDeadline(time.Time{})
	switch {
	case offset == kafkago.FirstOffset:
		if first > 0 {
			fmt.Fprintf(c.logw, "imbridge-blocklist: %s starts at offset %d: the %d records before it were deleted (retention) before this state read them, and their changes are missing from it\n", p, first, first)
		}
		offset = first
	case offset < first:
		fmt.Fprintf(c.logw, "imbridge-blocklist: %s starts at offset %d but the state has read it up to offset %d: the %d records between were deleted (retention) before they were read, and their changes are missing from the state\n", p, first, offset, first-offset)
		offset = first
	case offset > last:
		path := ""
		if c.snapshot != nil {
			path = c.snapshot.path
		}
		return offset, &positionError{p: p, next: offset, last: last, snapshot: path}
	}
	if _, err := conn.Seek(offset, kafkago.SeekAbsolute|kafkago.SeekDontCheck); err != nil {
		return offset, err
	}
	return offset, nil
}

// fetch reads conn from *offset until an error, handing every fetch that moved the
// offset to the applier. progressed reports whether a fetch succeeded.
func (c *consumer) fetch(ctx context.Context, conn *kafkago.Conn, p Partition, offset *int64) (progressed bool, err error) {
	source := p.String()
	reported := false // a caughtUp batch went to the applier since the offset last moved
	for {
		_ = conn.SetReadDeadline(time.Now().Add(fetchWait + 10*time.Second))
		b := conn.ReadBatchWith(kafkago.ReadBatchConfig{MinBytes: 1, MaxBytes: fetchBytes, MaxWait: fetchWait})
		hw := b.HighWaterMark()
		var msgs []kafkago.Message
		for {
			m, err := b.ReadMessage()
			if err != nil {
				break
			}
			msgs = append(msgs, m)
		}
		// kafka-go reports a fetch that found nothing within fetchWait as RequestTimedOut.
		if err := b.Close(); err != nil && !errors.Is(err, kafkago.RequestTimedOut) {
			return progressed, err
		}
		progressed = true
		c.health.ok(source)
		next, _ := conn.Offset()
		var out batch
		switch {
		case next != *offset:
			out = batch{from: p, msgs: msgs, next: next, caughtUp: next >= hw}
		case next >= hw && !reported:
			out = batch{from: p, next: next, caughtUp: true, marker: true}
		default:
			continue
		}
		select {
		case c.batches <- out:
		case <-ctx.Done():
			return progressed, ctx.Err()
		}
		*offset, reported = next, out.caughtUp
	}
}
