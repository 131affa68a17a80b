package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

// replayer reads one topic of kept callbacks, maps them and publishes their events;
// imbridge dlq redrive runs it over the dead-letter topic with an outcome of its own.
type replayer struct {
	// name is the command, as its lines and errors say it: "replay", "dlq redrive".
	name string
	// decide gives a record's outcome; nil: outcome (replay's mapping).
	decide func(kafkago.Message) replayOutcome
	// counts says what was done so far, for the progress lines and the summary; nil:
	// replay's counts.
	counts   func() string
	cfg      Config
	topic    string
	group    string
	start    replayStart
	count    int64 // 0: no limit
	dryRun   bool
	timeout  time.Duration
	every    time.Duration
	routes   bridge.Routes
	out      io.Writer // the record lines and the summary
	progress io.Writer
	log      *zap.Logger
	now      func() time.Time

	dialer    *kafkago.Dialer
	client    *kafkago.Client
	readerLog kafkago.Logger // the readers' errors, one line per cause per interval
	pub       *kafka.Publisher

	began time.Time
	total int64 // records to read, known once the partitions' offsets are
	n     replayCounts
}

// replayCounts are what a replay did so far; the progress line reads them while the
// replay runs.
type replayCounts struct {
	read, replayed, events, unmappable, noRoute, newIDs atomic.Int64
}

// span is the part of one partition a replay reads: offsets from..to-1.
type span struct {
	partition int
	from, to  int64
}

// errInterrupted ends a replay stopped by a signal.
var errInterrupted = errors.New("interrupted")

// runCommand is the end of the replay and dlq redrive commands: it runs r until it is
// done or a signal interrupts it, prints the summary on r.out and the error on stderr,
// and returns the exit status (0 done, 1 not).
func (r *replayer) runCommand(stderr io.Writer) int {
	ctx, stop := interruptContext()
	defer stop()
	err := r.run(ctx)
	fmt.Fprintln(r.out, r.summary())
	if err != nil {
		fmt.Fprintf(stderr, "imbridge %s: %v\n", r.name, err)
		return 1
	}
	return 0
}

// run replays the records of the topic from the start up to its end at the time run
// begins (or count records), in partition order.
func (r *replayer) run(ctx context.Context) error {
	r.began = r.now()
	var err error
	if r.dialer, err = r.cfg.Kafka.Dialer(10 * time.Second); err != nil {
		return err
	}
	transport := &kafkago.Transport{ClientID: r.clientID(), DialTimeout: 10 * time.Second, TLS: r.dialer.TLS, SASL: r.dialer.SASLMechanism}
	defer transport.CloseIdleConnections()
	r.readerLog = kafka.FoldedLogger(r.log.With(zap.String("topic", r.topic)), "kafka reader")
	r.client = &kafkago.Client{Addr: kafkago.TCP(r.cfg.KafkaBrokers...), Timeout: r.timeout, Transport: transport}
	spans, err := r.plan(ctx)
	if err != nil {
		return err
	}
	// The publisher reads the topics' max.message.bytes, a dry run too: a record over
	// its topic's limit is still unmappable, and says so.
	r.pub, err = kafka.New(kafka.Config{Brokers: r.cfg.KafkaBrokers, Topics: r.cfg.topics(), Security: r.cfg.Kafka,
		UnknownTopicTimeout: r.cfg.KafkaUnknownTopic, ClientID: r.clientID()}, r.log.Named("kafka"))
	if err != nil {
		return err
	}
	defer r.pub.Close() // every record was acknowledged or is not committed: nothing to flush
	lctx, cancel := context.WithTimeout(ctx, r.timeout)
	_, err = r.pub.LoadLimits(lctx)
	cancel()
	if err != nil {
		return fmt.Errorf("kafka (%s): %w", strings.Join(r.cfg.KafkaBrokers, ","), err)
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.report(done) }()
	defer func() { close(done); wg.Wait() }()
	for _, s := range spans {
		if err := r.replaySpan(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// clientID is the Kafka client ID of the command: imbridge-replay, imbridge-dlq-redrive.
func (r *replayer) clientID() string { return "imbridge-" + strings.ReplaceAll(r.name, " ", "-") }
