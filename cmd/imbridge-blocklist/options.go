package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
)

// options are the command line of imbridge-blocklist.
type options struct {
	brokers, topics []string
	listen          string
	// group is --group, which is ignored: every partition is read by this consumer.
	// It is still accepted so that command lines that pass it keep starting.
	group string
	// kafka is the TLS and SASL towards the brokers, with imbridge's own rules (TLS
	// verification always on, PLAIN refused without TLS unless allowed by name).
	kafka kafka.Security
	// tombstoneHorizon is how long a removal is kept to refuse an older addition,
	// measured on versions within its partition; 0 keeps every removal. Default 24h.
	tombstoneHorizon time.Duration
	// snapshot is the snapshot file; empty (the default): none, every start reads the
	// topics from their first offset.
	snapshot string
	// snapshotInterval and snapshotEvents say when the snapshot is written: every
	// interval (default 30s) with anything new, or after that many records (default
	// 100000), whichever comes first; also at a clean stop.
	snapshotInterval time.Duration
	snapshotEvents   int
}

// envSetting is an option that also comes from the environment: the variable over the
// default, the flag over the variable.
type envSetting struct {
	flag, env, def, usage string
	set                   func(*options, string) error
}

var envSettings = []envSetting{
	{"tombstone-horizon", "IMBRIDGE_BLOCKLIST_TOMBSTONE_HORIZON", "24h",
		"the `duration` a removal is remembered to refuse an older addition of its pair: the longest delay between imbridge " +
			"replicas tolerated. Measured on the events' versions (Unix ms) against the newest version read from the same " +
			"partition, not on the wall clock, so a replay behaves the same. A removal older than that is forgotten, and an " +
			"addition of its pair that is older still but arrives only now (delayed longer than the horizon, such as from a " +
			"replica's spool drained days later) is applied: the pair is blocked again although it was unblocked later. " +
			"Memory holds the removals of one horizon. 0 keeps every removal, and memory grows with every pair ever removed",
		func(o *options, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return errors.New("a duration such as 24h or 90m, or 0 to keep every removal")
			}
			o.tombstoneHorizon = d
			return nil
		}},
	{"snapshot", "IMBRIDGE_BLOCKLIST_SNAPSHOT", "",
		"`file` the state and the offsets it covers are written to (atomically) every --snapshot-interval or " +
			"--snapshot-events and at a clean stop; a start loads it and reads on from its offsets, so a restart needs " +
			"neither the whole topic nor the time to replay it. A missing file is a first start: the topics are read from " +
			"their first offset. A file that cannot be read, or holds other topics, is refused; move it aside to start over. " +
			"Records deleted before they were read (a snapshot older than the retention) are logged as missing. Empty: no " +
			"snapshot, every start reads the topics from their first offset, and what their retention deleted is missing " +
			"from the state",
		func(o *options, v string) error { o.snapshot = v; return nil }},
	{"snapshot-interval", "IMBRIDGE_BLOCKLIST_SNAPSHOT_INTERVAL", "30s",
		"write the snapshot this often (a `duration`) when anything was read since; a restart rereads at most about this much",
		func(o *options, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return errors.New("a positive duration such as 30s or 5m")
			}
			o.snapshotInterval = d
			return nil
		}},
	{"snapshot-events", "IMBRIDGE_BLOCKLIST_SNAPSHOT_EVENTS", "100000",
		"also write the snapshot after this many `records`; a restart rereads at most about this many",
		func(o *options, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return errors.New("a positive number of records")
			}
			o.snapshotEvents = n
			return nil
		}},
}

const usageHeader = `Usage: imbridge-blocklist [flags]

Keeps every user's blocklist from imbridge's blocklist topic and serves it at
GET /users/{id}/blocklist (also /stats, /healthz, /readyz). Every partition is read
by this process. A removal is remembered for --tombstone-horizon, to refuse an older
addition from a slower imbridge replica. With --snapshot, the state and its offsets
are saved to a file and a restart reads on from there; without, every start reads the
topics from their first offset. When Kafka does not answer, reading is retried with
backoff for as long as it takes (one line logged when Kafka is lost, one when it is
back, /readyz 503 meanwhile); the process never exits for it.

Flags (a variable named after "or" sets a flag's default):
`

