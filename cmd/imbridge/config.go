package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap/zapcore"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/httpapi"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/spool"
)

// Config is the effective configuration of `imbridge serve`: defaults, then the
// environment, then flags, then Validate. Each field is documented, with its default,
// by the setting that fills it (see settings, or `imbridge serve --help`). It logs
// itself without secrets (MarshalLogObject).
type Config struct {
	Listen, CallbackPath, AdminListen string
	TrustedProxies                    []netip.Prefix
	SDKAppID                          uint64
	CallbackTokens                    []bridge.Secret
	AllowUnsigned                     bool
	DevMode                           bool
	SignMaxSkew                       time.Duration
	ReplayFilter                      bool
	ReplayCacheSize                   int
	BodyLimit, MaxInFlightBytes       int64
	MaxPairs, MaxInFlight             int
	MaxRecordBytes                    int64
	MaxQueryBytes, MaxHeaderBytes     int

	KafkaBrokers []string
	Kafka        kafka.Security
	// Routes are the names of the switched-on routes (IMBRIDGE_ROUTES); Topics maps
	// every route name to its topic.
	Routes []string
	Topics map[string]string
	// UnroutedTopic, when set, receives every verified callback without a route
	// (IMBRIDGE_TOPIC_UNROUTED).
	UnroutedTopic string
	// QuarantineTopic, when set, keeps every authenticated callback that cannot be
	// mapped (IMBRIDGE_TOPIC_QUARANTINE).
	QuarantineTopic string

	Delivery              string
	SyncTimeout           time.Duration
	SpoolDir              string
	SpoolMaxBytes         int64
	SpoolHighWater        float64
	DLQTopic              string
	DLQAfterAttempts      int
	KafkaRetryBackoffMax  time.Duration
	KafkaUnreachableAfter time.Duration
	KafkaUnknownTopic     time.Duration
	DrainTimeout          time.Duration
	ShutdownDelay         time.Duration
	ShutdownTimeout       time.Duration

	TLSCertFile, TLSKeyFile string
	HTTPReadHeaderTimeout   time.Duration
	HTTPReadTimeout         time.Duration
	HTTPWriteTimeout        time.Duration
	HTTPIdleTimeout         time.Duration

	// MemoryLimit is the container's memory limit in bytes (IMBRIDGE_MEMORY_LIMIT); 0:
	// unknown.
	MemoryLimit int64

	Pprof               bool
	LogLevel, LogFormat string

	// SecretFlags are the flags that carried a secret on the command line, where any
	// user of the machine can read it: each is warned about at start.
	SecretFlags []string

	// effective is every setting as given or defaulted, for the start-up line.
	effective []effectiveSetting
}

// MarshalLogObject implements zapcore.ObjectMarshaler for the start-up log line: every
// setting of the settings table, in its order, under its variable's name in lower case
// without IMBRIDGE_, as given (or its default); secrets as <secret> when set.
func (c Config) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	for _, v := range c.effective {
		enc.AddString(v.key, v.value)
	}
	return nil
}

// MinTokenLength is the shortest callback token serve accepts outside dev mode: the
// Sign is a plain SHA-256 of the token and RequestTime, so one captured callback URL lets
// anyone search the token offline, and a short one is found in minutes.
const MinTokenLength = 16

// shortDuration writes d as time.Duration.String does, without zero units at the end
// ("5m", not "5m0s"), as the settings table shows defaults.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// effectiveSetting is a setting's value as the start-up line shows it.
type effectiveSetting struct{ key, value string }

// routes is the routing table with the configured topics.
func (c *Config) routes() []bridge.Route {
	var out []bridge.Route
	for _, r := range bridge.DefaultRoutes {
		if slices.Contains(c.Routes, r.Name) {
			r.Topic = c.Topics[r.Name]
			out = append(out, r)
		}
	}
	if c.UnroutedTopic != "" {
		r := bridge.UnroutedRoute
		r.Topic = c.UnroutedTopic
		out = append(out, r)
	}
	return out
}

// routedTopics lists the topics of the switched-on routes, the unrouted one apart:
// those without which sync mode cannot take a routed callback.
func (c *Config) routedTopics() []string {
	var ts []string
	for _, r := range c.routes() {
		if r.Command != "" && !slices.Contains(ts, r.Topic) {
			ts = append(ts, r.Topic)
		}
	}
	return ts
}

