package main

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap/zapcore"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/httpapi"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/tracing"
)

// Config is the effective configuration of `imbridge serve`: defaults, then the
// environment, then flags, then Validate. Each field is documented, with its default,
// by the setting that fills it (see settings, or `imbridge serve --help`). It logs
// itself without secrets (MarshalLogObject).
type Config struct {
	// Tracing is what the standard OTEL_* variables say about traces (off unless they
	// ask for them); the OpenTelemetry SDK reads the rest of them itself.
	Tracing tracing.Settings

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
		return errors.New(errNoBrokers)
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
	case c.SyncTimeout >= 2*time.Second:
		return fmt.Errorf("IMBRIDGE_SYNC_TIMEOUT=%s: expected less than 2s, the time Chat waits for an answer", c.SyncTimeout)
	}
	if errs := c.kafkaProblems(); len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// errNoBrokers says that IMBRIDGE_KAFKA_BROKERS is missing.
const errNoBrokers = "IMBRIDGE_KAFKA_BROKERS is required: set it to the bootstrap brokers as host:port pairs separated by commas"

// kafkaProblems returns every problem of the settings that say how to reach Kafka and
// where to publish (the brokers, security and topics), the ones imbridge check takes.
func (c *Config) kafkaProblems() []error {
	var errs []error
	add := func(ok bool, err error) {
		if !ok {
			errs = append(errs, err)
		}
	}
	add(len(c.KafkaBrokers) > 0, errors.New(errNoBrokers))
	add(c.Kafka.SASLMechanism == "" || (c.Kafka.Username != "" && c.Kafka.Password != ""),
		fmt.Errorf("IMBRIDGE_KAFKA_SASL_MECHANISM=%s needs IMBRIDGE_KAFKA_SASL_USERNAME and IMBRIDGE_KAFKA_SASL_PASSWORD (or _FILE)", c.Kafka.SASLMechanism))
	add(!errors.Is(c.Kafka.Validate(), kafka.ErrPlainWithoutTLS),
		errors.New("IMBRIDGE_KAFKA_SASL_MECHANISM=PLAIN without TLS would send the Kafka password in clear text: turn on IMBRIDGE_KAFKA_TLS, "+
			"use SCRAM-SHA-512, or set IMBRIDGE_KAFKA_SASL_PLAIN_WITHOUT_TLS=true for brokers on a network nobody else can read"))
	add((c.Kafka.CertFile == "") == (c.Kafka.KeyFile == ""), errors.New("IMBRIDGE_KAFKA_TLS_CERT_FILE and IMBRIDGE_KAFKA_TLS_KEY_FILE go together"))
	add(c.DLQTopic == "" || !slices.ContainsFunc(c.routes(), func(r bridge.Route) bool { return r.Topic == c.DLQTopic }),
		fmt.Errorf("IMBRIDGE_DLQ_TOPIC=%q: expected a topic other than the events' own", c.DLQTopic))
	add(c.UnroutedTopic == "" || !slices.ContainsFunc(c.routes(), func(r bridge.Route) bool { return r.Command != "" && r.Topic == c.UnroutedTopic }),
		fmt.Errorf("IMBRIDGE_TOPIC_UNROUTED=%q: expected a topic of its own, not a route's: its consumers would read callbacks as events", c.UnroutedTopic))
	add(c.QuarantineTopic == "" || (c.QuarantineTopic != c.DLQTopic && !slices.ContainsFunc(c.routes(), func(r bridge.Route) bool { return r.Topic == c.QuarantineTopic })),
		fmt.Errorf("IMBRIDGE_TOPIC_QUARANTINE=%q: expected a topic of its own, not a route's, the unrouted or the DLQ topic: its records are raw bodies, not events", c.QuarantineTopic))
	return errs
}
