package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

// Defaults of imbridge replay's flags.
const (
	// defaultReplayGroup is --group: the consumer group replay commits its progress in.
	defaultReplayGroup = "imbridge-replay"
	// defaultReplayProgress is --progress: the interval of the progress lines.
	defaultReplayProgress = 5 * time.Second
	// defaultReplayTimeout is --timeout: how long replay waits for Kafka (a fetch, the
	// acknowledgement of a callback's events, a commit) before it gives up.
	defaultReplayTimeout = time.Minute
)

// replayShortUsage is what a wrong replay command line gets, after its error.
const replayShortUsage = `Usage: imbridge replay [--from-topic quarantine|unrouted|TOPIC] [--offset committed|earliest|N | --since TIME]
                      [--count N] [--group NAME] [--dry-run] [--progress DURATION] [--timeout DURATION]
(imbridge replay --help says what it does, when to use it and what it reads)
`

// replayUsage is the help of imbridge replay: what it does, when to use it, its flags,
// and the settings of serve it reads, from the settings table.
func replayUsage() string {
	var b strings.Builder
	fmt.Fprintf(&b, `Usage: imbridge replay [flags]

Maps the callbacks kept on the quarantine topic (or the unrouted topic) again, with the
routing table and limits of the settings it is given, and publishes their events as
imbridge serve would have published them when each callback arrived: the same topics,
keys and headers, and the same eventIds. A consumer that already has an event drops it
as a duplicate, so a replay can be run again without harm.

Use it once what kept callbacks from their topics is fixed:
  quarantine  a decoder fixed in a newer imbridge, IMBRIDGE_MAX_PAIRS raised, a topic's
              max.message.bytes raised: run the new version with the new settings
  unrouted    a route switched on (IMBRIDGE_ROUTES) after callbacks of its command
              arrived while it was off
Run it with --dry-run first: it says what each record would give, and publishes and
commits nothing.

Each record is read back into the callback as it was received (SdkAppid, command,
RequestTime, ClientIP, OptPlatform, body, receiving time), looked up in the routing
table and mapped. One of:
  events N (TOPIC)            mapped: its events are published (acks=all, those of up
                              to 200 records at a time); once Kafka acknowledged them,
                              the record is committed
  still unmappable: REASON    skipped: it stays on its topic, as every record does
  no route                    skipped: its command has no route switched on (an
                              unrouted record whose command still goes to the unrouted
                              topic is not published there again)
Replay never removes a record from the topic it reads. Replayed events arrive after
the events published since, with the version (imbridge_version) they would have had:
a consumer that applies an event only when its version is not older than the one it
holds (bridge/events.Newer) puts them in their place.

An unrouted event keeps the body compacted: the events get the eventIds the callback
would have had when Chat sent the body compact, as Chat does. A body sent with
whitespace between its tokens gets eventIds of its own ("new eventIds"), the same at
every replay.

It reads from --offset (or --since) up to the end the topic has when replay starts,
at most --count records. Progress is committed in the consumer group --group as records
are done (a mapped one once Kafka acknowledged its events): replay run again with the
same group, after an interruption or a failure, resumes where it stopped (what was
published but not yet committed is published again, with the same eventIds), and
after a complete run it has nothing to publish. Skipped records are committed past
too: to try them again after another fix, run with --offset earliest or a new --group
(records replayed before are published again, with the same eventIds). Run one replay
per group at a time.

Output: in a dry run, one line per record on stdout (PARTITION/OFFSET COMMAND OUTCOME);
otherwise one line per record not replayed. Every --progress a line on stderr. At the
end one line on stdout: records read, replayed, events published, still unmappable, no
route.

Exit status: 0 when every record up to the end was read; 1 when Kafka fails (a fetch,
a publish or a commit: what was committed is done, run again to resume) or when
interrupted; 2 for bad usage or settings.

Flags:
  --from-topic quarantine|unrouted|TOPIC
      the topic to read: quarantine (IMBRIDGE_TOPIC_QUARANTINE), unrouted
      (IMBRIDGE_TOPIC_UNROUTED), or a topic's name (default quarantine)
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
      map and print what would be published; publish and commit nothing
  --progress DURATION
      interval of the progress lines (default %s)
  --timeout DURATION
      give up when Kafka does not answer a fetch, a publish or a commit for this long
      (default %s)

Environment: the settings of imbridge serve that concern Kafka, the routes and the
mapping, as serve has them (its other settings are not read, so serve's environment can
be used as it is):
`, defaultReplayGroup, shortDuration(defaultReplayProgress), shortDuration(defaultReplayTimeout))
	routes := false
	for _, s := range settings {
		if !replayReads(s.env) {
			continue
		}
		if s.env == "IMBRIDGE_ROUTES" || strings.HasPrefix(s.env, "IMBRIDGE_TOPIC_") {
			if !routes {
				b.WriteString("  IMBRIDGE_ROUTES, IMBRIDGE_TOPIC_* (imbridge serve --help lists them)\n" +
					"      the routing table replay maps with, and the topics quarantine and unrouted name\n")
			}
			routes = true
			continue
		}
		def := s.def
		if d, ok := replayDefaults[s.env]; ok {
			def = d
		}
		if def != "" {
			def = fmt.Sprintf(" (default %q)", def)
		}
		fmt.Fprintf(&b, "  %s%s\n      %s\n", s.env, def, s.usage)
	}
	return b.String()
}

