// Package kafka adapts segmentio/kafka-go to bridge.Publisher: an Event becomes a
// kafka-go Message with its key, JSON value and CloudEvents binary-mode headers, and is
// written with acks from all in-sync replicas. Only cmd/imbridge and tests import it.
package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
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
	// Topics are the topics Ping checks for existence (the routed topics).
	Topics []string
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
	// only sent when every earlier one succeeded. Default 1 MiB, lowered to the
	// smallest max.message.bytes of the topics once LoadLimits has read them, so that
	// one partition's part of a chunk is one produce request the broker accepts.
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
}

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
	obs        Observer
	batchSize  int
	batchBytes int
	limits     limits
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
	sugar := log.Sugar()
	w := &kafkago.Writer{
		Addr: addr,
		// Murmur2 over the key is what the Java client's default partitioner does, so
		// one user's events land where a Java producer would put them.
		Balancer:               &kafkago.Murmur2Balancer{},
		MaxAttempts:            cfg.MaxAttempts,
		BatchSize:              cfg.BatchSize,
		BatchBytes:             int64(cfg.BatchBytes),
		BatchTimeout:           cfg.BatchTimeout,
		RequiredAcks:           kafkago.RequireAll,
		AllowAutoTopicCreation: false,
		Transport:              transport,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			sugar.Warnw("kafka writer", "err", fmt.Sprintf(msg, args...))
		}),
	}
	return &Publisher{
		w:          w,
		client:     &kafkago.Client{Addr: addr, Transport: transport, Timeout: cfg.DialTimeout},
		topics:     cfg.Topics,
		obs:        cfg.Observer,
		batchSize:  cfg.BatchSize,
		batchBytes: cfg.BatchBytes,
		limits:     limits{def: cfg.MaxMessageBytes},
	}, nil
}

// ErrNotAttempted is the error of an event that Publish did not send because an
// earlier chunk of the same call failed: sending it could put it before a failed event
// of its key. It is retryable.
var ErrNotAttempted = errors.New("not sent: an earlier event of this call failed")

// Publish implements bridge.Publisher. Events are sent in chunks of at most
// BatchSize messages and the batch byte limit, so that each partition's part of a
// chunk is one produce request (which the broker takes or refuses whole); chunks go
// one after another, and after a chunk with a failure the rest are not sent
// (ErrNotAttempted). So a later event of a key never overtakes an earlier one that
// failed. An event larger than the batch byte limit fails alone, permanently.
func (p *Publisher) Publish(ctx context.Context, events []bridge.Event) error {
	msgs := make([]kafkago.Message, len(events))
	for i := range events {
		msgs[i] = Message(&events[i])
	}
	start := time.Now()
	errs := make(bridge.EventErrors, len(events))
	var failed error // the first failure; the rest is not sent
	limit := int64(min(p.batchBytes, p.limits.smallest()-recordBatchOverhead))
	for from := 0; from < len(msgs); {
		if failed != nil {
			for i := from; i < len(msgs); i++ {
				errs[i] = ErrNotAttempted
			}
			break
		}
		to, bytes := from, int64(0)
		for to < len(msgs) && to-from < p.batchSize {
			n := wireSize(&msgs[to])
			if to > from && bytes+n > limit {
				break
			}
			bytes += n
			to++
		}
		if to == from+1 && bytes > limit {
			errs[from] = fmt.Errorf("%w: a %d-byte message is over the %d bytes one produce request may carry", bridge.ErrPermanent, bytes, limit)
			failed = errs[from]
			from = to
			continue
		}
		err := p.w.WriteMessages(ctx, msgs[from:to]...)
		if err != nil {
			var we kafkago.WriteErrors
			if errors.As(err, &we) && len(we) == to-from {
				for i, e := range we {
					errs[from+i] = Classify(e)
				}
			} else {
				err = fmt.Errorf("write %d messages: %w", to-from, Classify(err))
				for i := from; i < to; i++ {
					errs[i] = err
				}
			}
			failed = err
		}
		from = to
	}
	if p.obs != nil {
		p.observe(events, errs, time.Since(start))
	}
	if failed == nil {
		return nil
	}
	return errs
}

