package kafka

import (
	"context"
	"fmt"
	"strconv"
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
}

// Check connects to the brokers of cfg and checks each of cfg.Topics: it exists,
// every partition has a leader, and each partition's in-sync replicas reach the
// topic's min.insync.replicas, without which writes with acks=all fail. A topic whose
// partitions are under-replicated (fewer in-sync replicas than replicas) but still
// writable passes with a Warning: one more broker lost may stop its writes. A failed
// connection ends the checks.
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
	minISR := minInsyncReplicas(ctx, p.client, cfg.Topics)
	for _, t := range md.Topics {
		r := CheckResult{Name: "topic " + t.Name}
		switch {
		case t.Error != nil:
			r.Err = t.Error
		default:
			r.Detail, r.Warning, r.Err = checkPartitions(t, minISR[t.Name])
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

// minInsyncReplicas reads each topic's min.insync.replicas; a topic it cannot read is
// missing from the result (its leader check still runs).
func minInsyncReplicas(ctx context.Context, c *kafkago.Client, topics []string) map[string]int {
	out := map[string]int{}
	var res []kafkago.DescribeConfigRequestResource
	for _, t := range topics {
		res = append(res, kafkago.DescribeConfigRequestResource{ResourceType: kafkago.ResourceTypeTopic, ResourceName: t, ConfigNames: []string{"min.insync.replicas"}})
	}
	resp, err := c.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: res})
	if err != nil {
		return out
	}
	for _, r := range resp.Resources {
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "min.insync.replicas" {
				if n, err := strconv.Atoi(e.ConfigValue); err == nil {
					out[r.ResourceName] = n
				}
			}
		}
	}
	return out
}
