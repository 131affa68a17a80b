// The settings --help shows before the routes: listeners, authentication, limits, Kafka.

package main

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/httpapi"
	"github.com/imbridge/imbridge/bridge/kafka"
)

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
		usage: "bytes of callback bodies held at once, and apart from them, of the records they become (a body counted as the buffer it is read into: its Content-Length rounded up to a power of two, reserved as its bytes arrive from 64 KiB on, so that a slow sender holds only what it sent); a verified callback waits up to 1s for room for its body, then gets 503, and up to 1s for room for its records, then is quarantined (503 with the quarantine off)",
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
