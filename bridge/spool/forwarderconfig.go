package spool

import (
	"time"
)

// ForwarderConfig configures a Forwarder. Zero values take the defaults.
type ForwarderConfig struct {
	// DeadLetterTopic receives an event that failed permanently MaxAttempts times, with
	// the reason in a header. Empty (the default) means no dead-letter topic: the event
	// is retried at the longest backoff, blocking the events behind it, and Health
	// reports it so that readiness fails.
	DeadLetterTopic string
	// MaxAttempts is how many permanent failures (missing topic, message too large) an
	// event gets before it is dead-lettered. Retryable errors are retried forever.
	// Default DefaultMaxAttempts (5).
	MaxAttempts int
	// MaxEvents and MaxBytes bound one window of records published together (MaxBytes
	// against each record's exact bridge.Record.Size). Order does not depend on them: the
	// publisher sends a window in chunks, a chunk only after the earlier ones
	// succeeded. Defaults 1000 and 512 KiB.
	MaxEvents int
	MaxBytes  int
	// BackoffMin and BackoffMax bound the capped exponential backoff between attempts.
	// Defaults 100ms and DefaultBackoffMax (10s).
	BackoffMin, BackoffMax time.Duration
	// PublishTimeout bounds one Publish call. Default 30s.
	PublishTimeout time.Duration
	// UnreachableAfter is how long publishing may fail before Health reports Kafka as
	// unreachable. Default 5m.
	UnreachableAfter time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Defaults of ForwarderConfig.
const (
	DefaultMaxAttempts      = 5
	DefaultBackoffMax       = 10 * time.Second
	DefaultUnreachableAfter = 5 * time.Minute
)

func (c *ForwarderConfig) setDefaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.MaxEvents <= 0 {
		c.MaxEvents = 1000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 512 << 10
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = 30 * time.Second
	}
	if c.UnreachableAfter <= 0 {
		c.UnreachableAfter = DefaultUnreachableAfter
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}