// topics lists every topic imbridge writes to: the routed ones and the DLQ topic.
func (c *Config) topics() []string {
	var ts []string
	for _, r := range c.routes() {
		if !slices.Contains(ts, r.Topic) {
			ts = append(ts, r.Topic)
		}
	}
	for _, t := range []string{c.QuarantineTopic, c.DLQTopic} {
		if t != "" && !slices.Contains(ts, t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// setting is one configuration knob: an environment variable, the flag of the same
// meaning, its default, and how a value is stored into Config.
type setting struct {
	env, flag, def, meta, usage string
	secret                      bool
	set                         func(c *Config, v string) error
}

// settings lists every knob of `imbridge serve`, in the order --help shows them.
var settings = slices.Concat(generalSettings, routeSettings(), deliverySettings)

// routeSettings are IMBRIDGE_ROUTES and one topic setting per route.
func routeSettings() []setting {
	var names []string
	for _, r := range bridge.DefaultRoutes {
		names = append(names, r.Name)
	}
	out := []setting{{env: "IMBRIDGE_ROUTES", flag: "routes", def: strings.Join(names, ","), meta: "NAMES",
		usage: "switched-on routes, comma-separated; a command whose route is off is answered OK and publishes nothing",
		set: func(c *Config, v string) error {
			c.Routes = nil
			for _, n := range strings.Split(v, ",") {
				if n = strings.TrimSpace(n); n == "" {
					continue
				}
				if !slices.Contains(names, n) {
					return fmt.Errorf("route names from %s", strings.Join(names, ", "))
				}
				c.Routes = append(c.Routes, n)
			}
			return nil
		}}}
	for _, r := range bridge.DefaultRoutes {
		name := r.Name
		usage := "topic for " + r.Command + " events (" + r.Type + ")"
		var shared []string
		for _, o := range bridge.DefaultRoutes {
			if o.Name != name && o.Topic == r.Topic {
				shared = append(shared, o.Name)
			}
		}
		if len(shared) > 0 {
			usage += "; shared with " + strings.Join(shared, ", ") + " by default, so that one subject's events stay in order in one partition"
		}
		out = append(out, setting{
			env:   "IMBRIDGE_TOPIC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")),
			flag:  "topic-" + name,
			def:   r.Topic,
			meta:  "TOPIC",
			usage: usage,
			set: func(c *Config, v string) error {
				if err := checkTopic(v); err != nil {
					return err
				}
				if c.Topics == nil {
					c.Topics = map[string]string{}
				}
				c.Topics[name] = v
				return nil
			},
		})
	}
	return append(out,
		setting{env: "IMBRIDGE_TOPIC_UNROUTED", flag: "topic-unrouted", def: bridge.TopicUnrouted, meta: "TOPIC",
			usage: "topic for every verified callback whose command has no route (switched on), as one imbridge.unrouted.v1 event with the body as Chat sent it, keyed by the command; off (or empty): such callbacks are answered OK and publish nothing, and are lost",
			set:   optionalTopic(func(c *Config) *string { return &c.UnroutedTopic })},
		setting{env: "IMBRIDGE_TOPIC_QUARANTINE", flag: "topic-quarantine", def: bridge.TopicQuarantine, meta: "TOPIC",
			usage: "topic for every authenticated callback that cannot be mapped (a body or field imbridge cannot read, more entries than IMBRIDGE_MAX_PAIRS, records over a topic's max.message.bytes, a Content-Encoding, no CallbackCommand): kept whole as received, the reason in headers, answered OK, since Chat never sends a callback again; its max.message.bytes must hold IMBRIDGE_BODY_LIMIT plus headers (make dev creates it with 2 MiB); off (or empty): such callbacks are refused with 400, 413 or 415, and lost",
			set:   optionalTopic(func(c *Config) *string { return &c.QuarantineTopic })})
}

// optionalTopic stores a topic name, or nothing for "off" or "".
func optionalTopic(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" || v == "off" {
			*field(c) = ""
			return nil
		}
		if err := checkTopic(v); err != nil {
			return fmt.Errorf("%w, or off", err)
		}
		*field(c) = v
		return nil
	}
}

