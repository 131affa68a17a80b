package kafka

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
)

// DefaultMaxMessageBytes is the largest message a topic is assumed to accept until
// its max.message.bytes has been read: Kafka's own default (1 MiB plus the record
// batch overhead).
const DefaultMaxMessageBytes = 1048588

// limits holds the max.message.bytes of each topic the publisher writes to.
type limits struct {
	mu      sync.RWMutex
	def     int
	byTopic map[string]int
	loaded  bool
}

// known returns the topic's limit and true once LoadLimits has read it.
func (l *limits) known(topic string) (int, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n, ok := l.byTopic[topic]
	return n, ok
}

func (l *limits) of(topic string) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if n, ok := l.byTopic[topic]; ok {
		return n
	}
	return l.def
}

// LoadLimits reads the max.message.bytes of every configured topic (and of the
// dead-letter topic among them) from the brokers. Until it succeeds, every topic is
// assumed to take Config.MaxMessageBytes. It returns the limits it read.
func (p *Publisher) LoadLimits(ctx context.Context) (map[string]int, error) {
	got, err := topicConfigInts(ctx, p.client, p.topics, "max.message.bytes")
	if err != nil {
		return nil, fmt.Errorf("read max.message.bytes: %w", err)
	}
	p.limits.mu.Lock()
	p.limits.byTopic = got
	p.limits.loaded = true
	p.limits.mu.Unlock()
	return got, nil
}

// topicConfigInts reads one integer config of each topic; a topic whose config cannot
// be read is missing from the result.
func topicConfigInts(ctx context.Context, c *kafkago.Client, topics []string, name string) (map[string]int, error) {
	var res []kafkago.DescribeConfigRequestResource
	for _, t := range topics {
		res = append(res, kafkago.DescribeConfigRequestResource{ResourceType: kafkago.ResourceTypeTopic, ResourceName: t, ConfigNames: []string{name}})
	}
	resp, err := c.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: res})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range resp.Resources {
		for _, e := range r.ConfigEntries {
			if e.ConfigName == name {
				if n, err := strconv.Atoi(e.ConfigValue); err == nil {
					out[r.ResourceName] = n
				}
			}
		}
	}
	return out, nil
}

// MaxMessageBytes implements bridge.TopicLimits: the topic's max.message.bytes as read
// by LoadLimits, or 0 (unknown: nothing is refused at the door for it) until then. A
// record refused at the door is refused for good, so the door uses only limits it
// knows; Publish assumes Config.MaxMessageBytes for chunking meanwhile, and fails a
// record over it as retryable until the topic's own limit is known.
func (p *Publisher) MaxMessageBytes(topic string) int {
	n, _ := p.limits.known(topic)
	return n
}

var _ bridge.TopicLimits = (*Publisher)(nil)
