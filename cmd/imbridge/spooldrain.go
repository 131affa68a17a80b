package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/spool"
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
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "imbridge spool drain: "+format+"\n\n%s", append(a, spoolShortUsage)...)
		return 2
	}
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

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	sigDone := make(chan struct{})
	go func() {
		defer close(sigDone)
		<-ctx.Done()
		stop() // after the first signal, the next one ends the process at once
	}()
	defer func() { stop(); <-sigDone }()
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

// drainer forwards one stopped spool to Kafka until it is empty.
type drainer struct {
	dir      string
	cfg      Config
	giveUp   time.Duration // 0: never
	every    time.Duration
	log      *zap.Logger
	progress io.Writer
	now      func() time.Time
}

// drainResult is what a drain did.
type drainResult struct {
	opened                  bool // the spool was opened: the counts below mean something
	forwarded, deadLettered int64
	left                    spool.Stats
	took                    time.Duration
}

// pollInterval is how often drain looks whether the spool is empty.
const pollInterval = 50 * time.Millisecond

// run opens the spool, waits until Kafka answers (reading the topics' limits), runs
// the forwarder until the spool is empty, and closes everything. The error says why
// the spool is not empty.
func (d *drainer) run(ctx context.Context) (drainResult, error) {
	var res drainResult
	if err := checkSpoolDir(d.dir); err != nil {
		return res, err
	}
	sp, err := spool.Open(d.dir, spool.Options{Log: d.log.Named("spool")})
	if errors.Is(err, spool.ErrLocked) {
		return res, fmt.Errorf("%s is locked by a running process%s: a running replica forwards its own spool; "+
			"drain only the spool of a replica that is gone for good, where nothing else uses it", d.dir, lockHolder(d.dir))
	}
	if err != nil {
		return res, err
	}
	res.opened = true
	start := d.now()
	st := sp.Stats()
	fmt.Fprintf(d.progress, "imbridge spool drain: %s holds %s\n", d.dir, describe(st, d.now()))
	if st.Entries == 0 {
		res.took = d.now().Sub(start)
		return res, sp.Close()
	}

	pub, err := kafka.New(kafka.Config{Brokers: d.cfg.KafkaBrokers, Topics: d.cfg.topics(), Security: d.cfg.Kafka,
		UnknownTopicTimeout: d.cfg.KafkaUnknownTopic}, d.log.Named("kafka"))
	if err != nil {
		res.left = st
		return res, errors.Join(err, sp.Close())
	}
	unreachable := d.every
	if d.giveUp > 0 {
		unreachable = min(unreachable, d.giveUp)
	}
	fwd := spool.NewForwarder(sp, pub, spool.ForwarderConfig{
		DeadLetterTopic: d.cfg.DLQTopic,
		MaxAttempts:     d.cfg.DLQAfterAttempts,
		BackoffMax:      d.cfg.KafkaRetryBackoffMax,
		// Health then reports Kafka failing for one progress interval: the progress
		// line and the final error say why nothing moves.
		UnreachableAfter: unreachable,
	}, d.log.Named("forwarder"))

	err = d.loadLimits(ctx, pub, sp, start)
	if err == nil {
		fctx, stopForwarder := context.WithCancel(ctx)
		fwdDone := make(chan struct{})
		go func() {
			defer close(fwdDone)
			_ = fwd.Run(fctx) // it only returns nil, once fctx ends
		}()
		err = d.forward(ctx, sp, fwd, start, st.Records)
		// The forwarder stops before the spool closes: a spool is never closed under
		// its reader.
		stopForwarder()
		<-fwdDone
	}
	res.forwarded, res.deadLettered = fwd.Counts()
	res.left = sp.Stats()
	if cerr := sp.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close the spool: %w (its cursor may not be saved: the next drain may forward records again)", cerr))
	}
	_ = pub.Close() // every record was acknowledged or stays in the spool: nothing to flush
	res.took = d.now().Sub(start)
	return res, err
}

// loadLimits reads the topics' max.message.bytes, retrying until Kafka answers, so
// that no record is refused as too large for a topic that takes it. It gives up after
// giveUp since start.
func (d *drainer) loadLimits(ctx context.Context, pub *kafka.Publisher, sp *spool.Spool, start time.Time) error {
	lastLine := start
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		// Ping first: its error says why the brokers do not answer (LoadLimits' does
		// not); a topic's error means they do, and the forwarder reports the topic.
		err := pub.Ping(rctx)
		var topicErr kafkago.Error
		if err == nil || errors.As(err, &topicErr) {
			_, err = pub.LoadLimits(rctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return d.stopped(sp)
		}
		now := d.now()
		if d.giveUp > 0 && now.Sub(start) >= d.giveUp {
			return d.gaveUp(sp, err)
		}
		if now.Sub(lastLine) >= d.every {
			fmt.Fprintf(d.progress, "imbridge spool drain: %s left; waiting for kafka (%s): %v\n",
				describe(sp.Stats(), now), strings.Join(d.cfg.KafkaBrokers, ","), err)
			lastLine = now
		}
		if d.giveUp > 0 {
			wait = min(wait, start.Add(d.giveUp).Sub(now))
		}
		select {
		case <-ctx.Done():
			return d.stopped(sp)
		case <-time.After(wait):
		}
	}
}

