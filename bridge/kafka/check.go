package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// CheckResult is the outcome of one check: Err nil means it passed, Detail says what
// was found, and Warning, when set, what passed but needs attention.
type CheckResult struct {
	Name    string
	Detail  string
	Warning string
	Err     error
	// MaxMessageBytes is a topic's max.message.bytes when it could be read, else 0.
	MaxMessageBytes int
	// Missing is true for a topic the brokers do not have (Err says so in Kafka's
	// words).
	Missing bool
}

// Check connects to the brokers of cfg and checks each of cfg.Topics: it exists,
// every partition has a leader, and each partition's in-sync replicas reach the
// topic's min.insync.replicas, without which writes with acks=all fail. A topic whose
// partitions are under-replicated (fewer in-sync replicas than replicas) but still
// writable passes with a Warning: one more broker lost may stop its writes. A failed
// connection ends the checks. Each topic's detail also names its max.message.bytes:
// serve refuses (413) a callback with an event larger than that.
func Check(ctx context.Context, cfg Config, log *zap.Logger) []CheckResult {
	p, err := New(cfg, log)
	if err != nil {
		return []CheckResult{{Name: "kafka client", Err: err}}
	}
	defer p.Close()
	md, err := p.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: cfg.Topics})
	if err != nil {
		return []CheckResult{{Name: "kafka " + strings.Join(cfg.Brokers, ","), Err: err}}
	}
	results := []CheckResult{{Name: "kafka " + strings.Join(cfg.Brokers, ","),
		Detail: fmt.Sprintf("connected; %d broker(s), controller %d", len(md.Brokers), md.Controller.ID)}}
	// A topic whose configs cannot be read is missing from these; its leader check
	// still runs.
	minISR, _ := topicConfigInts(ctx, p.client, cfg.Topics, "min.insync.replicas")
	maxMessage, _ := topicConfigInts(ctx, p.client, cfg.Topics, "max.message.bytes")
	for _, t := range md.Topics {
		r := CheckResult{Name: "topic " + t.Name}
		switch {
		case t.Error != nil:
			r.Err, r.Missing = t.Error, errors.Is(t.Error, kafkago.UnknownTopicOrPartition)
		default:
			r.Detail, r.Warning, r.Err = checkPartitions(t, minISR[t.Name])
			if n, ok := maxMessage[t.Name]; ok && r.Err == nil {
				r.Detail += fmt.Sprintf("; max.message.bytes=%d (larger events are refused with 413)", n)
				r.MaxMessageBytes = n
			}
		}
		results = append(results, r)
	}
	return results
}

func checkPartitions(t kafkago.Topic, minISR int) (detail, warning string, err error) {
	if len(t.Partitions) == 0 {
		return "", "", fmt.Errorf("has no partitions")
	}
	var under []string
	for _, p := range t.Partitions {
		if p.Error != nil {
			return "", "", fmt.Errorf("partition %d: %w", p.ID, p.Error)
		}
		if p.Leader.ID < 0 || p.Leader.Host == "" {
			return "", "", fmt.Errorf("partition %d has no leader", p.ID)
		}
		if minISR > 0 && len(p.Isr) < minISR {
			return "", "", fmt.Errorf("partition %d has %d in-sync replicas, fewer than min.insync.replicas=%d: writes with acks=all fail", p.ID, len(p.Isr), minISR)
		}
		if len(p.Isr) < len(p.Replicas) {
			under = append(under, fmt.Sprintf("%d (%d of %d in sync)", p.ID, len(p.Isr), len(p.Replicas)))
		}
	}
	detail = fmt.Sprintf("exists, %d partition(s), all with a leader", len(t.Partitions))
	if minISR > 0 {
		detail += fmt.Sprintf(" and at least min.insync.replicas=%d in-sync replicas: writable", minISR)
	}
	if len(under) > 0 {
		warning = fmt.Sprintf("under-replicated partition(s) %s: a broker is down or lagging; writes go on while min.insync.replicas are in sync",
			strings.Join(under, ", "))
	}
	return detail, warning, nil
}