// parseOptions reads the flags, and the environment for the settings of envSettings.
// The SASL password comes from a file (--kafka-sasl-password-file) or from
// IMBRIDGE_KAFKA_SASL_PASSWORD, never from the command line, where every user of the
// machine can read it.
func parseOptions(args []string, lookup func(string) (string, bool), stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("imbridge-blocklist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:19092", "bootstrap brokers, comma-separated")
	topics := fs.String("topics", "imbridge.blocklist", "topics with the blocklist events, comma-separated")
	fs.StringVar(&o.group, "group", "", "ignored: every partition is read by this consumer, which keeps every user's state (no consumer group)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8081", "address of GET /users/{id}/blocklist (no authentication: loopback unless something guards it)")
	fs.BoolVar(&o.kafka.TLS, "kafka-tls", false, "connect to the brokers with TLS (implied by any --kafka-tls-* file or name)")
	fs.StringVar(&o.kafka.CAFile, "kafka-tls-ca-file", "", "PEM bundle of the CAs that sign the brokers' certificates (default: the system's)")
	fs.StringVar(&o.kafka.CertFile, "kafka-tls-cert-file", "", "PEM client certificate, for brokers that require one")
	fs.StringVar(&o.kafka.KeyFile, "kafka-tls-key-file", "", "PEM key of the client certificate")
	fs.StringVar(&o.kafka.ServerName, "kafka-tls-server-name", "", "name expected in the brokers' certificates (default: each broker's host)")
	mechanism := fs.String("kafka-sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; unset: no SASL. PLAIN needs TLS (or --kafka-sasl-plain-without-tls)")
	fs.StringVar(&o.kafka.Username, "kafka-sasl-username", "", "SASL username")
	passwordFile := fs.String("kafka-sasl-password-file", "", "file holding the SASL password (or IMBRIDGE_KAFKA_SASL_PASSWORD in the environment)")
	fs.BoolVar(&o.kafka.PlainWithoutTLS, "kafka-sasl-plain-without-tls", false, "allow SASL PLAIN without TLS, which sends the password in clear text")
	values, from := make([]string, len(envSettings)), make([]string, len(envSettings))
	for i, e := range envSettings {
		values[i] = e.def
		if v, ok := lookup(e.env); ok {
			values[i], from[i] = v, e.env
		}
		def := ""
		if e.def != "" {
			def = " (default " + e.def + ")"
		}
		fs.Func(e.flag, wrap(e.usage+"; or "+e.env+def, 88), func(v string) error {
			values[i], from[i] = v, "--"+e.flag
			return nil
		})
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("no arguments expected, got %q", fs.Arg(0))
	}
	for i, e := range envSettings {
		if err := e.set(&o, values[i]); err != nil {
			if from[i] == "" {
				from[i] = "default of --" + e.flag
			}
			return options{}, fmt.Errorf("%s=%q: expected %v", from[i], values[i], err)
		}
	}
	o.brokers, o.topics = strings.Split(*brokers, ","), strings.Split(*topics, ",")
	switch m := strings.ToUpper(*mechanism); m {
	case kafka.SASLNone, kafka.SASLPlain, kafka.SASLScramSHA256, kafka.SASLScramSHA512:
		o.kafka.SASLMechanism = m
	default:
		return options{}, fmt.Errorf("--kafka-sasl-mechanism=%q: expected PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", *mechanism)
	}
	if *passwordFile != "" {
		b, err := os.ReadFile(*passwordFile)
		if err != nil {
			return options{}, fmt.Errorf("--kafka-sasl-password-file: %w", err)
		}
		o.kafka.Password = bridge.Secret(strings.TrimSpace(string(b)))
	} else if v, ok := lookup("IMBRIDGE_KAFKA_SASL_PASSWORD"); ok {
		o.kafka.Password = bridge.Secret(v)
	}
	if errors.Is(o.kafka.Validate(), kafka.ErrPlainWithoutTLS) {
		return options{}, errors.New("--kafka-sasl-mechanism=PLAIN without TLS would send the password in clear text: " +
			"add --kafka-tls, use SCRAM-SHA-512, or --kafka-sasl-plain-without-tls for brokers on a network nobody else can read")
	}
	return o, nil
}

// wrap breaks text into lines of at most width bytes where it can, for --help.
func wrap(text string, width int) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(text) {
		if i > 0 && line+1+len(w) > width {
			b.WriteByte('\n')
			line = 0
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	return b.String()
}

// newServer is the HTTP server of the blocklist API, with every timeout set: a client
// can hold a connection neither idle nor half-sent for long.
func newServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
}