// forward waits until the spool is empty, printing a progress line every interval.
// It gives up when nothing was forwarded for giveUp. records is how many the spool
// held at start.
func (d *drainer) forward(ctx context.Context, sp *spool.Spool, fwd *spool.Forwarder, start time.Time, records int64) error {
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	var moved int64 // records forwarded or dead-lettered at the last change
	lastMove, lastLine := start, start
	var lineMoved int64 // moved at the last progress line
	for {
		st := sp.Stats()
		if st.Entries == 0 {
			return nil
		}
		now := d.now()
		pub, dead := fwd.Counts()
		if pub+dead != moved {
			moved, lastMove = pub+dead, now
		}
		if d.giveUp > 0 && now.Sub(lastMove) >= d.giveUp {
			return d.gaveUp(sp, fwd.Health())
		}
		if now.Sub(lastLine) >= d.every {
			rate := float64(moved-lineMoved) / now.Sub(lastLine).Seconds()
			// The spool acknowledges a window of records once all of them are
			// through: until then its counts include those already forwarded.
			left := min(st.Records, max(records-moved, 0))
			line := fmt.Sprintf("imbridge spool drain: %d records left (%s not yet acknowledged on disk, in %d callbacks); %.0f records/s; %d forwarded, %d dead-lettered",
				left, byteSize(st.Bytes), st.Entries, rate, pub, dead)
			if err := fwd.Health(); err != nil {
				line += "; " + err.Error()
			}
			fmt.Fprintln(d.progress, line)
			lastLine, lineMoved = now, moved
		}
		select {
		case <-ctx.Done():
			return d.stopped(sp)
		case <-poll.C:
		}
	}
}

// gaveUp is the error of a drain that forwarded nothing for giveUp; why is the last
// reason Kafka gave, nil if none was reported.
func (d *drainer) gaveUp(sp *spool.Spool, why error) error {
	reason := "no error reported"
	if why != nil {
		reason = why.Error()
	}
	return fmt.Errorf("nothing forwarded for %s (%s); %s stay in %s: drain it again once Kafka takes them",
		d.giveUp, reason, describe(sp.Stats(), d.now()), d.dir)
}

// stopped is the error of a drain ended by a signal.
func (d *drainer) stopped(sp *spool.Spool) error {
	return fmt.Errorf("interrupted; %s stay in %s: drain it again to forward them", describe(sp.Stats(), d.now()), d.dir)
}

// describe says what a spool holds, for the progress lines and errors.
func describe(st spool.Stats, now time.Time) string {
	s := fmt.Sprintf("%d records (%s in %d callbacks", st.Records, byteSize(st.Bytes), st.Entries)
	if !st.Oldest.IsZero() {
		s += ", the oldest from " + now.Sub(st.Oldest).Round(time.Second).String() + " ago"
	}
	return s + ")"
}

// byteSize writes n bytes for people: 512 B, 1.5 KiB, 3.2 MiB, 1.0 GiB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 2 {
		v, i = v/unit, i+1
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMG"[i])
}

// checkSpoolDir refuses a DIR that is not a spool before Open creates one in it: a
// mistyped path, or the volume's mount point instead of the spool directory in it,
// would otherwise be "drained" of nothing, and get a lock file and a segment.
func checkSpoolDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("spool directory: %w", err)
	}
	for _, e := range entries {
		// A spool's directory holds the lock file from its first Open on, and its
		// segments; a copy may hold the segments only.
		if e.Name() == "lock" || strings.HasSuffix(e.Name(), ".seg") {
			return nil
		}
	}
	return fmt.Errorf("%s holds no spool (no lock file, no *.seg segment): name the directory the replica had as IMBRIDGE_SPOOL_DIR", dir)
}

// lockHolder names the process holding dir's lock as " (pid N)", the PID its holder
// wrote into the lock file, or "" when the file does not say.
func lockHolder(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "lock"))
	if pid := strings.TrimSpace(string(b)); err == nil && pid != "" {
		return " (pid " + pid + ")"
	}
	return ""
}
