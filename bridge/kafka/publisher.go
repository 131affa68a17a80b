// Package kafka adapts segmentio/kafka-go to bridge.Publisher: an Event becomes a
// kafka-go Message with its key, JSON value and CloudEvents binary-mode headers, and is
// written with acks from all in-sync replicas. Only cmd/imbridge and tests import it.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// Config configures a Publisher. Zero values take the documented defaults.
type Config struct {
	// Brokers are the bootstrap brokers, host:port. Required.
	Brokers []string
	// Topics are the topics the publisher writes to: LoadLimits reads their
	// max.message.bytes.
	Topics []string
	// PingTopics are the topics Ping requires to exist. Default Topics. Sync mode's
	// readiness asks for the switched-on routes' topics only: a missing quarantine,
	// unrouted or dead-letter topic must not take every replica out of service.
	PingTopics []string
	// BatchTimeout is how long a partition's incomplete batch waits for more messages
	// before it is sent. Default 2ms: kafka-go's own default of 1s would make every
	// synchronous publish wait a second.
	BatchTimeout time.Duration
	// BatchSize is the largest number of messages sent to one partition in one
	// request. Default 1000, so that a callback with 1,000 pairs for one user is one
	// request.
	BatchSize int
	// BatchBytes is the most bytes (as kafka-go counts them) one Publish call sends
	// in one go; a call with more is sent in chunks, one after another, and a chunk is
	// only sent when every earlier one succeeded. A chunk also stays within the
	// max.message.bytes of each topic in it, so that one partition's part of a chunk is
	// one produce request the broker accepts; a record alone may be as large as its
	// topic accepts. Default 1 MiB.
	BatchBytes int
	// MaxMessageBytes is the max.message.bytes assumed for a topic until LoadLimits
	// has read the real one. Default DefaultMaxMessageBytes (Kafka's default).
	MaxMessageBytes int
	// MaxAttempts is how often kafka-go tries to deliver a batch before Publish fails.
	// Default 10. Publish also stops when its context ends.
	MaxAttempts int
	// DialTimeout bounds connecting to a broker. Default 5s.
	DialTimeout time.Duration
	// ClientID is sent to the brokers. Default "imbridge".
	ClientID string
	// UnknownTopicTimeout is how long records for a topic that Kafka reports unknown
	// (UnknownTopicOrPartition) fail as retryable, while kafka-go refreshes its
	// metadata (every 10s), before they fail permanently (and go to the dead-letter
	// topic): a topic created after imbridge started, or not yet in the metadata cache,
	// is not dead-lettered. Default DefaultUnknownTopicTimeout (30s).
	UnknownTopicTimeout time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Security configures TLS and SASL; the zero value is plaintext.
	Security Security
	// Observer receives per-topic outcomes and call durations; nil means none.
	Observer Observer
}

// Observer receives what the publisher measures; metrics.Metrics implements it.
type Observer interface {
	Published(topic string, n int)
	Failed(topic string, n int)
	PublishDone(events int, d time.Duration)
}

func (c *Config) setDefaults() {
	if c.BatchTimeout == 0 {
		c.BatchTimeout = 2 * time.Millisecond
	}
	if c.BatchSize == 0 {
		c.BatchSize = 1000
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.ClientID == "" {
		c.ClientID = "imbridge"
	}
	if c.UnknownTopicTimeout == 0 {
		c.UnknownTopicTimeout = DefaultUnknownTopicTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PingTopics == nil {
		c.PingTopics = c.Topics
	}
}

// DefaultUnknownTopicTimeout is Config.UnknownTopicTimeout's default: like the Java
// producer, which waits for a missing topic's metadata up to its max.block.ms.
const DefaultUnknownTopicTimeout = 30 * time.Second

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return errors.New("kafka: no brokers configured")
	}
	for _, b := range c.Brokers {
		if !strings.Contains(b, ":") {
			return fmt.Errorf("kafka: broker %q must be host:port", b)
		}
	}
	return nil
}

// Publisher is a bridge.Publisher backed by a kafka-go Writer. It is safe for
// concurrent use; concurrent Publish calls share batches.
type Publisher struct {
	w          *kafkago.Writer
	client     *kafkago.Client
	topics     []string
	pingTopics []string
	obs        Observer
	batchSize  int
	batchBytes int
	limits     limits
	unknown    unknownTopics
}

var _ bridge.Publisher = (*Publisher)(nil)