// generalSettings come before the routes in --help.
var generalSettings = []setting{
	{env: "IMBRIDGE_LISTEN", flag: "listen", def: ":8080", meta: "ADDR",
		usage: "callback listener address",
		set:   func(c *Config, v string) error { c.Listen = v; return nil }},
	{env: "IMBRIDGE_CALLBACK_PATH", flag: "callback-path", def: "/callback", meta: "PATH",
		usage: "URL path the callback URL in Chat's console points at",
		set:   func(c *Config, v string) error { c.CallbackPath = v; return nil }},
	{env: "IMBRIDGE_TRUSTED_PROXIES", flag: "trusted-proxies", meta: "ADDRS",
		usage: "proxies in front of imbridge (IPs or CIDR prefixes, comma-separated) whose X-Forwarded-For is believed for the client address in the request log; unset: the connection's peer, X-Forwarded-For ignored",
		set: func(c *Config, v string) error {
			c.TrustedProxies = nil
			for _, f := range strings.Split(v, ",") {
				if f = strings.TrimSpace(f); f == "" {
					continue
				}
				p, err := netip.ParsePrefix(f)
				if err != nil {
					a, aerr := netip.ParseAddr(f)
					if aerr != nil {
						return errors.New("IP addresses or CIDR prefixes such as 10.0.0.0/8, separated by commas")
					}
					p = netip.PrefixFrom(a, a.BitLen())
				}
				c.TrustedProxies = append(c.TrustedProxies, p.Masked())
			}
			return nil
		}},
	{env: "IMBRIDGE_ADMIN_LISTEN", flag: "admin-listen", def: "127.0.0.1:9090", meta: "ADDR",
		usage: "address of /healthz, /readyz, /metrics and pprof, which have no authentication: loopback unless a network policy guards it (compose and Kubernetes set :9090)",
		set:   func(c *Config, v string) error { c.AdminListen = v; return nil }},
	{env: "IMBRIDGE_SDKAPPID", flag: "sdkappid", meta: "ID",
		usage: "the app's SDKAppID; callbacks for other apps are answered 403 (required)",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 {
				return errors.New("a positive decimal number such as 1400187352")
			}
			c.SDKAppID = n
			return nil
		}},
	{env: "IMBRIDGE_CALLBACK_TOKEN", flag: "callback-token", meta: "TOKENS", secret: true,
		usage: "callback-authentication token(s), comma-separated so that old and new verify during a rotation; each at least 16 characters outside IMBRIDGE_DEV_MODE",
		set:   setTokens},
	{env: "IMBRIDGE_CALLBACK_TOKEN_FILE", flag: "callback-token-file", meta: "FILE",
		usage: "file holding the token(s), comma- or newline-separated; instead of IMBRIDGE_CALLBACK_TOKEN",
		set: fileSetter("IMBRIDGE_CALLBACK_TOKEN", func(c *Config) bool { return len(c.CallbackTokens) > 0 },
			func(c *Config, content string) error { return setTokens(c, strings.ReplaceAll(content, "\n", ",")) })},
	{env: "IMBRIDGE_ALLOW_UNSIGNED", flag: "allow-unsigned", def: "false", meta: "BOOL",
		usage: "accept callbacks without Sign when no token is set (only SdkAppid is checked then)",
		set:   boolSetter(func(c *Config) *bool { return &c.AllowUnsigned })},
	{env: "IMBRIDGE_DEV_MODE", flag: "dev-mode", def: "false", meta: "BOOL",
		usage: "accept the placeholder tokens of imbridge's examples (" + strings.Join(placeholderTokens, ", ") + "), for trying imbridge out on one machine; refused otherwise",
		set:   boolSetter(func(c *Config) *bool { return &c.DevMode })},
	{env: "IMBRIDGE_SIGN_MAX_SKEW", flag: "sign-max-skew", def: shortDuration(bridge.DefaultMaxSkew), meta: "DURATION",
		usage: "largest accepted distance between RequestTime and now; a signed URL can be replayed, with any body, for as long",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.SignMaxSkew })},
	{env: "IMBRIDGE_REPLAY_FILTER", flag: "replay-filter", def: "false", meta: "BOOL",
		usage: "answer an exact replay of a signed callback answered OK (same SDKAppID, RequestTime, command and body) within twice IMBRIDGE_SIGN_MAX_SKEW with OK and publish nothing; identical genuine callbacks within one second are then dropped too",
		set:   boolSetter(func(c *Config) *bool { return &c.ReplayFilter })},
	{env: "IMBRIDGE_REPLAY_CACHE_SIZE", flag: "replay-cache-size", def: strconv.Itoa(bridge.DefaultReplayCacheSize), meta: "N",
		usage: "replay filter: most callbacks remembered (about 100 bytes each); beyond it the oldest are forgotten early",
		set:   intSetter(1, func(c *Config) *int { return &c.ReplayCacheSize })},
	{env: "IMBRIDGE_BODY_LIMIT", flag: "body-limit", def: strconv.Itoa(httpapi.DefaultBodyLimit), meta: "BYTES",
		usage: "largest accepted callback body; larger ones are answered 413",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 {
				return errors.New("a number of bytes, at least 1024")
			}
			c.BodyLimit = n
			return nil
		}},
	{env: "IMBRIDGE_MAX_PAIRS", flag: "max-pairs", def: strconv.Itoa(bridge.DefaultMaxPairs), meta: "N",
		usage: "most PairList entries in one callback, and most events one webhook callback may give (members, messages, receipts); more are answered 413",
		set:   intSetter(1, func(c *Config) *int { return &c.MaxPairs })},
	{env: "IMBRIDGE_MAX_RECORD_BYTES", flag: "max-record-bytes", def: strconv.Itoa(bridge.DefaultMaxRecordBytes), meta: "BYTES",
		usage: "most bytes of records one callback may make, and at most 64 times its body; past it the callback makes no events and is kept whole in quarantine (413 with the quarantine off)",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 64<<10 {
				return errors.New("a number of bytes, at least 65536")
			}
			c.MaxRecordBytes = n
			return nil
		}},
	{env: "IMBRIDGE_MAX_IN_FLIGHT", flag: "max-in-flight", def: strconv.Itoa(httpapi.DefaultMaxInFlight), meta: "N",
		usage: "callbacks handled at once; beyond it a callback is answered 503 at once",
		set:   intSetter(1, func(c *Config) *int { return &c.MaxInFlight })},
	{env: "IMBRIDGE_MAX_IN_FLIGHT_BYTES", flag: "max-in-flight-bytes", def: strconv.Itoa(httpapi.DefaultMaxInFlightBytes), meta: "BYTES",
		usage: "bytes of callback bodies, and of the records they become, held at once (a body counted as the buffer it is read into: its Content-Length rounded up to a power of two, reserved as its bytes arrive from 64 KiB on, so that a slow sender holds only what it sent); a body beyond it is answered 503, records beyond it wait up to 1s for room, then 503",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1<<20 {
				return errors.New("a number of bytes, at least 1048576")
			}
			c.MaxInFlightBytes = n
			return nil
		}},
	{env: "IMBRIDGE_MAX_QUERY_BYTES", flag: "max-query-bytes", def: strconv.Itoa(httpapi.DefaultMaxQueryBytes), meta: "BYTES",
		usage: "longest callback query string; longer ones are answered 414",
		set:   intSetter(256, func(c *Config) *int { return &c.MaxQueryBytes })},
	{env: "IMBRIDGE_HTTP_MAX_HEADER_BYTES", flag: "http-max-header-bytes", def: "16384", meta: "BYTES",
		usage: "callback listener: most bytes of request line and headers; Go's HTTP server answers more with 431",
		set:   intSetter(4096, func(c *Config) *int { return &c.MaxHeaderBytes })},
	{env: "IMBRIDGE_KAFKA_BROKERS", flag: "kafka-brokers", meta: "HOST:PORT,...",
		usage: "comma-separated bootstrap brokers (required)",
		set: func(c *Config, v string) error {
			c.KafkaBrokers = nil
			for _, b := range strings.Split(v, ",") {
				if b = strings.TrimSpace(b); b == "" {
					continue
				}
				if i := strings.LastIndexByte(b, ':'); i <= 0 || i == len(b)-1 {
					return errors.New("host:port pairs separated by commas")
				}
				c.KafkaBrokers = append(c.KafkaBrokers, b)
			}
			return nil
		}},
	{env: "IMBRIDGE_KAFKA_TLS", flag: "kafka-tls", def: "false", meta: "BOOL",
		usage: "connect to the brokers with TLS (implied by any IMBRIDGE_KAFKA_TLS_* file or name)",
		set:   boolSetter(func(c *Config) *bool { return &c.Kafka.TLS })},
	{env: "IMBRIDGE_KAFKA_TLS_CA_FILE", flag: "kafka-tls-ca-file", meta: "FILE",
		usage: "PEM bundle of the CAs that sign the brokers' certificates (default: the system's)",
		set:   stringSetter(func(c *Config) *string { return &c.Kafka.CAFile })},
	{env: "IMBRIDGE_KAFKA_TLS_CERT_FILE", flag: "kafka-tls-cert-file", meta: "FILE",
		usage: "PEM client certificate, for brokers that require one",
		set:   stringSetter(func(c *Config) *string { return &c.Kafka.CertFile })},
	{env: "IMBRIDGE_KAFKA_TLS_KEY_FILE", flag: "kafka-tls-key-file", meta: "FILE",
		usage: "PEM key of the client certificate",
		set:   stringSetter(func(c *Config) *string { return &c.Kafka.KeyFile })},
	{env: "IMBRIDGE_KAFKA_TLS_SERVER_NAME", flag: "kafka-tls-server-name", meta: "NAME",
		usage: "name expected in the brokers' certificates (default: each broker's host)",
		set:   stringSetter(func(c *Config) *string { return &c.Kafka.ServerName })},
	{env: "IMBRIDGE_KAFKA_SASL_MECHANISM", flag: "kafka-sasl-mechanism", meta: "MECHANISM",
		usage: "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; unset: no SASL. PLAIN needs TLS (or IMBRIDGE_KAFKA_SASL_PLAIN_WITHOUT_TLS)",
		set: func(c *Config, v string) error {
			switch m := strings.ToUpper(v); m {
			case "", kafka.SASLPlain, kafka.SASLScramSHA256, kafka.SASLScramSHA512:
				c.Kafka.SASLMechanism = m
				return nil
			}
			return errors.New("PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
		}},
	{env: "IMBRIDGE_KAFKA_SASL_PLAIN_WITHOUT_TLS", flag: "kafka-sasl-plain-without-tls", def: "false", meta: "BOOL",
		usage: "allow SASL PLAIN over a connection without TLS, which sends the password in clear text: only for brokers on a network nobody else can read",
		set:   boolSetter(func(c *Config) *bool { return &c.Kafka.PlainWithoutTLS })},
	{env: "IMBRIDGE_KAFKA_SASL_USERNAME", flag: "kafka-sasl-username", meta: "NAME",
		usage: "SASL username",
		set:   stringSetter(func(c *Config) *string { return &c.Kafka.Username })},
	{env: "IMBRIDGE_KAFKA_SASL_PASSWORD", flag: "kafka-sasl-password", meta: "PASSWORD", secret: true,
		usage: "SASL password",
		set:   func(c *Config, v string) error { c.Kafka.Password = bridge.Secret(v); return nil }},
	{env: "IMBRIDGE_KAFKA_SASL_PASSWORD_FILE", flag: "kafka-sasl-password-file", meta: "FILE",
		usage: "file holding the SASL password; instead of IMBRIDGE_KAFKA_SASL_PASSWORD",
		set: fileSetter("IMBRIDGE_KAFKA_SASL_PASSWORD", func(c *Config) bool { return c.Kafka.Password != "" },
			func(c *Config, content string) error { c.Kafka.Password = bridge.Secret(content); return nil })},
}