// replayDefaults are the defaults replay gives settings of serve where serve's do not
// suit a command run by hand: only warnings and errors are logged.
var replayDefaults = map[string]string{"IMBRIDGE_LOG_LEVEL": "warn"}

// replayReads reports whether replay reads the setting of serve named env: the Kafka
// connection, the routes and topics, the mapping's limit, and the log's. The spool
// mode's retry settings are serve's.
func replayReads(env string) bool {
	switch env {
	case "IMBRIDGE_KAFKA_UNREACHABLE_AFTER", "IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX":
		return false
	case "IMBRIDGE_ROUTES", "IMBRIDGE_MAX_PAIRS", "IMBRIDGE_SIGN_MAX_SKEW", "IMBRIDGE_LOG_LEVEL", "IMBRIDGE_LOG_FORMAT":
		return true
	}
	return strings.HasPrefix(env, "IMBRIDGE_KAFKA_") || strings.HasPrefix(env, "IMBRIDGE_TOPIC_")
}

// replayLookup is lookup as loadConfig sees it for this command (subsetLookup).
func replayLookup(lookup func(string) (string, bool)) func(string) (string, bool) {
	return subsetLookup(lookup, replayReads, replayDefaults)
}

// replayStart is where replay starts in each partition.
type replayStart struct {
	// from is committed, earliest, offset or since.
	from   string
	offset int64
	since  time.Time
}

// parseSince reads --since: an RFC 3339 time, or a duration before now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, errors.New("expected an RFC 3339 time such as 2024-05-01T12:00:00Z, or a duration before now such as 36h")
}

