package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge"
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

// replayCommand runs `imbridge replay`.
func replayCommand(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	usageErr := usageError(stderr, "replay", replayShortUsage)
	f, err := parseReplayFlags("replay", args, "quarantine", defaultReplayGroup)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, replayUsage())
		return 0
	case err != nil:
		return usageErr("%v", err)
	}

	cfg, err := loadConfigFor("replay", nil, replayLookup(lookup), io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge replay: %v\n", err)
		return 2
	}
	topic := f.fromTopic
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

	r := &replayer{name: "replay", cfg: cfg, topic: topic, group: f.group, start: f.start, count: f.count, dryRun: f.dryRun,
		timeout: f.timeout, every: f.every, routes: bridge.NewRoutes(cfg.routes()...),
		out: stdout, progress: stderr, log: log, now: time.Now}
	return r.runCommand(stderr)
}