// deliverySettings come after the routes in --help.
var deliverySettings = []setting{
	{env: "IMBRIDGE_DELIVERY", flag: "delivery", def: "spool", meta: "MODE",
		usage: "spool: answer once the events are fsync'd in the local spool, publish in the background; sync: answer once Kafka acknowledged them",
		set: func(c *Config, v string) error {
			if v != "spool" && v != "sync" {
				return errors.New("spool or sync")
			}
			c.Delivery = v
			return nil
		}},
	{env: "IMBRIDGE_SYNC_TIMEOUT", flag: "sync-timeout", def: shortDuration(bridge.DefaultSyncTimeout), meta: "DURATION",
		usage: "sync mode: how long a callback waits for Kafka's acknowledgement before it is answered 503 (Chat waits 2s)",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.SyncTimeout })},
	{env: "IMBRIDGE_SPOOL_DIR", flag: "spool-dir", def: "data/spool", meta: "DIR",
		usage: "spool mode: directory of the spool; keep it on a persistent volume",
		set: func(c *Config, v string) error {
			if v == "" {
				return errors.New("a directory")
			}
			c.SpoolDir = v
			return nil
		}},
	{env: "IMBRIDGE_SPOOL_MAX_BYTES", flag: "spool-max-bytes", def: "0", meta: "BYTES",
		usage: "spool mode: bytes on disk (compressed) the spool may hold for Kafka before callbacks get 503; 0: 80% of the size of the filesystem holding IMBRIDGE_SPOOL_DIR, read at start",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || (n != 0 && n < 4096) {
				return errors.New("0 or a number of bytes, at least 4096")
			}
			c.SpoolMaxBytes = n
			return nil
		}},
	{env: "IMBRIDGE_SPOOL_HIGH_WATER", flag: "spool-high-water", def: strconv.FormatFloat(spool.DefaultHighWater, 'g', -1, 64), meta: "FRACTION",
		usage: "spool mode: /readyz fails while the spool holds more than this fraction of IMBRIDGE_SPOOL_MAX_BYTES; 1: only while it is full (every replica fills at the same rate in a Kafka outage: a lower mark takes them all out of service at once)",
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f > 1 {
				return errors.New("a fraction above 0 and at most 1, such as 0.8")
			}
			c.SpoolHighWater = f
			return nil
		}},
	{env: "IMBRIDGE_DLQ_TOPIC", flag: "dlq-topic", meta: "TOPIC",
		usage: "spool mode: dead-letter topic for events Kafka refuses permanently (topic missing, too large); unset: such an event is kept and retried, and /readyz fails",
		set: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if err := checkTopic(v); err != nil {
				return err
			}
			c.DLQTopic = v
			return nil
		}},
	{env: "IMBRIDGE_DLQ_AFTER_ATTEMPTS", flag: "dlq-after-attempts", def: strconv.Itoa(spool.DefaultMaxAttempts), meta: "N",
		usage: "spool mode: permanent failures of an event before it goes to the dead-letter topic",
		set:   intSetter(1, func(c *Config) *int { return &c.DLQAfterAttempts })},
	{env: "IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX", flag: "kafka-retry-backoff-max", def: shortDuration(spool.DefaultBackoffMax), meta: "DURATION",
		usage: "spool mode: longest wait between attempts to publish (exponential from 100ms)",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.KafkaRetryBackoffMax })},
	{env: "IMBRIDGE_KAFKA_UNREACHABLE_AFTER", flag: "kafka-unreachable-after", def: shortDuration(spool.DefaultUnreachableAfter), meta: "DURATION",
		usage: "spool mode: once publishing has failed for this long, /readyz names Kafka under \"delivery\" (it stays 200: the spool takes callbacks) and imbridge_delivery_healthy is 0",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.KafkaUnreachableAfter })},
	{env: "IMBRIDGE_KAFKA_UNKNOWN_TOPIC_TIMEOUT", flag: "kafka-unknown-topic-timeout", def: shortDuration(kafka.DefaultUnknownTopicTimeout), meta: "DURATION",
		usage: "how long events for a topic Kafka reports unknown are retried (its metadata refreshed meanwhile) before they count as refused for good (spool mode: then the dead-letter topic after IMBRIDGE_DLQ_AFTER_ATTEMPTS; sync mode: 503 meanwhile either way)",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.KafkaUnknownTopic })},
	{env: "IMBRIDGE_DRAIN_TIMEOUT", flag: "drain-timeout", def: "20s", meta: "DURATION",
		usage: "spool mode: on shutdown, how long to keep publishing the spool; the rest stays on disk",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.DrainTimeout })},
	{env: "IMBRIDGE_SHUTDOWN_DELAY", flag: "shutdown-delay", def: "10s", meta: "DURATION",
		usage: "on SIGTERM, how long /readyz fails while callbacks are still served, so that load balancers stop sending here before the listener closes (SIGINT: no delay); 0: close at once",
		set: func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return errors.New("a duration such as 10s, or 0")
			}
			c.ShutdownDelay = d
			return nil
		}},
	{env: "IMBRIDGE_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", def: "10s", meta: "DURATION",
		usage: "how long shutdown waits for in-flight callbacks",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{env: "IMBRIDGE_TLS_CERT_FILE", flag: "tls-cert-file", meta: "FILE",
		usage: "PEM certificate (chain) of the callback listener; with IMBRIDGE_TLS_KEY_FILE it serves HTTPS, reloaded when the files change or on SIGHUP",
		set:   stringSetter(func(c *Config) *string { return &c.TLSCertFile })},
	{env: "IMBRIDGE_TLS_KEY_FILE", flag: "tls-key-file", meta: "FILE",
		usage: "PEM key of the callback listener's certificate",
		set:   stringSetter(func(c *Config) *string { return &c.TLSKeyFile })},
	{env: "IMBRIDGE_HTTP_READ_HEADER_TIMEOUT", flag: "http-read-header-timeout", def: "5s", meta: "DURATION",
		usage: "callback and admin listeners: time to read a request's headers",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.HTTPReadHeaderTimeout })},
	{env: "IMBRIDGE_HTTP_READ_TIMEOUT", flag: "http-read-timeout", def: "10s", meta: "DURATION",
		usage: "callback and admin listeners: time to read a whole request, body included",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.HTTPReadTimeout })},
	{env: "IMBRIDGE_HTTP_WRITE_TIMEOUT", flag: "http-write-timeout", def: "10s", meta: "DURATION",
		usage: "callback and admin listeners: time from the end of the request headers to the end of the answer; a callback still being handled then is abandoned, nothing published (the admin listener allows pprof's 30s profiles more)",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.HTTPWriteTimeout })},
	{env: "IMBRIDGE_HTTP_IDLE_TIMEOUT", flag: "http-idle-timeout", def: "120s", meta: "DURATION",
		usage: "callback and admin listeners: how long a kept-alive connection may wait for its next request",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.HTTPIdleTimeout })},
	{env: "IMBRIDGE_MEMORY_LIMIT", flag: "memory-limit", def: "0", meta: "BYTES",
		usage: "the container's memory limit in bytes (Kubernetes: limits.memory through the downward API); unless GOMEMLIMIT is set, the Go heap's soft limit is set to 90% of it, leaving room for what the Go runtime does not count; 0: not known, and the soft limit is 160 MiB",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || (n > 0 && n < 16<<20) {
				return errors.New("0 or a number of bytes, at least 16 MiB")
			}
			c.MemoryLimit = n
			return nil
		}},
	{env: "IMBRIDGE_PPROF", flag: "pprof", def: "false", meta: "BOOL",
		usage: "serve Go's profiles at /debug/pprof/ on the admin listener (not cmdline; CPU profiles and traces of at most 30s)",
		set:   boolSetter(func(c *Config) *bool { return &c.Pprof })},
	{env: "IMBRIDGE_LOG_LEVEL", flag: "log-level", def: "info", meta: "LEVEL",
		usage: "debug, info, warn or error",
		set: func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return errors.New("one of debug, info, warn, error")
		}},
	{env: "IMBRIDGE_LOG_FORMAT", flag: "log-format", def: "json", meta: "FORMAT",
		usage: "json or console",
		set: func(c *Config, v string) error {
			if v != "json" && v != "console" {
				return errors.New("json or console")
			}
			c.LogFormat = v
			return nil
		}},
}

