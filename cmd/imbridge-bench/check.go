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

// Checker reads a topic from its end offsets at the time it starts, while the load
// runs, and remembers when each pair of one run was first readable.
type Checker struct {
	brokers []string
	topic   string
	prefix  string // From_Account prefix of the run

	mu    sync.Mutex
	seen  map[string]time.Time // "from/to" -> first time read
	total int64                // messages of the run read, duplicates included

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// StartChecker starts one reader per partition of topic at the current end offsets.
func StartChecker(brokers []string, topic, run string) (*Checker, error) {
	c := &Checker{brokers: brokers, topic: topic, prefix: "b" + run + "k", seen: map[string]time.Time{}}
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
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: po.Partition,
			MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 20 * time.Millisecond})
		if err := r.SetOffset(po.LastOffset); err != nil {
			cancel()
			return nil, err
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
				now := time.Now()
				var v struct{ FromAccount, ToAccount string }
				if json.Unmarshal(m.Value, &v) != nil || !strings.HasPrefix(v.FromAccount, c.prefix) {
					continue
				}
				k := v.FromAccount + "/" + v.ToAccount
				c.mu.Lock()
				c.total++
				if _, ok := c.seen[k]; !ok {
					c.seen[k] = now
				}
				c.mu.Unlock()
			}
		}()
	}
	return c, nil
}

// Verdict is what the checker found for one run.
type Verdict struct {
	Acked, Missing, Duplicates int64
	EndToEnd                   *hdrhistogram.Histogram // microseconds from intended send to first readable
}

// Finish waits up to timeout for every acknowledged pair to be readable, stops the
// readers and reports.
func (c *Checker) Finish(res *Result, run string, pairs int, timeout time.Duration) Verdict {
	deadline := time.Now().Add(timeout)
	v := Verdict{EndToEnd: hdrhistogram.New(1, 600_000_000, 3)}
	for {
		v.Missing, v.Acked = 0, 0
		v.EndToEnd.Reset()
		c.mu.Lock()
		for _, a := range res.acked {
			for j := 0; j < pairs; j++ {
				from, to := accounts(run, a.key, a.seq, j)
				v.Acked++
				at, ok := c.seen[from+"/"+to]
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
