package kafka

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	kafkago "github.com/segmentio/kafka-go"
)

func TestCheckPartitions(t *testing.T) {
	leader := kafkago.Broker{ID: 1, Host: "127.0.0.1", Port: 19500}
	b := func(ids ...int) []kafkago.Broker {
		var out []kafkago.Broker
		for _, id := range ids {
			out = append(out, kafkago.Broker{ID: id})
		}
		return out
	}
	part := func(id int, replicas, isr []kafkago.Broker) kafkago.Partition {
		return kafkago.Partition{ID: id, Leader: leader, Replicas: replicas, Isr: isr}
	}
	type result struct{ Detail, Warning, Err string }
	tests := []struct {
		name   string
		give   []kafkago.Partition
		minISR int
		want   result
	}{
		{"all in sync", []kafkago.Partition{part(0, b(1, 2, 3), b(1, 2, 3)), part(1, b(2, 3, 1), b(2, 3, 1))}, 2,
			result{Detail: "exists, 2 partition(s), all with a leader and at least min.insync.replicas=2 in-sync replicas: writable"}},
		{"under-replicated, still writable", []kafkago.Partition{part(0, b(1, 2, 3), b(1, 3)), part(1, b(2, 3, 1), b(2, 3, 1))}, 2,
			result{Detail: "exists, 2 partition(s), all with a leader and at least min.insync.replicas=2 in-sync replicas: writable",
				Warning: "under-replicated partition(s) 0 (2 of 3 in sync): a broker is down or lagging; writes go on while min.insync.replicas are in sync"}},
		{"below min.insync.replicas", []kafkago.Partition{part(0, b(1, 2, 3), b(1, 3)), part(1, b(2, 3, 1), b(1))}, 2,
			result{Err: "partition 1 has 1 in-sync replicas, fewer than min.insync.replicas=2: writes with acks=all fail"}},
		{"no leader", []kafkago.Partition{{ID: 4, Leader: kafkago.Broker{ID: -1}}}, 2,
			result{Err: "partition 4 has no leader"}},
		{"single broker", []kafkago.Partition{part(0, b(1), b(1))}, 1,
			result{Detail: "exists, 1 partition(s), all with a leader and at least min.insync.replicas=1 in-sync replicas: writable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			detail, warning, err := checkPartitions(kafkago.Topic{Name: "t", Partitions: tt.give}, tt.minISR)
			got := result{Detail: detail, Warning: warning}
			if err != nil {
				got.Err = err.Error()
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestLeaderChanges(t *testing.T) {
	topic := func(leaders ...int) []kafkago.Topic {
		tp := kafkago.Topic{Name: "t"}
		for i, l := range leaders {
			p := kafkago.Partition{ID: i, Leader: kafkago.Broker{ID: l, Host: "127.0.0.1"}}
			if l < 0 {
				p.Leader = kafkago.Broker{ID: -1}
			}
			tp.Partitions = append(tp.Partitions, p)
		}
		return []kafkago.Topic{tp}
	}
	var known map[partitionKey]int
	var got [][]partitionKey
	for _, answer := range [][]kafkago.Topic{
		topic(1, 2, 3), // first sight: no change
		topic(1, 2, 3),
		topic(-1, 2, 3), // partition 0 between leaders: not yet a change
		topic(2, 2, 3),  // ... now it is, once
		topic(2, 2, 1),
		topic(1, 2, 1), // the old leader back
	} {
		var changed []partitionKey
		known, changed = leaderChanges(known, answer)
		got = append(got, changed)
	}
	want := [][]partitionKey{nil, nil, nil, {{"t", 0}}, {{"t", 2}}, {{"t", 0}}}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(partitionKey{})); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}
