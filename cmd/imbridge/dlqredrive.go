package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

// defaultRedriveGroup is imbridge dlq redrive's --group: the consumer group it commits
// its progress in.
const defaultRedriveGroup = "imbridge-dlq-redrive"

// dlqShortUsage is what a wrong dlq command line gets, after its error.
const dlqShortUsage = `Usage: imbridge dlq redrive [--from-topic TOPIC] [--offset committed|earliest|N | --since TIME]
                           [--count N] [--group NAME] [--dry-run] [--progress DURATION] [--timeout DURATION]
(imbridge dlq redrive --help says what it does, when to use it and what it reads)
`

// dlqUsage is the help of imbridge dlq and imbridge dlq redrive.
func dlqUsage() string {
	var b strings.Builder
	fmt.Fprintf(&b, `Usage: imbridge dlq redrive [flags]

Publishes the events on the dead-letter topic (IMBRIDGE_DLQ_TOPIC) again to the topics
Kafka refused them for, once the cause is fixed: a topic created, or its
max.message.bytes raised. Each goes to the topic its imbridge_dlq_topic header names,
with its key, its value and its headers as they were (the dead-letter headers
removed): the same ce_id, so a consumer that already has an event drops it as a
duplicate.

Each record is checked first. One of:
  EVENTID -> TOPIC (N bytes; dead-lettered for: REASON)
      it fits TOPIC's max.message.bytes now: it is published (acks=all, up to 200
      records at a time); once Kafka acknowledged it, the record is committed
  EVENTID refused: REASON
      skipped: still over its topic's max.message.bytes, a topic whose limit cannot be
      read (it does not exist), a record that is no dead letter, or one whose value
      was cut to fit the dead-letter topic (headers imbridge_dlq_value_bytes and
      imbridge_dlq_value_sha256): the whole event is nowhere on Kafka, and a cut one is
      never published
Run it with --dry-run first: it lists every record with what it would do, and
publishes and commits nothing. Redrive never removes a record from the dead-letter
topic.

It reads from --offset (or --since) up to the end the topic has when it starts, at
most --count records, and commits its progress in the consumer group --group as
records are done (a redriven one once Kafka acknowledged it): run again with the same
group, after an interruption or a failure, it resumes where it stopped (what was
published but not yet committed is published again, with the same ce_id); after a
complete run it has nothing to publish. Refused records are committed past too: to
try them again after another fix, run with --offset earliest or a new --group
(records redriven before are published again, with the same ce_id). Run one redrive
per group at a time.

Output: in a dry run one line per record on stdout (PARTITION/OFFSET and the outcome
above); otherwise one line per refused record. Every --progress a line on stderr. At
the end one line on stdout: records read, redriven, refused.

Exit status: 0 when every record up to the end was read; 1 when Kafka fails (a fetch,
reading a topic's max.message.bytes, a publish or a commit: what was committed is done,
run again to resume) or when interrupted; 2 for bad usage or settings.

Flags:
  --from-topic TOPIC
      the dead-letter topic to read (default IMBRIDGE_DLQ_TOPIC)
  --offset committed|earliest|N
      where to start in each partition: committed, where the group stopped (the
      earliest offset for a group that has not read the topic); earliest; or offset N
      (default committed)
  --since TIME
      start at the first record written at or after TIME, in each partition: RFC 3339
      (2024-05-01T12:00:00Z) or a duration before now (36h); instead of --offset
  --count N
      read at most N records (default 0: all of them)
  --group NAME
      consumer group of the progress (default %q)
  --dry-run
      check and print what would be published; publish and commit nothing
  --progress DURATION
      interval of the progress lines (default %s)
  --timeout DURATION
      give up when Kafka does not answer a fetch, a publish or a commit for this long
      (default %s)

Environment: the settings of imbridge serve that concern Kafka, as serve has them (its
other settings are not read, so serve's environment can be used as it is):
`, defaultRedriveGroup, shortDuration(defaultReplayProgress), shortDuration(defaultReplayTimeout))
	for _, s := range settings {
		if !redriveReads(s.env) || s.env == "IMBRIDGE_ROUTES" || strings.HasPrefix(s.env, "IMBRIDGE_TOPIC_") {
			continue
		}
		def := s.def
		if d, ok := replayDefaults[s.env]; ok {
			def = d
		}
		if def != "" {
			def = fmt.Sprintf(" (default %q)", def)
		}
		usage := strings.TrimPrefix(s.usage, "spool mode: ")
		if s.env == "IMBRIDGE_DLQ_TOPIC" {
			usage = "the dead-letter topic to read, unless --from-topic names another"
		}
		fmt.Fprintf(&b, "  %s%s\n      %s\n", s.env, def, usage)
	}
	b.WriteString("  IMBRIDGE_ROUTES, IMBRIDGE_TOPIC_* (imbridge serve --help lists them)\n" +
		"      the routes' topics: --from-topic may not be one of them\n")
	return b.String()
}

