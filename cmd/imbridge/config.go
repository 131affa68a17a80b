package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"

	"github.com/imbridge/imbridge/bridge"
)

// Config is the effective configuration of `imbridge serve`: defaults, then the
// environment, then flags, then Validate. Its JSON form (logged at start-up) redacts
// every secret.
type Config struct {
	Listen                string          `json:"listen"`
	CallbackPath          string          `json:"callbackPath"`
	AdminListen           string          `json:"adminListen"`
	SDKAppID              uint64          `json:"sdkAppId"`
	CallbackTokens        []bridge.Secret `json:"callbackTokens"`
	AllowUnsigned         bool            `json:"allowUnsigned"`
	SignMaxSkew           time.Duration   `json:"signMaxSkew"`
	BodyLimit             int64           `json:"bodyLimit"`
	KafkaBrokers          []string        `json:"kafkaBrokers"`
	TopicBlocklistDelete  string          `json:"topicBlocklistDelete"`
	Delivery              string          `json:"delivery"`
	SyncTimeout           time.Duration   `json:"syncTimeout"`
	SpoolDir              string          `json:"spoolDir"`
	SpoolMaxBytes         int64           `json:"spoolMaxBytes"`
	SpoolHighWater        float64         `json:"spoolHighWater"`
	DLQTopic              string          `json:"dlqTopic"`
	DLQAfterAttempts      int             `json:"dlqAfterAttempts"`
	KafkaRetryBackoffMax  time.Duration   `json:"kafkaRetryBackoffMax"`
	KafkaUnreachableAfter time.Duration   `json:"kafkaUnreachableAfter"`
	DrainTimeout          time.Duration   `json:"drainTimeout"`
	ShutdownTimeout       time.Duration   `json:"shutdownTimeout"`
	LogLevel              string          `json:"logLevel"`
	LogFormat             string          `json:"logFormat"`
}

// MarshalLogObject implements zapcore.ObjectMarshaler for the start-up log line:
// durations as text, tokens as <secret>.
func (c Config) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("listen", c.Listen)
	enc.AddString("callback_path", c.CallbackPath)
	enc.AddString("admin_listen", c.AdminListen)
	enc.AddUint64("sdkappid", c.SDKAppID)
	enc.AddInt("callback_tokens", len(c.CallbackTokens))
	enc.AddBool("allow_unsigned", c.AllowUnsigned)
	enc.AddString("sign_max_skew", c.SignMaxSkew.String())
	enc.AddInt64("body_limit", c.BodyLimit)
	enc.AddString("kafka_brokers", strings.Join(c.KafkaBrokers, ","))
	enc.AddString("topic_blocklist_delete", c.TopicBlocklistDelete)
	enc.AddString("delivery", c.Delivery)
	enc.AddString("sync_timeout", c.SyncTimeout.String())
	enc.AddString("spool_dir", c.SpoolDir)
	enc.AddInt64("spool_max_bytes", c.SpoolMaxBytes)
	enc.AddFloat64("spool_high_water", c.SpoolHighWater)
	enc.AddString("dlq_topic", c.DLQTopic)
	enc.AddInt("dlq_after_attempts", c.DLQAfterAttempts)
	enc.AddString("kafka_retry_backoff_max", c.KafkaRetryBackoffMax.String())
	enc.AddString("kafka_unreachable_after", c.KafkaUnreachableAfter.String())
	enc.AddString("drain_timeout", c.DrainTimeout.String())
	enc.AddString("shutdown_timeout", c.ShutdownTimeout.String())
	enc.AddString("log_level", c.LogLevel)
	enc.AddString("log_format", c.LogFormat)
	return nil
}

// setting is one configuration knob: an environment variable, the flag of the same
// meaning, its default, and how a value is stored into Config.
type setting struct {
	env, flag, def, meta, usage string
	secret                      bool
	set                         func(c *Config, v string) error
}

