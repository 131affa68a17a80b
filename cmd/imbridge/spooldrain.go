package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// Defaults of imbridge spool drain's flags.
const (
	// defaultDrainGiveUp is --timeout: how long drain waits without forwarding a
	// record (Kafka unreachable, a record refused with no dead-letter topic) before it
	// gives up.
	defaultDrainGiveUp = 10 * time.Minute
	// defaultDrainProgress is --progress: the interval of the progress lines.
	defaultDrainProgress = 5 * time.Second
)

// spoolShortUsage is what a wrong spool command line gets, after its error.
const spoolShortUsage = `Usage: imbridge spool drain [--timeout DURATION] [--progress DURATION] DIR
       imbridge spool status [--json] [DIR]
(imbridge spool --help says what they do, when to use them and what they read)
`

// spoolUsage is the help of imbridge spool and imbridge spool drain: what drain does,
// when to use it, its flags, and the settings of serve it reads, from the settings
// table.
func spoolUsage() string {
	var b strings.Builder
	fmt.Fprintf(&b, `Usage: imbridge spool drain [flags] DIR

Forwards the backlog of a stopped replica's spool to Kafka, then exits. DIR is the
directory the replica had as IMBRIDGE_SPOOL_DIR.

Each replica spools to a volume of its own, and only that replica forwards what its
spool holds. When a replica will not come back (its node is lost for good, or the
StatefulSet was scaled down), mount its volume where nothing else uses it and drain it
there. Never drain the spool of a running replica: it forwards its own backlog, and
drain refuses a spool whose lock a process holds (exit 1, naming the holder's PID).

Records are published as the replica would have published them: their own topics, keys
and headers, in spool order. A record Kafka refuses for good (topic missing, too large)
goes to IMBRIDGE_DLQ_TOPIC after IMBRIDGE_DLQ_AFTER_ATTEMPTS tries; without one it is
retried until --timeout. Every few seconds a progress line goes to stderr: records and
bytes left, records per second. At the end one line goes to stdout: records forwarded,
dead-lettered and left, and the time taken.

Exit status: 0 when the spool is empty; 1 when it is not (nothing forwarded for
--timeout, interrupted, DIR locked or not a spool), and what was not forwarded stays in
DIR for a later drain; 2 for bad usage or settings. A second SIGINT or SIGTERM exits at
once; what was not acknowledged stays in DIR.

Flags:
  --timeout DURATION
      give up when nothing was forwarded for this long: Kafka unreachable, or a record
      refused with no dead-letter topic (default %s; 0: wait for ever)
  --progress DURATION
      interval of the progress lines (default %s)

Environment: the settings of imbridge serve that concern Kafka, as the replica had
them; its other settings (the callback token among them) are not read, so the
replica's environment can be used as it is.
`, shortDuration(defaultDrainGiveUp), shortDuration(defaultDrainProgress))
	routes := false
	for _, s := range settings {
		if !drainReads(s.env) {
			continue
		}
		if s.env == "IMBRIDGE_ROUTES" || strings.HasPrefix(s.env, "IMBRIDGE_TOPIC_") {
			if !routes {
				b.WriteString("  IMBRIDGE_ROUTES, IMBRIDGE_TOPIC_* (imbridge serve --help lists them)\n" +
					"      the switched-on routes' topics: drain reads their max.message.bytes before it\n" +
					"      forwards, so that a record a topic takes is not refused as too large (a topic\n" +
					"      not among them is taken to accept Kafka's default, 1 MiB)\n")
			}
			routes = true
			continue
		}
		def, usage := s.def, strings.TrimPrefix(s.usage, "spool mode: ")
		if d, ok := drainDefaults[s.env]; ok {
			def = d
		}
		if u, ok := drainUsage[s.env]; ok {
			usage = u
		}
		if def != "" {
			def = fmt.Sprintf(" (default %q)", def)
		}
		fmt.Fprintf(&b, "  %s%s\n      %s\n", s.env, def, usage)
	}
	return b.String()
}