// replayCommand runs `imbridge replay`.
func replayCommand(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "imbridge replay: "+format+"\n\n%s", append(a, replayShortUsage)...)
		return 2
	}
	fs := flag.NewFlagSet("imbridge replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are worded below, help is replayUsage
	fromTopic := fs.String("from-topic", "quarantine", "")
	offset := fs.String("offset", "committed", "")
	since := fs.String("since", "", "")
	count := fs.Int64("count", 0, "")
	group := fs.String("group", defaultReplayGroup, "")
	dryRun := fs.Bool("dry-run", false, "")
	every := fs.Duration("progress", defaultReplayProgress, "")
	timeout := fs.Duration("timeout", defaultReplayTimeout, "")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, replayUsage())
		return 0
	case err != nil:
		return usageErr("%v", err)
	case fs.NArg() > 0:
		return usageErr("unexpected argument %q: replay takes flags only", fs.Arg(0))
	case *count < 0:
		return usageErr("--count=%d: expected a number of records, or 0 for all", *count)
	case strings.TrimSpace(*group) == "":
		return usageErr("--group: expected the name of a consumer group")
	case *every <= 0:
		return usageErr("--progress=%s: expected a positive duration such as 5s", *every)
	case *timeout <= 0:
		return usageErr("--timeout=%s: expected a positive duration such as 1m", *timeout)
	}
	start, err := readStart(fs, *offset, *since, time.Now())
	if err != nil {
		return usageErr("%v", err)
	}

	cfg, err := loadConfigFor("replay", nil, replayLookup(lookup), io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge replay: %v\n", err)
		return 2
	}
	topic := *fromTopic
	switch topic {
	case "quarantine", "unrouted":
		env, name := "IMBRIDGE_TOPIC_QUARANTINE", cfg.QuarantineTopic
		if topic == "unrouted" {
			env, name = "IMBRIDGE_TOPIC_UNROUTED", cfg.UnroutedTopic
		}
		if name == "" {
			return usageErr("--from-topic=%s: %s is off; name the topic to read, such as --from-topic %s", topic, env,
				map[string]string{"quarantine": bridge.TopicQuarantine, "unrouted": bridge.TopicUnrouted}[topic])
		}
		topic = name
	default:
		if err := checkTopic(topic); err != nil {
			return usageErr("--from-topic=%q: expected quarantine, unrouted or %v", topic, err)
		}
	}
	if slices.ContainsFunc(cfg.routes(), func(r bridge.Route) bool { return r.Command != "" && r.Topic == topic }) {
		return usageErr("--from-topic=%s: that is a route's topic, whose records are events: replay reads the quarantine or the unrouted topic", topic)
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge replay: %v\n", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	sigDone := make(chan struct{})
	go func() {
		defer close(sigDone)
		<-ctx.Done()
		stop() // after the first signal, the next one ends the process at once
	}()
	defer func() { stop(); <-sigDone }()

	r := &replayer{name: "replay", cfg: cfg, topic: topic, group: *group, start: start, count: *count, dryRun: *dryRun,
		timeout: *timeout, every: *every, routes: bridge.NewRoutes(cfg.routes()...),
		out: stdout, progress: stderr, log: log, now: time.Now}
	err = r.run(ctx)
	fmt.Fprintln(stdout, r.summary())
	if err != nil {
		fmt.Fprintf(stderr, "imbridge replay: %v\n", err)
		return 1
	}
	return 0
}

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

	dialer *kafkago.Dialer
	client *kafkago.Client
	pub    *kafka.Publisher

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

