// The settings --help shows after the routes: delivery, spool, shutdown, HTTP, logs.

package main

import (
	"errors"
	"strconv"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/spool"
)

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
		usage: "spool mode: dead-letter topic for events Kafka refuses permanently (topic missing, too large); unset: such an event is kept and retried, holding back the events behind it on its partition; /readyz stays 200 and names it under delivery",
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
		usage: "callback and admin listeners: time from the end of the request headers to the end of the answer; a callback read and verified is still delivered or quarantined after it, its answer unseen (the admin listener allows pprof's 30s profiles more)",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.HTTPWriteTimeout })},
	{env: "IMBRIDGE_HTTP_IDLE_TIMEOUT", flag: "http-idle-timeout", def: "120s", meta: "DURATION",
		usage: "callback and admin listeners: how long a kept-alive connection may wait for its next request",
		set:   durationSetter(func(c *Config) *time.Duration { return &c.HTTPIdleTimeout })},
	{env: "IMBRIDGE_MEMORY_LIMIT", flag: "memory-limit", def: "0", meta: "BYTES",
		usage: "the container's memory limit in bytes (Kubernetes: limits.memory through the downward API); unless GOMEMLIMIT is set, the Go heap's soft limit is set to 90% of it, leaving room for what the Go runtime does not count; 0: not known, and the soft limit is 100 MiB",
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
