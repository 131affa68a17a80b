// Package kafkatest gives integration tests a real Kafka broker: its address from
// IMBRIDGE_TEST_KAFKA_BROKERS (make test starts one with deploy/kafka/kafka.sh), fresh
// topics, and readers that return what is in a topic, through kafka-go and through kcat.
// Fault tests start private brokers (StartBroker) and a private three-node cluster
// (StartCluster, on the ports IMBRIDGE_TEST_KAFKA_CLUSTER_PORT names), on ports FreePorts
// picks and reserves unless told, so that two checkouts' tests run side by side.
//
// Without a broker a test is skipped on a developer's machine and fails when CI=true:
// integration tests never pass by skipping in CI.
package kafkatest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// EnvBrokers names the variable holding the test broker's bootstrap address.
const EnvBrokers = "IMBRIDGE_TEST_KAFKA_BROKERS"

// Brokers returns the test brokers, or skips t (fails it when CI=true) without them.
func Brokers(t testing.TB) []string {
	t.Helper()
	v := os.Getenv(EnvBrokers)
	if v == "" {
		unavailable(t, EnvBrokers+" is not set: run `make test`, or deploy/kafka/kafka.sh up and export "+EnvBrokers+"=127.0.0.1:19092")
	}
	return strings.Split(v, ",")
}

func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// Client returns a kafka-go client for brokers.
func Client(brokers []string) *kafkago.Client {
	return &kafkago.Client{Addr: kafkago.TCP(brokers...), Timeout: 10 * time.Second}
}

// CreateTopic creates a topic with a unique name starting with prefix and the given
// number of partitions, and deletes it when t ends.
func CreateTopic(t testing.TB, brokers []string, prefix string, partitions int) string {
	t.Helper()
	return createTopic(t, brokers, prefix, partitions, 1, nil)
}

// CreateReplicatedTopic creates a topic as CreateTopic does, with replication factor 3
// and the given min.insync.replicas, on a three-node cluster, and waits until every
// partition has a leader and three in-sync replicas.
func CreateReplicatedTopic(t testing.TB, brokers []string, prefix string, partitions, minISR int) string {
	t.Helper()
	return createTopic(t, brokers, prefix, partitions, 3,
		[]kafkago.ConfigEntry{{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(minISR)}})
}

// SetTopicLimit sets an existing topic's max.message.bytes, as an
// operator lowering or raising it would.
func SetTopicLimit(t testing.TB, brokers []string, topic string, limit int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := Client(brokers).AlterConfigs(ctx, &kafkago.AlterConfigsRequest{Resources: []kafkago.AlterConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: topic,
		Configs: []kafkago.AlterConfigRequestConfig{{Name: "max.message.bytes", Value: strconv.Itoa(limit)}},
	}}})
	if err == nil {
		for _, e := range resp.Errors {
			err = errors.Join(err, e)
		}
	}
	if err != nil {
		t.Fatalf("set max.message.bytes of %s: %v", topic, err)
	}
}

// CreateTopicWithLimit creates a topic as CreateTopic does, with max.message.bytes limit.
func CreateTopicWithLimit(t testing.TB, brokers []string, prefix string, partitions, limit int) string {
	t.Helper()
	return createTopic(t, brokers, prefix, partitions, 1,
		[]kafkago.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(limit)}})
}

func createTopic(t testing.TB, brokers []string, prefix string, partitions, replicas int, configs []kafkago.ConfigEntry) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "test." + prefix + "." + hex.EncodeToString(b[:])
	c := Client(brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// A broker that has just started may drop the first admin requests: retry those.
	for {
		resp, err := c.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
			Topic: name, NumPartitions: partitions, ReplicationFactor: replicas, ConfigEntries: configs,
		}}})
		if err == nil {
			err = resp.Errors[name]
		}
		if err == nil || errors.Is(err, kafkago.TopicAlreadyExists) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("create topic %s: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Wait until every partition has a leader (and all its replicas in sync), so the
	// first write does not race it.
	for {
		md, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{name}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == partitions {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				ready = ready && p.Error == nil && p.Leader.ID > 0 && len(p.Isr) >= replicas
			}
			if ready {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("topic %s has no leaders or in-sync replicas after 30s", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: []string{name}})
	})
	return name
}