// settings lists every knob of `imbridge serve`, in the order --help shows them.
var settings = []setting{
	{env: "IMBRIDGE_LISTEN", flag: "listen", def: ":8080", meta: "ADDR",
		usage: "callback listener address",
		set:   func(c *Config, v string) error { c.Listen = v; return nil }},
	{env: "IMBRIDGE_CALLBACK_PATH", flag: "callback-path", def: "/callback", meta: "PATH",
		usage: "URL path the callback URL in Chat's console points at",
		set:   func(c *Config, v string) error { c.CallbackPath = v; return nil }},
	{env: "IMBRIDGE_ADMIN_LISTEN", flag: "admin-listen", def: ":9090", meta: "ADDR",
		usage: "address of /healthz and /readyz",
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
		usage: "callback-authentication token(s), comma-separated so that old and new verify during a rotation",
		set:   setTokens},
	{env: "IMBRIDGE_CALLBACK_TOKEN_FILE", flag: "callback-token-file", meta: "FILE",
		usage: "file holding the token(s), comma- or newline-separated; instead of IMBRIDGE_CALLBACK_TOKEN",
		set: func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			if len(c.CallbackTokens) > 0 {
				return errors.New("only one of IMBRIDGE_CALLBACK_TOKEN and IMBRIDGE_CALLBACK_TOKEN_FILE")
			}
			b, err := os.ReadFile(v)
			if err != nil {
				return fmt.Errorf("a readable file (%v)", errors.Unwrap(err))
			}
			return setTokens(c, strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", ","))
		}},
	{env: "IMBRIDGE_ALLOW_UNSIGNED", flag: "allow-unsigned", def: "false", meta: "BOOL",
		usage: "accept callbacks without Sign when no token is set (only SdkAppid is checked then)",
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(v)
			if err != nil {
				return errors.New("true or false")
			}
			c.AllowUnsigned = b
			return nil
		}},
	{env: "IMBRIDGE_SIGN_MAX_SKEW", flag: "sign-max-skew", def: "60s", meta: "DURATION",
		usage: "largest accepted distance between RequestTime and now",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.SignMaxSkew })},
	{env: "IMBRIDGE_BODY_LIMIT", flag: "body-limit", def: "1048576", meta: "BYTES",
		usage: "largest accepted callback body; larger ones are answered 413",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1024 {
				return errors.New("a number of bytes, at least 1024")
			}
			c.BodyLimit = n
			return nil
		}},
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
	{env: "IMBRIDGE_TOPIC_BLOCKLIST_DELETE", flag: "topic-blocklist-delete", def: bridge.DefaultRoutes[0].Topic, meta: "TOPIC",
		usage: "topic for Sns.CallbackBlackListDelete events",
		set:   topicSetter(func(c *Config) *string { return &c.TopicBlocklistDelete })},
	{env: "IMBRIDGE_DELIVERY", flag: "delivery", def: "spool", meta: "MODE",
		usage: "spool: answer once the events are fsync'd in the local spool, publish in the background; sync: answer once Kafka acknowledged them",
		set: func(c *Config, v string) error {
			if v != "spool" && v != "sync" {
				return errors.New("spool or sync")
			}
			c.Delivery = v
			return nil
		}},
	{env: "IMBRIDGE_SYNC_TIMEOUT", flag: "sync-timeout", def: "1.5s", meta: "DURATION",
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
	{env: "IMBRIDGE_SPOOL_MAX_BYTES", flag: "spool-max-bytes", def: "1073741824", meta: "BYTES",
		usage: "spool mode: most bytes of events waiting for Kafka; beyond it callbacks are answered 503",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 4096 {
				return errors.New("a number of bytes, at least 4096")
			}
			c.SpoolMaxBytes = n
			return nil
		}},
	{env: "IMBRIDGE_SPOOL_HIGH_WATER", flag: "spool-high-water", def: "0.8", meta: "FRACTION",
		usage: "spool mode: /readyz fails while the spool holds more than this fraction of IMBRIDGE_SPOOL_MAX_BYTES",
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
			return topicSetter(func(c *Config) *string { return &c.DLQTopic })(c, v)
		}},
	{env: "IMBRIDGE_DLQ_AFTER_ATTEMPTS", flag: "dlq-after-attempts", def: "5", meta: "N",
		usage: "spool mode: permanent failures of an event before it goes to the dead-letter topic",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return errors.New("a whole number, at least 1")
			}
			c.DLQAfterAttempts = n
			return nil
		}},
	{env: "IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX", flag: "kafka-retry-backoff-max", def: "10s", meta: "DURATION",
		usage: "spool mode: longest wait between attempts to publish (exponential from 100ms)",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.KafkaRetryBackoffMax })},
	{env: "IMBRIDGE_KAFKA_UNREACHABLE_AFTER", flag: "kafka-unreachable-after", def: "5m", meta: "DURATION",
		usage: "spool mode: /readyz fails once publishing has failed for this long",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.KafkaUnreachableAfter })},
	{env: "IMBRIDGE_DRAIN_TIMEOUT", flag: "drain-timeout", def: "20s", meta: "DURATION",
		usage: "spool mode: on shutdown, how long to keep publishing the spool; the rest stays on disk",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.DrainTimeout })},
	{env: "IMBRIDGE_SHUTDOWN_TIMEOUT", flag: "shutdown-timeout", def: "10s", meta: "DURATION",
		usage: "how long shutdown waits for in-flight callbacks",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
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

func topicSetter(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if !topicName.MatchString(v) || v == "." || v == ".." {
			return errors.New("a Kafka topic name: 1 to 249 of a-z A-Z 0-9 . _ -")
		}
		*field(c) = v
		return nil
	}
}