// spoolCommand runs `imbridge spool SUBCOMMAND`.
func spoolCommand(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "imbridge spool: missing subcommand\n\n"+spoolShortUsage)
		return 2
	}
	switch args[0] {
	case "drain":
		return spoolDrain(args[1:], lookup, stdout, stderr)
	case "status":
		return spoolStatus(args[1:], lookup, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, spoolUsage()+"\n"+spoolStatusUsage())
		return 0
	default:
		fmt.Fprintf(stderr, "imbridge spool: unknown subcommand %q\n\n%s", args[0], spoolShortUsage)
		return 2
	}
}

// spoolDrain runs `imbridge spool drain [flags] DIR`.
func spoolDrain(args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	usageErr := usageError(stderr, "spool drain", spoolShortUsage)
	fs := flag.NewFlagSet("imbridge spool drain", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are worded below, help is spoolUsage
	giveUp := fs.Duration("timeout", defaultDrainGiveUp, "")
	every := fs.Duration("progress", defaultDrainProgress, "")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, spoolUsage())
		return 0
	case err != nil:
		return usageErr("%v", err)
	case fs.NArg() == 0:
		return usageErr("missing DIR: name the spool directory to drain")
	case fs.NArg() > 1:
		return usageErr("unexpected argument %q after DIR (flags go before DIR)", fs.Arg(1))
	case *giveUp < 0:
		return usageErr("--timeout=%s: expected a duration such as 10m, or 0 to wait for ever", *giveUp)
	case *every <= 0:
		return usageErr("--progress=%s: expected a positive duration such as 5s", *every)
	}
	cfg, err := loadConfigFor("spool drain", nil, drainLookup(lookup), io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge spool drain: %v\n", err)
		return 2
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imbridge spool drain: %v\n", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := interruptContext()
	defer stop()
	d := &drainer{dir: fs.Arg(0), cfg: cfg, giveUp: *giveUp, every: *every, log: log,
		progress: stderr, now: time.Now}
	res, err := d.run(ctx)
	if res.opened {
		fmt.Fprintf(stdout, "imbridge spool drain: %d records forwarded, %d dead-lettered, %d left in %s, took %s\n",
			res.forwarded, res.deadLettered, res.left.Records, d.dir, res.took.Round(time.Millisecond))
	}
	if err != nil {
		fmt.Fprintf(stderr, "imbridge spool drain: %v\n", err)
		return 1
	}
	return 0
}

// drainDefaults are the defaults drain gives settings of serve where serve's do not
// suit a command run by hand: only warnings and errors are logged, so that the
// progress lines stand out.
var drainDefaults = map[string]string{"IMBRIDGE_LOG_LEVEL": "warn"}

// drainUsage words the settings of serve whose help speaks of serving.
var drainUsage = map[string]string{
	"IMBRIDGE_DLQ_TOPIC": "dead-letter topic for records Kafka refuses for good (topic missing, too large); " +
		"unset: such a record is retried, the records behind it wait, and drain gives up after --timeout",
}

// drainReads reports whether drain reads the setting of serve named env: the Kafka
// connection, the topics (for their limits and the dead-letter topic's check), the
// dead-letter and retry settings, and the log's. IMBRIDGE_KAFKA_UNREACHABLE_AFTER is
// serve's readiness, which drain has not.
func drainReads(env string) bool {
	switch env {
	case "IMBRIDGE_KAFKA_UNREACHABLE_AFTER":
		return false
	case "IMBRIDGE_ROUTES", "IMBRIDGE_DLQ_TOPIC", "IMBRIDGE_DLQ_AFTER_ATTEMPTS", "IMBRIDGE_LOG_LEVEL", "IMBRIDGE_LOG_FORMAT":
		return true
	}
	return strings.HasPrefix(env, "IMBRIDGE_KAFKA_") || strings.HasPrefix(env, "IMBRIDGE_TOPIC_")
}

// drainLookup is lookup as loadConfig sees it for this command (subsetLookup).
func drainLookup(lookup func(string) (string, bool)) func(string) (string, bool) {
	return subsetLookup(lookup, drainReads, drainDefaults)
}
