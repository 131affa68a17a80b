package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	kafkago "github.com/segmentio/kafka-go"
)

// Checker notes a topic's end offsets before a run and, after it, reads everything
// written since, remembering for each event of the run the timestamp of its first Kafka
// record (set by imbridge's producer when it wrote the record). An event is named by
// its fromAccount and toAccount (pairs, one-to-one messages) or by its groupId and
// memberAccount (group joins). Reading after the load
// keeps the checker's own CPU out of the measured window on a shared machine.
type Checker struct {
	brokers []string
	topic   string
	prefix  string // From_Account prefix of the run

	mu    sync.Mutex
	seen  map[string]time.Time // "from/to" -> timestamp of its first record
	total int64                // messages of the run read, duplicates included

	start  map[int]int64 // partition -> end offset before the run
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartChecker notes the current end offsets of topic.
func StartChecker(brokers []string, topic, run string) (*Checker, error) {
	c := &Checker{brokers: brokers, topic: topic, prefix: "b" + run + "k", seen: map[string]time.Time{}, start: map[int]int64{}}
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	md, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		cancel()
		return nil, fmt.Errorf("metadata of %s: %v %v", topic, err, md)
	}
	var req []kafkago.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		req = append(req, kafkago.LastOffsetOf(p.ID))
	}
	offs, err := client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: req}})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("offsets of %s: %w", topic, err)
	}
	for _, po := range offs.Topics[topic] {
		c.start[po.Partition] = po.LastOffset
	}
	return c, nil
}

// read starts one reader per partition from the noted offsets.
func (c *Checker) read() error {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for partition, offset := range c.start {
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: c.brokers, Topic: c.topic, Partition: partition,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 20 * time.Millisecond})
		if err := r.SetOffset(offset); err != nil {
			cancel()
			return err
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(ctx)
				if err != nil {
					return
				}
				var v struct{ FromAccount, ToAccount, GroupID, MemberAccount string }
				if json.Unmarshal(m.Value, &v) != nil {
					continue
				}
				if v.FromAccount == "" {
					v.FromAccount, v.ToAccount = v.GroupID, v.MemberAccount
				}
				if !strings.HasPrefix(v.FromAccount, c.prefix) {
					continue
				}
				k := v.FromAccount + "/" + v.ToAccount
				c.mu.Lock()
				c.total++
				if _, ok := c.seen[k]; !ok {
					c.seen[k] = m.Time
				}
				c.mu.Unlock()
			}
		}()
	}
	return nil
}

// Verdict is what the checker found for one run.
type Verdict struct {
	Acked, Missing, Duplicates int64
	EndToEnd                   *hdrhistogram.Histogram // microseconds from intended send to the first record's timestamp
}

// Finish reads the topic until every event of every acknowledged callback of l is found
// or timeout passes, and reports.
func (c *Checker) Finish(res *Result, l Load, run string, timeout time.Duration) Verdict {
	deadline := time.Now().Add(timeout)
	if err := c.read(); err != nil {
		return Verdict{Acked: -1, Missing: -1, EndToEnd: hdrhistogram.New(1, 2, 1)}
	}
	v := Verdict{EndToEnd: hdrhistogram.New(1, 600_000_000, 3)}
	for {
		v.Missing, v.Acked = 0, 0
		v.EndToEnd.Reset()
		c.mu.Lock()
		for _, a := range res.acked {
			for _, k := range l.eventKeys(run, a.key, a.seq) {
				v.Acked++
				at, ok := c.seen[k]
				if !ok {
					v.Missing++
					continue
				}
				_ = v.EndToEnd.RecordValue(max(at.Sub(a.sent).Microseconds(), 1))
			}
		}
		v.Duplicates = c.total - int64(len(c.seen))
		c.mu.Unlock()
		if v.Missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.cancel()
	c.wg.Wait()
	return v
}
