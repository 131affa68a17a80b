package bridge

import (
	"context"
	"time"
)

// Event is one subject of a callback (a From/To pair, a group member, a message...),
// as a consumer sees it: its JSON value is the envelope with the subject's members; Topic, Key and the CloudEvents attributes become the Kafka message's
// topic, key and ce_* headers.
type Event struct {
	// Topic is the Kafka topic the event is published to.
	Topic string `json:"-"`
	// Type is the CloudEvents type (header ce_type).
	Type string `json:"-"`
	// Source is the CloudEvents source (header ce_source): "urn:tencent-im:sdkappid:<SDKAppID>".
	Source string `json:"-"`
	// Time is the CloudEvents time (header ce_time): EventTime when the callback
	// carried one, else ReceivedAt.
	Time time.Time `json:"-"`

	// ID is deterministic: see EventID.
	ID              string `json:"eventId"`
	SDKAppID        uint64 `json:"sdkAppId"`
	CallbackCommand string `json:"callbackCommand"`
	// ReceivedAt is RFC 3339 UTC with milliseconds, when imbridge received the callback.
	ReceivedAt  string `json:"receivedAt"`
	ClientIP    string `json:"clientIp,omitempty"`
	OptPlatform string `json:"optPlatform,omitempty"`
	// RequestTime is the callback's RequestTime (Unix seconds), when it was signed.
	RequestTime int64 `json:"requestTime,omitempty"`
	// EventTime is the callback body's EventTime (Unix milliseconds), when present.
	EventTime int64 `json:"eventTime,omitempty"`
	// Subject is what the route read from the body: the message key and the route's
	// own members of the JSON value.
	Subject Subject `json:"-"`

	// VersionMs, when not 0, is the version a Versioner gave the event (Version returns
	// it); VersionClamped says that the callback's EventTime was too far ahead of the
	// request's time to set it.
	VersionMs      int64 `json:"-"`
	VersionClamped bool  `json:"-"`

	// Raw, when not nil, is the record's value as it is, in CloudEvents' binary mode:
	// no JSON value is written, ContentType is the content-type header, Headers are
	// added to the record's, and the key is Subject.Key. Only a quarantined callback
	// (QuarantineEvent) has one.
	Raw         []byte   `json:"-"`
	ContentType string   `json:"-"`
	Headers     []Header `json:"-"`
}

// Key returns the Kafka message key, the subject's key, as UTF-8 bytes.
func (e *Event) Key() []byte { return []byte(e.Subject.Key) }

func (e *Event) key() string { return e.Subject.Key }

// Version orders the changes of one subject (a relationship's pair, a group...) across
// imbridge replicas, which publish to one partition in an order nobody controls. It is
// VersionMs when a Versioner gave one (the serving path always does: see Versioner for
// the rule), else Unix milliseconds derived from the best clock the callback offers:
//   - EventTime, when the body carries it: Chat's clock at the moment of the change;
//   - else RequestTime × 1000, for a signed callback: Chat's clock when it sent the
//     callback, to the second;
//   - else ReceivedAt: the clock of the replica that received the callback.
//
// It is derived from fields the spool stores, so a replayed event keeps its version.
// It is 0 only for an event that has none of the three (not one that Map produced).
// Consumers compare it with events.Newer, which states the tie rule.
func (e *Event) Version() int64 {
	switch {
	case e.VersionMs > 0:
		return e.VersionMs
	case e.EventTime > 0:
		return e.EventTime
	case e.RequestTime > 0:
		return e.RequestTime * 1000
	case !e.Time.IsZero():
		// Without EventTime, Map sets Time to the receiving replica's clock.
		return e.Time.UnixMilli()
	}
	return 0
}

// Delivery makes a callback's events safe. Both delivery modes implement it, and the
// HTTP handler never knows which one it talks to.
type Delivery interface {
	// Accept makes all of events safe or returns an error: when it returns nil, every
	// event is acknowledged by Kafka (sync mode) or durably stored (spool mode). On
	// error some events may already be published; their deterministic IDs make a
	// redelivery harmless. Errors that mean "try again later" are KindUnavailable.
	// Accept is safe for concurrent use and keeps the order of events with one key
	// within one call.
	Accept(ctx context.Context, events []Event) error
	// Ready returns nil when the delivery can accept events now, or an error that says
	// why not (for /readyz).
	Ready(ctx context.Context) error
}