// plan finds the topic's partitions and, in each, where replay starts and where the
// partition ends now; it prints what it will read on the progress writer.
func (r *replayer) plan(ctx context.Context) ([]span, error) {
	mctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	md, err := r.client.Metadata(mctx, &kafkago.MetadataRequest{Topics: []string{r.topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka (%s): metadata of %s: %w", strings.Join(r.cfg.KafkaBrokers, ","), r.topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		var terr error
		if len(md.Topics) == 1 {
			terr = md.Topics[0].Error
		}
		return nil, fmt.Errorf("topic %s: %v", r.topic, terr)
	}
	var partitions []int
	for _, p := range md.Topics[0].Partitions {
		partitions = append(partitions, p.ID)
	}
	slices.Sort(partitions)
	committed := map[int]int64{}
	if r.start.from == "committed" {
		if committed, err = r.committed(mctx, partitions); err != nil {
			return nil, err
		}
	}
	var (
		spans []span
		parts []string
	)
	for _, p := range partitions {
		first, end, at, err := r.offsets(mctx, p)
		if err != nil {
			return nil, err
		}
		from := first
		switch r.start.from {
		case "committed":
			if c, ok := committed[p]; ok && c >= 0 {
				from = c
			}
		case "offset":
			from = r.start.offset
		case "since":
			from = at
		}
		switch {
		case from < first:
			fmt.Fprintf(r.progress, "imbridge %s: %s partition %d starts at offset %d now (retention deleted the records before it); reading from there\n",
				r.name, r.topic, p, first)
			from = first
		case from > end:
			fmt.Fprintf(r.progress, "imbridge %s: %s partition %d ends at offset %d, before offset %d (was the topic created again? --offset earliest reads it all); nothing to read there\n",
				r.name, r.topic, p, end, from)
			from = end
		}
		spans = append(spans, span{partition: p, from: from, to: end})
		r.total += end - from
		parts = append(parts, fmt.Sprintf("partition %d from offset %d, %s", p, from, records(end-from)))
	}
	if r.count > 0 {
		r.total = min(r.total, r.count)
	}
	dry := ""
	if r.dryRun {
		dry = " (dry run: nothing is published or committed)"
	}
	fmt.Fprintf(r.progress, "imbridge %s: %s to read from %s (%s), group %s%s\n",
		r.name, records(r.total), r.topic, strings.Join(parts, "; "), r.group, dry)
	return spans, nil
}

// offsets returns partition's first offset, its end (the next offset to be written),
// and, for --since, the first offset written at or after the time (end if none), from
// the partition's leader.
func (r *replayer) offsets(ctx context.Context, partition int) (first, end, since int64, err error) {
	var conn *kafkago.Conn
	for _, b := range r.cfg.KafkaBrokers {
		if conn, err = r.dialer.DialLeader(ctx, "tcp", b, r.topic, partition); err == nil {
			break
		}
	}
	if err != nil {
		return 0, 0, 0, fmt.Errorf("kafka (%s): leader of %s partition %d: %w", strings.Join(r.cfg.KafkaBrokers, ","), r.topic, partition, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if first, end, err = conn.ReadOffsets(); err != nil {
		return 0, 0, 0, fmt.Errorf("offsets of %s partition %d: %w", r.topic, partition, err)
	}
	since = end
	if r.start.from == "since" {
		if since, err = conn.ReadOffset(r.start.since); err != nil {
			return 0, 0, 0, fmt.Errorf("offset of %s partition %d at %s: %w", r.topic, partition, r.start.since.Format(time.RFC3339), err)
		}
		if since < 0 { // no record at or after the time
			since = end
		}
	}
	return first, end, since, nil
}

// committed returns the group's committed offset of each partition that has one.
func (r *replayer) committed(ctx context.Context, partitions []int) (map[int]int64, error) {
	for {
		resp, err := r.client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: r.group, Topics: map[string][]int{r.topic: partitions}})
		if err == nil {
			err = resp.Error
		}
		if err == nil {
			out := map[int]int64{}
			for _, p := range resp.Topics[r.topic] {
				if p.Error != nil {
					return nil, fmt.Errorf("committed offset of group %s in %s partition %d: %w", r.group, r.topic, p.Partition, p.Error)
				}
				out[p.Partition] = p.CommittedOffset
			}
			return out, nil
		}
		if !coordinatorBusy(err) || r.pause(ctx) != nil {
			return nil, fmt.Errorf("committed offsets of group %s: %w", r.group, err)
		}
	}
}

// commit commits offset (the next record to read) of partition in the group.
func (r *replayer) commit(ctx context.Context, partition int, offset int64) error {
	for {
		resp, err := r.client.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{GroupID: r.group, GenerationID: -1,
			Topics: map[string][]kafkago.OffsetCommit{r.topic: {{Partition: partition, Offset: offset, Metadata: "imbridge " + r.name}}}})
		if err == nil {
			for _, p := range resp.Topics[r.topic] {
				err = errors.Join(err, p.Error)
			}
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, kafkago.UnknownMemberId) || errors.Is(err, kafkago.IllegalGeneration) || errors.Is(err, kafkago.RebalanceInProgress) {
			return fmt.Errorf("commit offset %d of %s partition %d in group %s: %w (the group has members: a consumer uses it; name a group of %s's own with --group)",
				offset, r.topic, partition, r.group, err, r.name)
		}
		if !coordinatorBusy(err) || r.pause(ctx) != nil {
			return fmt.Errorf("commit offset %d of %s partition %d in group %s: %w", offset, r.topic, partition, r.group, err)
		}
	}
}

// coordinatorBusy reports whether err is the group coordinator's "ask again later":
// it is moving, or loading the group's offsets (a broker that has just started).
func coordinatorBusy(err error) bool {
	return errors.Is(err, kafkago.NotCoordinatorForGroup) || errors.Is(err, kafkago.GroupCoordinatorNotAvailable) ||
		errors.Is(err, kafkago.GroupLoadInProgress)
}

// pause waits a moment before a request is sent again, or returns ctx's error.
func (r *replayer) pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

// Limits of a batch: the events of consecutive mapped records are published in one
// call (Kafka acknowledges them in one round trip, not one per record), then
// committed. A batch is published when it holds batchRecords records, batchEvents
// events or batchBytes bytes, when it is batchWait old, and at the end.
const (
	batchRecords = 200
	batchEvents  = 2000
	batchBytes   = 4 << 20
	batchWait    = 200 * time.Millisecond
)

// commitEvery is how long skipped records may stay uncommitted while nothing is
// published.
const commitEvery = time.Second

// batch is what was read of a partition since the last publish: mapped records, and
// the skipped ones behind the first.
type batch struct {
	outcomes []replayOutcome
	records  []bridge.Record
	bytes    int
	first    int64 // the offset of the first record
	started  time.Time
}

func (b *batch) add(o replayOutcome, offset int64, now time.Time) {
	if len(b.outcomes) == 0 {
		b.first, b.started = offset, now
	}
	b.outcomes = append(b.outcomes, o)
	b.records = append(b.records, o.records...)
	for i := range o.records {
		b.bytes += o.records[i].Size()
	}
}

func (b *batch) full() bool {
	return len(b.outcomes) >= batchRecords || len(b.records) >= batchEvents || b.bytes >= batchBytes
}

// replaySpan replays the records of one partition from s.from up to s.to.
//
// done is the offset before which every record is done: its events acknowledged by
// Kafka, or skipped. The group's offset is moved to done after every publish, and
// every commitEvery while only skipped records are read; never past a record whose
// events are not acknowledged.
func (r *replayer) replaySpan(ctx context.Context, s span) error {
	if s.from >= s.to || r.countReached() {
		return nil
	}
	reader := kafkago.NewReader(kafkago.ReaderConfig{Brokers: r.cfg.KafkaBrokers, Topic: r.topic, Partition: s.partition,
		Dialer: r.dialer, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 200 * time.Millisecond,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			r.log.Warn("kafka reader", zap.String("topic", r.topic), zap.Int("partition", s.partition), zap.String("err", fmt.Sprintf(msg, args...)))
		})})
	defer reader.Close()
	if err := reader.SetOffset(s.from); err != nil {
		return err
	}
	var (
		next       = s.from // the offset of the next record to read
		done       = s.from
		committed  = s.from // the group's offset, as far as this replay moved it
		lastCommit = r.now()
		pending    batch
	)
	// commit moves the group's offset to done. It runs on a context of its own: an
	// interrupted replay still saves what it did.
	commit := func() error {
		if r.dryRun || committed == done {
			return nil
		}
		cctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
		if err := r.commit(cctx, s.partition, done); err != nil {
			return err
		}
		committed, lastCommit = done, r.now()
		return nil
	}
	// publish publishes the pending batch and commits. Also on a context of its own:
	// an interrupted replay finishes what it has read.
	publish := func() error {
		if len(pending.outcomes) > 0 {
			pctx, cancel := context.WithTimeout(context.Background(), r.timeout)
			err := r.pub.Publish(pctx, pending.records)
			cancel()
			if err != nil {
				done = pending.first
				return errors.Join(fmt.Errorf("kafka did not acknowledge the %d events of %s partition %d offsets %d to %d: %w; "+
					"the records before offset %d are committed: run %s again to resume",
					len(pending.records), r.topic, s.partition, pending.first, next-1, err, pending.first, r.name), commit())
			}
			for _, o := range pending.outcomes {
				r.tally(o)
			}
			pending = batch{}
		}
		done = next
		if err := commit(); err != nil {
			return fmt.Errorf("%w; the events of the records before offset %d are published: a replay run again publishes them again, with the same eventIds",
				err, next)
		}
		return nil
	}
	interrupted := func() error {
		return errors.Join(fmt.Errorf("%w at %s partition %d offset %d: run %s again with --group %s to resume",
			errInterrupted, r.topic, s.partition, next, r.name, r.group), publish())
	}
	for next < s.to && !r.countReached() {
		if ctx.Err() != nil {
			return interrupted()
		}
		if len(pending.outcomes) > 0 && r.now().Sub(pending.started) >= batchWait {
			if err := publish(); err != nil {
				return err
			}
		}
		fctx, cancel := context.WithTimeout(ctx, r.timeout)
		m, err := reader.FetchMessage(fctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return interrupted()
			}
			return errors.Join(fmt.Errorf("kafka (%s): no record of %s partition %d at offset %d for %s (the partition ends at %d): %w",
				strings.Join(r.cfg.KafkaBrokers, ","), r.topic, s.partition, next, r.timeout, s.to, err), publish())
		}
		if m.Offset < next {
			continue
		}
		r.n.read.Add(1)
		var o replayOutcome
		if r.decide != nil {
			o = r.decide(m)
		} else {
			o = r.outcome(m)
		}
		if o.fail != nil {
			// Not done: the group's offset stays before it, the next run starts there.
			r.n.read.Add(-1)
			return errors.Join(fmt.Errorf("%s partition %d offset %d: %w; the records before it are done: run %s again to resume",
				r.topic, s.partition, m.Offset, o.fail, r.name), publish())
		}
		if r.dryRun || o.records == nil || o.newIDs {
			says := o.says
			if says == "" {
				says = printable(o.command) + " " + o.describe()
			}
			fmt.Fprintf(r.out, "%d/%d %s\n", m.Partition, m.Offset, says)
		}
		next = m.Offset + 1
		if (o.records != nil && !r.dryRun) || len(pending.outcomes) > 0 {
			// A skipped record behind a batch is done when the batch is.
			pending.add(o, m.Offset, r.now())
			if pending.full() {
				if err := publish(); err != nil {
					return err
				}
			}
			continue
		}
		r.tally(o)
		done = next
		if r.now().Sub(lastCommit) >= commitEvery {
			if err := commit(); err != nil {
				return err
			}
		}
	}
	return publish()
}

