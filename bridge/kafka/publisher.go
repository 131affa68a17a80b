// Package kafka adapts segmentio/kafka-go to bridge.Publisher: an Event becomes a
// kafka-go Message with its key, JSON value and CloudEvents binary-mode headers, and is
// written with acks from all in-sync replicas. Only cmd/imbridge and tests import it.
package kafka

import (
	"context"
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
	w      *kafkago.Writer
	client *kafkago.Client
	topics []string
	obs    Observer
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
		BatchTimeout:           cfg.BatchTimeout,
		RequiredAcks:           kafkago.RequireAll,
		AllowAutoTopicCreation: false,
		Transport:              transport,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			sugar.Warnw("kafka writer", "err", fmt.Sprintf(msg, args...))
		}),
	}
	return &Publisher{
		w:      w,
		client: &kafkago.Client{Addr: addr, Transport: transport, Timeout: cfg.DialTimeout},
		topics: cfg.Topics,
		obs:    cfg.Observer,
	}, nil
}

// Publish implements bridge.Publisher.
func (p *Publisher) Publish(ctx context.Context, events []bridge.Event) error {
	msgs := make([]kafkago.Message, len(events))
	for i := range events {
		msgs[i] = Message(&events[i])
	}
	start := time.Now()
	err := p.w.WriteMessages(ctx, msgs...)
	var we kafkago.WriteErrors
	partial := errors.As(err, &we) && len(we) == len(events)
	if p.obs != nil {
		p.observe(events, err, we, partial, time.Since(start))
	}
	if err == nil {
		return nil
	}
	if partial {
		ee := make(bridge.EventErrors, len(we))
		for i, e := range we {
			ee[i] = Classify(e)
		}
		return ee
	}
	return fmt.Errorf("write %d messages: %w", len(msgs), Classify(err))
}

func (p *Publisher) observe(events []bridge.Event, err error, we kafkago.WriteErrors, partial bool, took time.Duration) {
	p.obs.PublishDone(len(events), took)
	ok, failed := map[string]int{}, map[string]int{}
	for i := range events {
		if err != nil && (!partial || we[i] != nil) {
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
// event was meant for and why it could not be published there.
const (
	HeaderDeadLetterTopic  = "imbridge_dlq_topic"
	HeaderDeadLetterReason = "imbridge_dlq_error"
)

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
		headers = append(headers,
			kafkago.Header{Key: HeaderDeadLetterTopic, Value: []byte(e.DeadLetterTopic)},
			kafkago.Header{Key: HeaderDeadLetterReason, Value: []byte(e.DeadLetterReason)})
	}
	return kafkago.Message{Topic: e.Topic, Key: e.Key(), Value: value, Headers: headers}
}