// loadConfig builds the configuration from defaults, the environment (lookup) and
// the command-line flags, in that order of precedence, and validates it. The error
// names the variable or flag, the value (never a secret's) and what is expected.
// flag.ErrHelp is returned after the help text was written to out.
func loadConfig(args []string, lookup func(string) (string, bool), out io.Writer) (Config, error) {
	values := make([]string, len(settings))
	from := make([]string, len(settings))
	for i, s := range settings {
		values[i], from[i] = s.def, ""
		if v, ok := lookup(s.env); ok {
			values[i], from[i] = v, s.env
		}
	}
	fs := flag.NewFlagSet("imbridge serve", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { serveUsage(out) }
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
		return Config{}, fmt.Errorf("serve takes no arguments, got %q", fs.Arg(0))
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
	}
	return c, c.Validate()
}

// Validate checks what no single setting can: required settings and combinations.
func (c *Config) Validate() error {
	switch {
	case c.SDKAppID == 0:
		return errors.New("IMBRIDGE_SDKAPPID is required: set it to the SDKAppID shown in Chat's console")
	case len(c.KafkaBrokers) == 0:
		return errors.New("IMBRIDGE_KAFKA_BROKERS is required: set it to the bootstrap brokers, host:port,...")
	case len(c.CallbackTokens) == 0 && !c.AllowUnsigned:
		return errors.New("no callback token: set IMBRIDGE_CALLBACK_TOKEN (or IMBRIDGE_CALLBACK_TOKEN_FILE) to the token " +
			"of callback authentication in Chat's console, or set IMBRIDGE_ALLOW_UNSIGNED=true to accept unsigned callbacks, " +
			"which anyone who knows the SDKAppID can forge")
	case !strings.HasPrefix(c.CallbackPath, "/"):
		return fmt.Errorf("IMBRIDGE_CALLBACK_PATH=%q: expected a path starting with /", c.CallbackPath)
	case c.DLQTopic != "" && c.DLQTopic == c.TopicBlocklistDelete:
		return fmt.Errorf("IMBRIDGE_DLQ_TOPIC=%q: expected a topic other than the events' own", c.DLQTopic)
	case c.SyncTimeout >= 2*time.Second:
		return fmt.Errorf("IMBRIDGE_SYNC_TIMEOUT=%s: expected less than 2s, the time Chat waits for an answer", c.SyncTimeout)
	}
	return nil
}

func serveUsage(out io.Writer) {
	fmt.Fprint(out, `Usage: imbridge serve [flags]

Runs the callback endpoint for Tencent Cloud Chat's Sns.CallbackBlackListDelete and
publishes one Kafka event per From/To pair. Every flag can also be set by the
environment variable named beside it; a flag wins over the variable.

`)
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = fmt.Sprintf(" (default %q)", s.def)
		}
		fmt.Fprintf(out, "  --%s %s\n      %s%s\n      %s\n", s.flag, s.meta, s.env, def, s.usage)
	}
}