// tally counts what a record gave.
func (r *replayer) tally(o replayOutcome) {
	switch {
	case o.noRoute:
		r.n.noRoute.Add(1)
	case o.records == nil:
		r.n.unmappable.Add(1)
	default:
		r.n.replayed.Add(1)
		r.n.events.Add(int64(len(o.records)))
		if o.newIDs {
			r.n.newIDs.Add(1)
		}
	}
}

// countReached reports whether --count records were read.
func (r *replayer) countReached() bool { return r.count > 0 && r.n.read.Load() >= r.count }

// replayOutcome is what one record gives.
type replayOutcome struct {
	command string
	// records are the events' records to publish; nil when the record is skipped.
	records []bridge.Record
	topics  []string
	// unmappable is why the record cannot be mapped; noRoute that its command has no
	// route.
	unmappable string
	noRoute    bool
	// newIDs: the events get eventIds other than the callback's on receipt (see
	// bridge.CallbackFromUnrouted).
	newIDs bool
	// says is the record's line after PARTITION/OFFSET; "": the command and describe.
	says string
	// fail ends the run before the record (Kafka did not answer a question about it):
	// it is neither published nor skipped.
	fail error
}

// describe is the outcome as the record lines say it.
func (o replayOutcome) describe() string {
	switch {
	case o.noRoute:
		return "no route"
	case o.records == nil:
		return "still unmappable: " + o.unmappable
	}
	s := fmt.Sprintf("events %d (%s)", len(o.records), strings.Join(o.topics, ", "))
	if o.newIDs {
		s += "; new eventIds: the body was not kept as Chat sent it"
	}
	return s
}