// New returns a Publisher for cfg. It does not connect: the first Publish or Ping does.
func New(cfg Config, log *zap.Logger) (*Publisher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsCfg, err := cfg.Security.tlsConfig()
	if err != nil {
		return nil, err
	}
	mech, err := cfg.Security.mechanism()
	if err != nil {
		return nil, err
	}
	transport := &kafkago.Transport{
		Dial:        (&kafkago.Dialer{Timeout: cfg.DialTimeout}).DialFunc,
		ClientID:    cfg.ClientID,
		DialTimeout: cfg.DialTimeout,
		MetadataTTL: 10 * time.Second,
		TLS:         tlsCfg,
		SASL:        mech,
	}
	addr := kafkago.TCP(cfg.Brokers...)
	w := &kafkago.Writer{
		Addr: addr,
		// Murmur2 over the key is what the Java client's default partitioner does, so
		// one user's events land where a Java producer would put them.
		Balancer:    &kafkago.Murmur2Balancer{},
		MaxAttempts: cfg.MaxAttempts,
		BatchSize:   cfg.BatchSize,
		// Publish sizes the batches (chunks within the topics' limits): the writer's
		// own cap only has to let the largest record a topic takes through.
		BatchBytes:             writerBatchBytes,
		BatchTimeout:           cfg.BatchTimeout,
		RequiredAcks:           kafkago.RequireAll,
		AllowAutoTopicCreation: false,
		Transport:              transport,
		ErrorLogger:            FoldedLogger(log, "kafka writer"),
	}
	return &Publisher{
		w:          w,
		client:     &kafkago.Client{Addr: addr, Transport: transport, Timeout: cfg.DialTimeout},
		topics:     cfg.Topics,
		pingTopics: cfg.PingTopics,
		obs:        cfg.Observer,
		batchSize:  cfg.BatchSize,
		batchBytes: cfg.BatchBytes,
		limits:     limits{def: cfg.MaxMessageBytes},
		unknown:    unknownTopics{timeout: cfg.UnknownTopicTimeout, now: cfg.Now, since: map[string]time.Time{}},
	}, nil
}

// ErrNotAttempted is the error of a record that Publish did not send because an
// earlier chunk of the same call failed: sending it could put it before a failed record
// of its key. It is retryable.
var ErrNotAttempted = errors.New("not sent: an earlier record of this call failed")

// writerBatchBytes is the kafka-go Writer's BatchBytes: above any topic's
// max.message.bytes that Kafka allows in practice, so that the writer never refuses a
// record the topic takes.
const writerBatchBytes = 1 << 30

// Publish implements bridge.Publisher. Records are sent in chunks of at most
// BatchSize messages and BatchBytes, and within the max.message.bytes of every topic
// in the chunk, so that each partition's part of a chunk is one produce request (which
// the broker takes or refuses whole); chunks go one after another, and after a chunk
// with a failure the rest are not sent (ErrNotAttempted). So a later record of a key
// never overtakes an earlier one that failed. A record over its own topic's limit fails
// alone, permanently, before it is sent (the same limit bridge.EncodeRecords applies
// at the door).
func (p *Publisher) Publish(ctx context.Context, records []bridge.Record) error {
	msgs := make([]kafkago.Message, len(records))
	n := 0
	for i := range records {
		n += len(records[i].Headers)
	}
	headers := make([]kafkago.Header, 0, n) // one array for the call's headers
	for i := range records {
		msgs[i], headers = message(&records[i], headers)
	}
	start := time.Now()
	errs := make(bridge.EventErrors, len(records))
	var failed error // the first failure; the rest is not sent
	for from := 0; from < len(msgs); {
		if failed != nil {
			for i := from; i < len(msgs); i++ {
				errs[i] = ErrNotAttempted
			}
			break
		}
		// The chunk's limit: the smallest max.message.bytes of its topics, and
		// BatchBytes once it holds more than one record.
		to, bytes, limit := from, 0, math.MaxInt
		for to < len(msgs) && to-from < p.batchSize {
			n := records[to].Size()
			l := min(limit, p.limits.of(records[to].Topic)-bridge.RecordBatchOverhead)
			if to > from && bytes+n > min(l, p.batchBytes) {
				break
			}
			limit, bytes = l, bytes+n
			to++
		}
		if to == from+1 && bytes > limit {
			errs[from] = fmt.Errorf("%w: a %d-byte message is over the %d bytes topic %s accepts (max.message.bytes)",
				bridge.ErrPermanent, bytes+bridge.RecordBatchOverhead, limit+bridge.RecordBatchOverhead, records[from].Topic)
			if _, known := p.limits.known(records[from].Topic); !known {
				// Only assumed: the topic's own limit may be larger (a quarantine topic
				// of 2 MiB). Retry until LoadLimits has read it.
				errs[from] = fmt.Errorf("a %d-byte message is over the %d bytes assumed for topic %s until its max.message.bytes is read; retrying",
					bytes+bridge.RecordBatchOverhead, limit+bridge.RecordBatchOverhead, records[from].Topic)
			}
			failed = errs[from]
			from = to
			continue
		}
		err := p.w.WriteMessages(ctx, msgs[from:to]...)
		if err != nil {
			var we kafkago.WriteErrors
			if errors.As(err, &we) && len(we) == to-from {
				for i, e := range we {
					errs[from+i] = p.unknown.classify(records[from+i].Topic, e)
				}
			} else {
				err = fmt.Errorf("write %d messages: %w", to-from, p.unknown.classify(records[from].Topic, err))
				for i := from; i < to; i++ {
					errs[i] = err
				}
			}
			failed = err
		}
		from = to
	}
	for i := range records {
		if errs[i] == nil {
			p.unknown.found(records[i].Topic)
		}
	}
	if p.obs != nil {
		p.observe(records, errs, time.Since(start))
	}
	if failed == nil {
		return nil
	}
	return errs
}