// redriveReads reports whether dlq redrive reads the setting of serve named env: the
// Kafka connection, the dead-letter topic, the routes and topics (a route's topic is
// not a dead-letter topic), and the log's.
func redriveReads(env string) bool {
	switch env {
	case "IMBRIDGE_KAFKA_UNREACHABLE_AFTER", "IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX":
		return false
	case "IMBRIDGE_DLQ_TOPIC", "IMBRIDGE_ROUTES", "IMBRIDGE_LOG_LEVEL", "IMBRIDGE_LOG_FORMAT":
		return true
	}
	return strings.HasPrefix(env, "IMBRIDGE_KAFKA_") || strings.HasPrefix(env, "IMBRIDGE_TOPIC_")
}

// dlqCommand runs `imbridge dlq SUBCOMMAND`.
func dlqCommand(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "imbridge dlq: missing subcommand\n\n"+dlqShortUsage)
		return 2
	}
	switch args[0] {
	case "redrive":
		return dlqRedrive(args[1:], lookup, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, dlqUsage())
		return 0
	default:
		fmt.Fprintf(stderr, "imbridge dlq: unknown subcommand %q\n\n%s", args[0], dlqShortUsage)
		return 2
	}
}

// dlqRedrive runs `imbridge dlq redrive [flags]`: the replayer over the dead-letter
// topic, with redriveOutcome as each record's outcome.
func dlqRedrive(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	usageErr := usageError(stderr, "dlq redrive", dlqShortUsage)
	f, err := parseReplayFlags("dlq redrive", args, "", defaultRedriveGroup)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, dlqUsage())
		return 0
	case err != nil:
		return usageErr("%v", err)
	}
	cfg, err := loadConfigFor("dlq redrive", nil, subsetLookup(lookup, redriveReads, replayDefaults), io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge dlq redrive: %v\n", err)
		return 2
	}
	topic := f.fromTopic
	switch {
	case topic == "" && cfg.DLQTopic == "":
		return usageErr("IMBRIDGE_DLQ_TOPIC is not set: name the dead-letter topic with --from-topic")
	case topic == "":
		topic = cfg.DLQTopic
	default:
		if err := checkTopic(topic); err != nil {
			return usageErr("--from-topic=%q: expected %v", topic, err)
		}
	}
	if slices.ContainsFunc(cfg.routes(), func(r bridge.Route) bool { return r.Topic == topic }) {
		return usageErr("--from-topic=%s: that is a route's topic, whose records are events: redrive reads the dead-letter topic", topic)
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge dlq redrive: %v\n", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	r := &replayer{name: "dlq redrive", cfg: cfg, topic: topic, group: f.group, start: f.start, count: f.count, dryRun: f.dryRun,
		timeout: f.timeout, every: f.every, out: stdout, progress: stderr, log: log, now: time.Now}
	r.decide = func(m kafkago.Message) replayOutcome { return redriveOutcome(r, m) }
	r.counts = func() string {
		if r.dryRun {
			return fmt.Sprintf("%d to redrive, %d refused", r.n.replayed.Load(), r.n.unmappable.Load())
		}
		return fmt.Sprintf("%d redriven, %d refused", r.n.replayed.Load(), r.n.unmappable.Load())
	}
	return r.runCommand(stderr)
}

// redriveOutcome is what a dead letter gives: the record it was made from, when that
// is whole and fits its topic's max.message.bytes now (read from Kafka the first time
// a topic comes up); otherwise why it is refused.
func redriveOutcome(r *replayer, m kafkago.Message) replayOutcome {
	id := "(no ce_id)"
	for _, h := range m.Headers {
		if h.Key == bridge.HeaderID {
			id = printableID(string(h.Value))
			break
		}
	}
	o := replayOutcome{command: id}
	refuse := func(format string, a ...any) replayOutcome {
		o.unmappable = fmt.Sprintf(format, a...)
		o.says = id + " refused: " + o.unmappable
		return o
	}
	rec, reason, err := kafka.FromDeadLetter(m)
	if err != nil {
		return refuse("%v", err)
	}
	if rec.Topic == r.topic {
		return refuse("its topic is %s, the dead-letter topic itself", rec.Topic)
	}
	limit := r.pub.MaxMessageBytes(rec.Topic)
	if limit == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		_, err := r.pub.LoadTopicLimits(ctx, rec.Topic)
		cancel()
		if err != nil {
			o.fail = fmt.Errorf("kafka (%s): %w", strings.Join(r.cfg.KafkaBrokers, ","), err)
			return o
		}
		if limit = r.pub.MaxMessageBytes(rec.Topic); limit == 0 {
			return refuse("the max.message.bytes of topic %s cannot be read: does the topic exist?", rec.Topic)
		}
	}
	if size := rec.Size() + bridge.RecordBatchOverhead; size > limit {
		return refuse("still too large: a %d-byte message, over the %d bytes topic %s accepts (max.message.bytes)", size, limit, rec.Topic)
	}
	o.records, o.topics = []bridge.Record{rec}, []string{rec.Topic}
	o.says = fmt.Sprintf("%s -> %s (%d bytes; dead-lettered for: %s)", id, rec.Topic, rec.Size()+bridge.RecordBatchOverhead, reason)
	return o
}

// printableID is an event ID for a record line: as it is when it is made of letters,
// digits and . _ : - (imbridge's are UUIDs), else Go-quoted.
func printableID(id string) string {
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._:-", c)) {
			return strconv.Quote(id)
		}
	}
	if id == "" || len(id) > 128 {
		return strconv.Quote(id)
	}
	return id
}