// fileSetter reads a secret from the file named by the value; other is the variable
// holding the secret directly, which must not be set as well.
func fileSetter(other string, isSet func(*Config) bool, set func(c *Config, content string) error) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if isSet(c) {
			return fmt.Errorf("only one of %s and %s_FILE", other, other)
		}
		b, err := os.ReadFile(v)
		if err != nil {
			return fmt.Errorf("a readable file (%v)", errors.Unwrap(err))
		}
		content := strings.TrimSpace(string(b))
		if content == "" {
			return errors.New("a file that is not empty")
		}
		return set(c, content)
	}
}

func intSetter(least int, field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < least {
			return fmt.Errorf("a whole number, at least %d", least)
		}
		*field(c) = n
		return nil
	}
}

func stringSetter(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *field(c) = v; return nil }
}

func boolSetter(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("true or false")
		}
		*field(c) = b
		return nil
	}
}

func setTokens(c *Config, v string) error {
	c.CallbackTokens = nil
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t == "" {
			continue
		}
		if len(t) > 128 {
			return errors.New("tokens of 1 to 128 characters, separated by commas")
		}
		c.CallbackTokens = append(c.CallbackTokens, bridge.Secret(t))
	}
	return nil
}

func durationSetter(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("a positive duration such as 1.5s or 2m")
		}
		*field(c) = d
		return nil
	}
}

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// checkTopic reports whether v is a valid Kafka topic name.
func checkTopic(v string) error {
	if !topicName.MatchString(v) || v == "." || v == ".." {
		return errors.New("a Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -")
	}
	return nil
}

