package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// Through the consumer and a real topic, with --tombstone-horizon 1h and versions
// from 2022 (the wall clock would call every one of them old): an addition older than
// a removal is refused while the removal is within the horizon of the newest version
// read; once the versions move on past the horizon the tombstones are dropped, the
// state and its snapshot shrink, and an addition older than a forgotten removal, such
// as a spool drained days later would bring, is applied: the documented consequence.
func TestHorizonDropsTombstones(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "blocklist-horizon", 1)
	bin := build(t, ".", "imbridge-blocklist")
	const base = int64(1669872112000)
	const hour = int64(time.Hour / time.Millisecond)
	var removals []op
	for i := 0; i < 5000; i++ {
		user, target := fmt.Sprintf("u%03d", i/10), fmt.Sprintf("t%d", i%10)
		removals = append(removals, op{true, user, target, base + int64(i)}, op{false, user, target, base + 10000 + int64(i)})
	}
	produce(t, brokers, topic, removals)
	c := startConsumer(t, bin, "--brokers", strings.Join(brokers, ","), "--topics", topic, "--tombstone-horizon", "1h",
		"--snapshot", filepath.Join(t.TempDir(), "blocklist.snapshot"), "--snapshot-events", "1")
	c.waitRead(int64(len(removals)), 60*time.Second)

	// A late addition within the horizon: refused. Every record read is followed by a
	// snapshot (--snapshot-events 1): wait for the one after it.
	read := int64(len(removals))
	produceAndWait := func(o op) consumerStats {
		written := c.stats().Snapshot.Written
		produce(t, brokers, topic, []op{o})
		read++
		c.waitRead(read, 30*time.Second)
		c.waitUntil("a snapshot", 10*time.Second, func() bool { return c.stats().Snapshot.Written > written })
		return c.stats()
	}
	before := produceAndWait(op{true, "u000", "t0", base + 1})
	if got := c.view(map[string][]string{"u000": nil})["u000"]; len(got) != 0 || before.Tombstones != 5000 || before.Ignored != 1 {
		t.Fatalf("within the horizon: u000 blocks %v, stats %+v; want nothing blocked, 5000 tombstones, 1 ignored", got, before)
	}

	// One event an hour and more later moves the partition's clock past the horizon.
	after := produceAndWait(op{true, "clock", "t", base + 15000 + hour})
	if after.Tombstones != 0 || after.TombstonesDropped != 5000 || after.Users != 1 {
		t.Fatalf("past the horizon: stats %+v; want 0 tombstones, 5000 dropped, 1 user", after)
	}

	// The same late addition now: its removal is forgotten, it is applied.
	produceAndWait(op{true, "u000", "t0", base + 1})
	if d := cmp.Diff(map[string][]string{"u000": {"t0"}}, c.view(map[string][]string{"u000": nil})); d != "" {
		t.Fatalf("an addition older than a dropped removal (-want +got):\n%s", d)
	}
	t.Logf("tombstones %d → %d (users %d → %d), snapshot %d → %d bytes; the late addition was refused, then applied once its removal was dropped",
		before.Tombstones, after.Tombstones, before.Users, after.Users, before.Snapshot.Bytes, after.Snapshot.Bytes)
}
