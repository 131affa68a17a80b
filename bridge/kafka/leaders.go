package kafka

import (
	"context"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// LeaderObserver is told of every partition leader change WatchLeaders sees;
// metrics.Metrics implements it.
type LeaderObserver interface {
	LeaderChanged(topic string, partition int)
}

// partitionKey names one partition of one topic.
type partitionKey struct {
	topic     string
	partition int
}

// WatchLeaders asks the brokers for the leaders of the publisher's topics every
// interval until ctx ends, and tells obs of each partition whose leader differs from the
// one seen at the previous answer: a broker lost or restarted, a preferred leader
// elected again. A failed request is skipped, and a partition without a leader in an
// answer keeps the leader seen before, so that the failover to the next leader counts
// once. It returns when ctx ends.
func (p *Publisher) WatchLeaders(ctx context.Context, interval time.Duration, obs LeaderObserver) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var known map[partitionKey]int
	for {
		rctx, cancel := context.WithTimeout(ctx, interval)
		md, err := p.client.Metadata(rctx, &kafkago.MetadataRequest{Topics: p.topics})
		cancel()
		if err == nil {
			var changed []partitionKey
			known, changed = leaderChanges(known, md.Topics)
			for _, k := range changed {
				obs.LeaderChanged(k.topic, k.partition)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// leaderChanges merges the leaders in topics into known and returns the partitions
// whose leader changed. The first answer about a partition is no change; a partition
// without a leader keeps the one known.
func leaderChanges(known map[partitionKey]int, topics []kafkago.Topic) (map[partitionKey]int, []partitionKey) {
	if known == nil {
		known = map[partitionKey]int{}
	}
	var changed []partitionKey
	for _, t := range topics {
		if t.Error != nil {
			continue
		}
		for _, p := range t.Partitions {
			if p.Error != nil || p.Leader.ID < 0 || p.Leader.Host == "" {
				continue
			}
			k := partitionKey{t.Name, p.ID}
			if prev, ok := known[k]; ok && prev != p.Leader.ID {
				changed = append(changed, k)
			}
			known[k] = p.Leader.ID
		}
	}
	return known, changed
}
