package main

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// A restart after retention deleted the records the state was built from still
// answers the true state, from the snapshot, and reads only what came since; a
// consumer without the snapshot rebuilds a wrong state from what is left, and says
// that records were deleted before it read them.
func TestRestartFromSnapshotAfterRetention(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "blocklist-restart", 3)
	bin := build(t, ".", "imbridge-blocklist")
	snapshot := filepath.Join(t.TempDir(), "blocklist.snapshot")
	rng := rand.New(rand.NewPCG(5, uint64(time.Now().UnixNano())))
	const base = int64(1669872112000)
	first, second := randomOps(rng, "u", 40, 3000, base), randomOps(rng, "u", 40, 300, base+10000)
	args := []string{"--brokers", strings.Join(brokers, ","), "--topics", topic, "--snapshot", snapshot}

	produce(t, brokers, topic, first)
	c := startConsumer(t, bin, args...)
	c.waitRead(int64(len(first)), 60*time.Second)
	if code := c.stop(); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0:\n%s", code, c.output())
	}

	// Retention, or an operator, deletes every record read so far.
	ends := kafkatest.EndOffsets(t, brokers, topic)
	deleteRecords(t, brokers, topic, ends)
	produce(t, brokers, topic, second)
	want := truth(first, second)

	without := startConsumer(t, bin, "--brokers", strings.Join(brokers, ","), "--topics", topic)
	without.waitRead(int64(len(second)), 60*time.Second)
	without.waitFor("records before it were deleted (retention) before this state read them", 10*time.Second)
	if d := cmp.Diff(want, without.view(want)); d == "" {
		t.Fatal("a consumer without the snapshot has the true state: the deleted records did not matter, the test proves nothing")
	}
	without.stop()

	started := time.Now()
	c = startConsumer(t, bin, args...)
	c.waitUntil("/readyz 200", 30*time.Second, func() bool { code, _ := c.ready(); return code == 200 })
	ready := time.Since(started)
	if d := cmp.Diff(want, c.view(want)); d != "" {
		t.Fatalf("restarted consumer's view (-want +got):\n%s", d)
	}
	if s := c.stats(); s.Applied+s.Ignored != int64(len(first)+len(second)) {
		t.Fatalf("stats %+v: want %d records handled in all (%d from the snapshot)", s, len(first)+len(second), len(first))
	}
	if strings.Contains(c.output(), "were deleted") {
		t.Fatalf("the restarted consumer says records were lost:\n%s", c.output())
	}
	loaded := c.output()
	loaded = loaded[strings.Index(loaded, "loaded snapshot"):]
	t.Logf("after %d records were deleted and %d written: ready %s after the restart; %s", len(first), len(second),
		ready.Round(time.Millisecond), loaded[:strings.IndexByte(loaded, '\n')])
}

// DeleteRecords (Kafka API 21), which kafka-go v0.4 does not offer: registered with its
// protocol package once, versions 0 and 1, sent to the single test broker.
type deleteRecordsRequest struct {
	Topics    []deleteRecordsTopic `kafka:"min=v0,max=v1"`
	TimeoutMs int32                `kafka:"min=v0,max=v1"`
}

func (*deleteRecordsRequest) ApiKey() protocol.ApiKey { return protocol.DeleteRecords }

type deleteRecordsTopic struct {
	Name       string                   `kafka:"min=v0,max=v1"`
	Partitions []deleteRecordsPartition `kafka:"min=v0,max=v1"`
}

type deleteRecordsPartition struct {
	PartitionIndex int32 `kafka:"min=v0,max=v1"`
	Offset         int64 `kafka:"min=v0,max=v1"`
}

type deleteRecordsResponse struct {
	ThrottleTimeMs int32                        `kafka:"min=v0,max=v1"`
	Topics         []deleteRecordsResponseTopic `kafka:"min=v0,max=v1"`
}

func (*deleteRecordsResponse) ApiKey() protocol.ApiKey { return protocol.DeleteRecords }

type deleteRecordsResponseTopic struct {
	Name       string                           `kafka:"min=v0,max=v1"`
	Partitions []deleteRecordsResponsePartition `kafka:"min=v0,max=v1"`
}

type deleteRecordsResponsePartition struct {
	PartitionIndex int32 `kafka:"min=v0,max=v1"`
	LowWatermark   int64 `kafka:"min=v0,max=v1"`
	ErrorCode      int16 `kafka:"min=v0,max=v1"`
}

var registerDeleteRecords sync.Once

// deleteRecords deletes the records of topic before the given offset of each
// partition, as retention would, and checks that each partition now starts there.
func deleteRecords(t *testing.T, brokers []string, topic string, before map[int]int64) {
	t.Helper()
	registerDeleteRecords.Do(func() { protocol.Register(&deleteRecordsRequest{}, &deleteRecordsResponse{}) })
	req := &deleteRecordsRequest{Topics: []deleteRecordsTopic{{Name: topic}}, TimeoutMs: 10000}
	for p, offset := range before {
		req.Topics[0].Partitions = append(req.Topics[0].Partitions, deleteRecordsPartition{PartitionIndex: int32(p), Offset: offset})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	res, err := tr.RoundTrip(ctx, kafkago.TCP(brokers[0]), req)
	if err != nil {
		t.Fatalf("delete records of %s: %v", topic, err)
	}
	for _, rt := range res.(*deleteRecordsResponse).Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 || rp.LowWatermark != before[int(rp.PartitionIndex)] {
				t.Fatalf("delete records of %s/%d: error %d, low watermark %d, want %d", topic, rp.PartitionIndex, rp.ErrorCode,
					rp.LowWatermark, before[int(rp.PartitionIndex)])
			}
		}
	}
}

// /readyz turns ready once every record read is applied, not when it was fetched: a
// consumer started on a topic of 20,000 records answers ready with all of them in its
// state (before, ready came as soon as the readers reached the end, while batches
// still waited for the applier, and a view taken then was stale).
func TestReadyMeansApplied(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "blocklist-ready", 3)
	bin := build(t, ".", "imbridge-blocklist")
	rng := rand.New(rand.NewPCG(7, uint64(time.Now().UnixNano())))
	ops := randomOps(rng, "u", 200, 20000, 1669872112000)
	produce(t, brokers, topic, ops)
	c := startConsumer(t, bin, "--brokers", strings.Join(brokers, ","), "--topics", topic)
	c.waitUntil("/readyz 200", 60*time.Second, func() bool { code, _ := c.ready(); return code == 200 })
	if s := c.stats(); s.Applied+s.Ignored != int64(len(ops)) {
		t.Fatalf("ready with %d of %d records handled", s.Applied+s.Ignored, len(ops))
	}
	want := truth(ops)
	if d := cmp.Diff(want, c.view(want)); d != "" {
		t.Fatalf("view when ready (-want +got):\n%s", d)
	}
}