// EndOffsets returns the next offset of every partition of topic. Errors a new topic
// shows for a moment (no leader yet) are retried for up to 10 seconds.
func EndOffsets(t testing.TB, brokers []string, topic string) map[int]int64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := endOffsets(brokers, topic)
		if err == nil {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func endOffsets(brokers []string, topic string) (map[int]int64, error) {
	c := Client(brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := c.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata of %s: %v", topic, md.Topics)
	}
	var req []kafkago.OffsetRequest
	for _, p := range md.Topics[0].Partitions {
		req = append(req, kafkago.LastOffsetOf(p.ID))
	}
	resp, err := c.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{topic: req}})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	out := map[int]int64{}
	for _, po := range resp.Topics[topic] {
		if po.Error != nil {
			return nil, fmt.Errorf("offsets of %s/%d: %w", topic, po.Partition, po.Error)
		}
		out[po.Partition] = po.LastOffset
	}
	return out, nil
}

// Count returns how many messages topic holds.
func Count(t testing.TB, brokers []string, topic string) int64 {
	t.Helper()
	var n int64
	for _, end := range EndOffsets(t, brokers, topic) {
		n += end
	}
	return n
}

// WaitCount waits up to timeout until topic holds at least want messages and returns
// the count it saw last.
func WaitCount(t testing.TB, brokers []string, topic string, want int64, timeout time.Duration) int64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := Count(t, brokers, topic)
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ReadAll reads every message of topic present now with kafka-go readers, one per
// partition, ordered by partition and then offset.
func ReadAll(t testing.TB, brokers []string, topic string) []kafkago.Message {
	t.Helper()
	var out []kafkago.Message
	ends := EndOffsets(t, brokers, topic)
	parts := make([]int, 0, len(ends))
	for p := range ends {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	for _, p := range parts {
		if ends[p] == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for {
			m, err := r.ReadMessage(ctx)
			if err != nil {
				cancel()
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset >= ends[p]-1 {
				break
			}
		}
		cancel()
		r.Close()
	}
	return out
}

// KcatMessage is one line of `kcat -C -J`.
type KcatMessage struct {
	Topic     string   `json:"topic"`
	Partition int      `json:"partition"`
	Offset    int64    `json:"offset"`
	Key       string   `json:"key"`
	Payload   string   `json:"payload"`
	Headers   []string `json:"headers"` // name, value, name, value, ...
}

// Header returns the value of the first header called name.
func (m KcatMessage) Header(name string) (string, bool) {
	for i := 0; i+1 < len(m.Headers); i += 2 {
		if m.Headers[i] == name {
			return m.Headers[i+1], true
		}
	}
	return "", false
}

// Kcat returns the path of kcat, or skips t (fails it when CI=true) without it.
func Kcat(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		unavailable(t, "kcat is not installed: run `make test`, which installs it (Debian package kcat)")
	}
	return p
}

// KcatConsume reads every message of topic with `kcat -C -J -e` and parses each line.
func KcatConsume(t testing.TB, brokers []string, topic string) []KcatMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, Kcat(t), "-b", strings.Join(brokers, ","), "-C", "-t", topic, "-J", "-e", "-q", "-o", "beginning")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat: %v: %s", err, stderr.String())
	}
	var msgs []KcatMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m KcatMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("kcat line %q: %v", sc.Text(), err)
		}
		msgs = append(msgs, m)
	}
	sort.SliceStable(msgs, func(i, j int) bool {
		if msgs[i].Partition != msgs[j].Partition {
			return msgs[i].Partition < msgs[j].Partition
		}
		return msgs[i].Offset < msgs[j].Offset
	})
	return msgs
}

// KcatProduce produces key:value lines to topic with kcat, using librdkafka's
// murmur2_random partitioner, which is the Java client's default for keyed messages.
func KcatProduce(t testing.TB, brokers []string, topic string, keys []string) {
	t.Helper()
	var in bytes.Buffer
	for _, k := range keys {
		in.WriteString(k + "\t" + "kcat\n")
	}
	cmd := exec.Command(Kcat(t), "-b", strings.Join(brokers, ","), "-P", "-t", topic, "-K", "\t", "-X", "partitioner=murmur2_random")
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v: %s", err, out)
	}
}