// loadConfig builds the configuration from defaults, the environment (lookup) and
// the command-line flags, in that order of precedence, and validates it. The error
// names the variable or flag, the value (never a secret's) and what is expected.
// flag.ErrHelp is returned after serve's help text was written to out.
func loadConfig(args []string, lookup func(string) (string, bool), out io.Writer) (Config, error) {
	return loadConfigFor("serve", args, lookup, out)
}

// loadConfigFor is loadConfig for command (serve or check), whose help --help prints.
func loadConfigFor(command string, args []string, lookup func(string) (string, bool), out io.Writer) (Config, error) {
	values := make([]string, len(settings))
	from := make([]string, len(settings))
	for i, s := range settings {
		values[i], from[i] = s.def, ""
		if v, ok := lookup(s.env); ok {
			values[i], from[i] = v, s.env
		}
	}
	fs := flag.NewFlagSet("imbridge "+command, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { commandUsage(command, out) }
	for i, s := range settings {
		fs.Func(s.flag, s.usage, func(v string) error {
			values[i], from[i] = v, "--"+s.flag
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%s takes no arguments, got %q", command, fs.Arg(0))
	}
	var c Config
	for i, s := range settings {
		if from[i] == "" && s.def == "" {
			continue
		}
		if err := s.set(&c, values[i]); err != nil {
			shown := strconv.Quote(values[i])
			if s.secret {
				shown = "<secret>"
			}
			return Config{}, fmt.Errorf("%s=%s: expected %v", from[i], shown, err)
		}
		if s.secret && strings.HasPrefix(from[i], "--") && values[i] != "" {
			c.SecretFlags = append(c.SecretFlags, from[i])
		}
	}
	for i, s := range settings {
		v := values[i]
		if s.secret && v != "" {
			v = "<secret>"
		}
		c.effective = append(c.effective, effectiveSetting{strings.ToLower(strings.TrimPrefix(s.env, "IMBRIDGE_")), v})
	}
	return c, c.Validate()
}

// placeholderTokens are the tokens imbridge's examples show; a deployment that kept
// one would accept callbacks signed by anyone who read the examples.
var placeholderTokens = []string{"dev-token", "replace-with-the-token-from-chats-console"}

// Warnings are what serve logs at WARN at every start: settings that weaken security,
// on purpose or not.
func (c *Config) Warnings() []string {
	var w []string
	if c.AllowUnsigned && len(c.CallbackTokens) == 0 {
		w = append(w, "IMBRIDGE_ALLOW_UNSIGNED=true and no token: callbacks are not authenticated, anyone who knows the SDKAppID can forge them")
	}
	if c.DevMode {
		w = append(w, "IMBRIDGE_DEV_MODE=true: the placeholder tokens of the examples are accepted; never use it outside one's own machine")
		if slices.ContainsFunc(c.CallbackTokens, func(t bridge.Secret) bool { return utf8.RuneCountInString(t.Reveal()) < MinTokenLength }) {
			w = append(w, fmt.Sprintf("IMBRIDGE_CALLBACK_TOKEN holds a token of fewer than %d characters: accepted in dev mode only", MinTokenLength))
		}
	}
	if c.Kafka.SASLMechanism == kafka.SASLPlain && !c.Kafka.UsesTLS() {
		w = append(w, "IMBRIDGE_KAFKA_SASL_PLAIN_WITHOUT_TLS=true: the Kafka password crosses the network in clear text")
	}
	for _, f := range c.SecretFlags {
		w = append(w, f+" puts a secret in the process's arguments, which every user of the machine can read: use the variable or its _FILE variant")
	}
	return w
}

// replayWindow is how long the replay filter remembers a callback: a RequestTime
// verifies from skew before it to skew after it. Zero: the filter is off.
func (c *Config) replayWindow() time.Duration {
	if !c.ReplayFilter {
		return 0
	}
	return 2 * c.SignMaxSkew
}

// adminWriteTimeout is the admin listener's write timeout: the callback listener's,
// raised above the longest profile when pprof is on.
func (c *Config) adminWriteTimeout() time.Duration {
	if c.Pprof {
		return max(c.HTTPWriteTimeout, httpapi.MaxProfileDuration+5*time.Second)
	}
	return c.HTTPWriteTimeout
}

// Validate checks what no single setting can: required settings and combinations.
func (c *Config) Validate() error {
	switch {
	case c.SDKAppID == 0:
		return errors.New("IMBRIDGE_SDKAPPID is required: set it to the SDKAppID shown in Chat's console")
	case len(c.KafkaBrokers) == 0:
		return errors.New("IMBRIDGE_KAFKA_BROKERS is required: set it to the bootstrap brokers as host:port pairs separated by commas")
	case len(c.CallbackTokens) == 0 && !c.AllowUnsigned:
		return errors.New("no callback token: set IMBRIDGE_CALLBACK_TOKEN (or IMBRIDGE_CALLBACK_TOKEN_FILE) to the token " +
			"of callback authentication in Chat's console, or set IMBRIDGE_ALLOW_UNSIGNED=true to accept unsigned callbacks, " +
			"which anyone who knows the SDKAppID can forge")
	case !c.DevMode && slices.ContainsFunc(c.CallbackTokens, func(t bridge.Secret) bool { return slices.Contains(placeholderTokens, t.Reveal()) }):
		return errors.New("IMBRIDGE_CALLBACK_TOKEN holds a placeholder from imbridge's examples, which anyone can read: set the token " +
			"from Chat's console, or IMBRIDGE_DEV_MODE=true to try imbridge out on your own machine")
	case !c.DevMode && slices.ContainsFunc(c.CallbackTokens, func(t bridge.Secret) bool { return utf8.RuneCountInString(t.Reveal()) < MinTokenLength }):
		return fmt.Errorf("IMBRIDGE_CALLBACK_TOKEN holds a token of fewer than %d characters, which one captured callback URL lets anyone find offline "+
			"(Sign is a plain SHA-256 of the token and RequestTime): set a longer one in Chat's console and here, or IMBRIDGE_DEV_MODE=true to try imbridge out on your own machine", MinTokenLength)
	case c.MaxInFlightBytes < c.BodyLimit:
		return fmt.Errorf("IMBRIDGE_MAX_IN_FLIGHT_BYTES=%d: expected at least IMBRIDGE_BODY_LIMIT (%d), or no body of that size is ever accepted", c.MaxInFlightBytes, c.BodyLimit)
	case !strings.HasPrefix(c.CallbackPath, "/"):
		return fmt.Errorf("IMBRIDGE_CALLBACK_PATH=%q: expected a path starting with /", c.CallbackPath)
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return errors.New("IMBRIDGE_TLS_CERT_FILE and IMBRIDGE_TLS_KEY_FILE go together: set both to serve HTTPS, or neither")
	case c.Kafka.SASLMechanism != "" && (c.Kafka.Username == "" || c.Kafka.Password == ""):
		return fmt.Errorf("IMBRIDGE_KAFKA_SASL_MECHANISM=%s needs IMBRIDGE_KAFKA_SASL_USERNAME and IMBRIDGE_KAFKA_SASL_PASSWORD (or _FILE)", c.Kafka.SASLMechanism)
	case errors.Is(c.Kafka.Validate(), kafka.ErrPlainWithoutTLS):
		return errors.New("IMBRIDGE_KAFKA_SASL_MECHANISM=PLAIN without TLS would send the Kafka password in clear text: turn on IMBRIDGE_KAFKA_TLS, " +
			"use SCRAM-SHA-512, or set IMBRIDGE_KAFKA_SASL_PLAIN_WITHOUT_TLS=true for brokers on a network nobody else can read")
	case (c.Kafka.CertFile == "") != (c.Kafka.KeyFile == ""):
		return errors.New("IMBRIDGE_KAFKA_TLS_CERT_FILE and IMBRIDGE_KAFKA_TLS_KEY_FILE go together")
	case c.DLQTopic != "" && slices.ContainsFunc(c.routes(), func(r bridge.Route) bool { return r.Topic == c.DLQTopic }):
		return fmt.Errorf("IMBRIDGE_DLQ_TOPIC=%q: expected a topic other than the events' own", c.DLQTopic)
	case c.UnroutedTopic != "" && slices.ContainsFunc(c.routes(), func(r bridge.Route) bool { return r.Command != "" && r.Topic == c.UnroutedTopic }):
		return fmt.Errorf("IMBRIDGE_TOPIC_UNROUTED=%q: expected a topic of its own, not a route's: its consumers would read callbacks as events", c.UnroutedTopic)
	case c.QuarantineTopic != "" && (c.QuarantineTopic == c.DLQTopic || slices.ContainsFunc(c.routes(), func(r bridge.Route) bool { return r.Topic == c.QuarantineTopic })):
		return fmt.Errorf("IMBRIDGE_TOPIC_QUARANTINE=%q: expected a topic of its own, not a route's, the unrouted or the DLQ topic: its records are raw bodies, not events", c.QuarantineTopic)
	case c.SyncTimeout >= 2*time.Second:
		return fmt.Errorf("IMBRIDGE_SYNC_TIMEOUT=%s: expected less than 2s, the time Chat waits for an answer", c.SyncTimeout)
	}
	return nil
}

// commandUsage prints the help of serve or check: what it does, then every setting.
func commandUsage(command string, out io.Writer) {
	switch command {
	case "check":
		fmt.Fprint(out, `Usage: imbridge check [flags]

Validates the settings and checks Kafka as serve would use it: the brokers answer, and
the topic of every switched-on route (and the DLQ topic) exists, every partition has a
leader and enough in-sync replicas for acks=all. One line per check: ok, WARN (passed,
needs attention) or FAIL; the exit status is 1 when any failed. It takes serve's
settings: every flag can also be set by the environment variable named beside it; a
flag wins over the variable.

`)
	default:
		fmt.Fprint(out, `Usage: imbridge serve [flags]

Runs the callback endpoint for Tencent Cloud Chat's relationship-chain callbacks and
publishes one Kafka event per From/To pair. Every flag can also be set by the
environment variable named beside it; a flag wins over the variable.

`)
	}
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = fmt.Sprintf(" (default %q)", s.def)
		}
		fmt.Fprintf(out, "  --%s %s\n      %s%s\n      %s\n", s.flag, s.meta, s.env, def, s.usage)
	}
}