// outcome reads a record back into its callback and maps it, as serve maps a callback
// it receives now: the same checks in the same order, the current routes and limits.
func (r *replayer) outcome(m kafkago.Message) replayOutcome {
	headers := make([]bridge.Header, len(m.Headers))
	for i, h := range m.Headers {
		headers[i] = bridge.Header{Key: h.Key, Value: h.Value}
	}
	o := replayOutcome{command: string(m.Key)}
	kept, err := bridge.ReadKept(m.Value, headers)
	if err != nil {
		o.unmappable = "record: " + err.Error()
		return o
	}
	cb := kept.Callback
	cb.MaxPairs = r.cfg.MaxPairs
	o.command = cb.Query.CallbackCommand
	if o.command == "" {
		o.unmappable = "CallbackCommand is missing from the query"
		return o
	}
	route, ok := r.routes.Lookup(o.command)
	if !ok || (route.Command == "" && kept.Type == bridge.UnroutedRoute.Type) {
		// An unrouted record whose command still has no route would only go back
		// where it is.
		o.noRoute = true
		return o
	}
	if route.Command == "" && !bridge.CleanCommand(o.command) {
		o.unmappable = fmt.Sprintf("CallbackCommand %.80q is not a command name (1 to 64 of A-Z a-z 0-9 _ .)", o.command)
		return o
	}
	events, err := bridge.Map(cb, route)
	if err == nil {
		// The version it would have had: the rule of serve, with the clock of the
		// moment it was received (a replay's own clock would put old changes above
		// newer ones).
		bridge.NewVersioner(r.cfg.SignMaxSkew).Assign(events, cb.Query.RequestTime != "", cb.ReceivedAt)
		o.records, err = bridge.EncodeRecords(events, r.pub)
	}
	if err != nil {
		o.records, o.unmappable = nil, bridge.ErrorMessage(err)
		return o
	}
	for _, rec := range o.records {
		if !slices.Contains(o.topics, rec.Topic) {
			o.topics = append(o.topics, rec.Topic)
		}
	}
	o.newIDs = !kept.SameIdentity
	return o
}