func (p *Publisher) observe(events []bridge.Event, errs bridge.EventErrors, took time.Duration) {
	p.obs.PublishDone(len(events), took)
	ok, failed := map[string]int{}, map[string]int{}
	for i := range events {
		if errs[i] != nil {
			failed[events[i].Topic]++
		} else {
			ok[events[i].Topic]++
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

// Ping implements bridge.Publisher with a Metadata request for the configured topics.
func (p *Publisher) Ping(ctx context.Context) error {
	resp, err := p.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: p.topics})
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

// Header names of the CloudEvents 1.0 Kafka protocol binding, binary content mode.
const (
	HeaderSpecVersion = "ce_specversion"
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderSource      = "ce_source"
	HeaderTime        = "ce_time"
	HeaderContentType = "content-type"
)

// Constant header values, shared by every message (kafka-go does not modify them).
var (
	specVersion     = []byte("1.0")
	contentTypeJSON = []byte("application/json")
)

// HeaderVersion carries the event's version (bridge.Event.Version) as decimal Unix
// milliseconds, so that a consumer can order one relationship's changes across
// replicas without parsing the value.
const HeaderVersion = "imbridge_version"

// Headers of a dead-lettered message, besides the CloudEvents ones: the topic the
// event was meant for and why it could not be published there; for a value cut to
// DeadLetterMaxValue bytes, also the original value's size and SHA-256 (hex).
const (
	HeaderDeadLetterTopic       = "imbridge_dlq_topic"
	HeaderDeadLetterReason      = "imbridge_dlq_error"
	HeaderDeadLetterValueBytes  = "imbridge_dlq_value_bytes"
	HeaderDeadLetterValueSHA256 = "imbridge_dlq_value_sha256"
)

// DeadLetterMaxValue bounds a dead-lettered message's value, so that an event too
// large for its topic still fits the dead-letter topic: a longer value is cut to this
// many bytes (no longer valid JSON) and its size and hash go into headers. The reason
// header is cut to 1 KiB.
const DeadLetterMaxValue = 64 << 10

func deadLetterForm(e *bridge.Event, value []byte, headers []kafkago.Header) ([]byte, []kafkago.Header) {
	reason := e.DeadLetterReason
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	headers = append(headers,
		kafkago.Header{Key: HeaderDeadLetterTopic, Value: []byte(e.DeadLetterTopic)},
		kafkago.Header{Key: HeaderDeadLetterReason, Value: []byte(reason)})
	if len(value) > DeadLetterMaxValue {
		sum := sha256.Sum256(value)
		headers = append(headers,
			kafkago.Header{Key: HeaderDeadLetterValueBytes, Value: strconv.AppendInt(nil, int64(len(value)), 10)},
			kafkago.Header{Key: HeaderDeadLetterValueSHA256, Value: []byte(hex.EncodeToString(sum[:]))})
		value = value[:DeadLetterMaxValue]
	}
	return value, headers
}

// Message converts an event to its Kafka message: topic, key From_Account, the event
// JSON as value, CloudEvents headers (ce_id equals the event's eventId) and
// HeaderVersion; a dead-lettered event also carries HeaderDeadLetterTopic and
// HeaderDeadLetterReason.
func Message(e *bridge.Event) kafkago.Message {
	value := e.AppendJSON(make([]byte, 0, 256))
	// One allocation for the variable header values; kafka-go only reads them.
	buf := make([]byte, 0, len(e.ID)+len(e.Type)+len(e.Source)+len("2006-01-02T15:04:05.000Z")+20)
	buf = append(buf, e.ID...)
	buf = append(buf, e.Type...)
	buf = append(buf, e.Source...)
	buf = e.Time.UTC().AppendFormat(buf, "2006-01-02T15:04:05.000Z07:00")
	id, typ := len(e.ID), len(e.ID)+len(e.Type)
	src := typ + len(e.Source)
	tm := len(buf)
	buf = strconv.AppendInt(buf, e.Version(), 10)
	headers := make([]kafkago.Header, 7, 9)
	headers[0] = kafkago.Header{Key: HeaderSpecVersion, Value: specVersion}
	headers[1] = kafkago.Header{Key: HeaderID, Value: buf[:id:id]}
	headers[2] = kafkago.Header{Key: HeaderType, Value: buf[id:typ:typ]}
	headers[3] = kafkago.Header{Key: HeaderSource, Value: buf[typ:src:src]}
	headers[4] = kafkago.Header{Key: HeaderTime, Value: buf[src:tm:tm]}
	headers[5] = kafkago.Header{Key: HeaderContentType, Value: contentTypeJSON}
	headers[6] = kafkago.Header{Key: HeaderVersion, Value: buf[tm:]}
	if e.DeadLetterTopic != "" {
		value, headers = deadLetterForm(e, value, headers)
	}
	return kafkago.Message{Topic: e.Topic, Key: e.Key(), Value: value, Headers: headers}
}