// message is the kafka-go message of a record, its bytes as they are; its headers are
// appended to headers, which it returns.
func message(r *bridge.Record, headers []kafkago.Header) (kafkago.Message, []kafkago.Header) {
	from := len(headers)
	for _, h := range r.Headers {
		headers = append(headers, kafkago.Header{Key: h.Key, Value: h.Value})
	}
	to := len(headers)
	return kafkago.Message{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: headers[from:to:to]}, headers
}

func (p *Publisher) observe(records []bridge.Record, errs bridge.EventErrors, took time.Duration) {
	p.obs.PublishDone(len(records), took)
	ok, failed := map[string]int{}, map[string]int{}
	for i := range records {
		if errs[i] != nil {
			failed[records[i].Topic]++
		} else {
			ok[records[i].Topic]++
		}
	}
	for t, n := range ok {
		p.obs.Published(t, n)
	}
	for t, n := range failed {
		p.obs.Failed(t, n)
	}
}

// Classify wraps errors that retrying cannot fix with bridge.ErrPermanent. Everything
// else, including io.EOF, connection errors, "no leader" and "leader not available",
// which kafka-go itself does not always retry, is left retryable.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var tooLarge kafkago.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return fmt.Errorf("%w: %w", bridge.ErrPermanent, err)
	}
	var ke kafkago.Error
	if errors.As(err, &ke) {
		switch ke {
		case kafkago.UnknownTopicOrPartition, kafkago.InvalidTopic, kafkago.MessageSizeTooLarge,
			kafkago.InvalidMessageSize, kafkago.RecordListTooLarge, kafkago.InvalidRecord, kafkago.TopicAuthorizationFailed,
			kafkago.InvalidRequiredAcks, kafkago.UnsupportedForMessageFormat:
			return fmt.Errorf("%w: %w", bridge.ErrPermanent, err)
		}
	}
	return err
}

// Ping implements bridge.Publisher: a round trip to a broker, and a Metadata request
// for PingTopics.
func (p *Publisher) Ping(ctx context.Context) error {
	// The transport answers metadata requests from its cache, which outlives the
	// brokers by a minute: a round trip to a broker says whether one answers now.
	if _, err := p.client.ApiVersions(ctx, &kafkago.ApiVersionsRequest{}); err != nil {
		return fmt.Errorf("kafka: no broker answers: %w", err)
	}
	resp, err := p.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: p.pingTopics})
	if err != nil {
		return fmt.Errorf("kafka metadata: %w", err)
	}
	for _, t := range resp.Topics {
		if t.Error != nil {
			return fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
	}
	return nil
}

// Close implements bridge.Publisher.
func (p *Publisher) Close() error {
	return p.w.Close()
}

// Header names of the records, as bridge defines them (see bridge.Record).
const (
	HeaderSpecVersion           = bridge.HeaderSpecVersion
	HeaderID                    = bridge.HeaderID
	HeaderType                  = bridge.HeaderType
	HeaderSource                = bridge.HeaderSource
	HeaderTime                  = bridge.HeaderTime
	HeaderContentType           = bridge.HeaderContentType
	HeaderVersion               = bridge.HeaderVersion
	HeaderDeadLetterTopic       = bridge.HeaderDeadLetterTopic
	HeaderDeadLetterReason      = bridge.HeaderDeadLetterReason
	HeaderDeadLetterValueBytes  = bridge.HeaderDeadLetterValueBytes
	HeaderDeadLetterValueSHA256 = bridge.HeaderDeadLetterValueSHA256
)

// Message converts an event to its Kafka message, as the spool and the sync delivery
// publish it (bridge.Event.AppendRecord).
func Message(e *bridge.Event) kafkago.Message {
	r := e.AppendRecord(nil)
	m, _ := message(&r[0], nil)
	return m
}