// records says n records.
func records(n int64) string {
	if n == 1 {
		return "1 record"
	}
	return strconv.FormatInt(n, 10) + " records"
}

// printable is a command for a record line: as it is when it is a command name, else
// Go-quoted (a command kept in quarantine may hold anything).
func printable(command string) string {
	if bridge.CleanCommand(command) {
		return command
	}
	return strconv.Quote(command)
}

// report prints a progress line every interval until done is closed.
func (r *replayer) report(done <-chan struct{}) {
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	last, lastRead := r.now(), int64(0)
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		now, read := r.now(), r.n.read.Load()
		rate := float64(read-lastRead) / now.Sub(last).Seconds()
		fmt.Fprintf(r.progress, "imbridge %s: %d of %d records read; %s; %.0f records/s\n", r.name, read, r.total, r.countsSoFar(), rate)
		last, lastRead = now, read
	}
}

// clientID is the Kafka client ID of the command: imbridge-replay, imbridge-dlq-redrive.
func (r *replayer) clientID() string { return "imbridge-" + strings.ReplaceAll(r.name, " ", "-") }

// countsSoFar says what the run did so far, for the progress lines and the summary.
func (r *replayer) countsSoFar() string {
	if r.counts != nil {
		return r.counts()
	}
	return fmt.Sprintf("%d replayed, %d events %s, %d still unmappable, %d no route",
		r.n.replayed.Load(), r.n.events.Load(), r.published(), r.n.unmappable.Load(), r.n.noRoute.Load())
}

// published is how the lines say what happened to the events.
func (r *replayer) published() string {
	if r.dryRun {
		return "to publish"
	}
	return "published"
}

// summary is the line replay ends with on stdout.
func (r *replayer) summary() string {
	took := ""
	if !r.began.IsZero() {
		took = ", took " + r.now().Sub(r.began).Round(time.Millisecond).String()
	}
	s := fmt.Sprintf("imbridge %s: %d read from %s, %s", r.name, r.n.read.Load(), r.topic, r.countsSoFar())
	if n := r.n.newIDs.Load(); n > 0 {
		s += fmt.Sprintf(" (%d with new eventIds)", n)
	}
	if r.dryRun {
		return s + "; dry run: nothing published, nothing committed" + took
	}
	return s + "; group " + r.group + took
}
