package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Envelope is what every event of the webhook routes beyond the relationship chain
// carries besides its own fields: the same members as Pair without the accounts.
type Envelope struct {
	EventID         string    `json:"eventId"`
	SDKAppID        uint64    `json:"sdkAppId"`
	CallbackCommand string    `json:"callbackCommand"`
	ReceivedAt      time.Time `json:"receivedAt"`
	ClientIP        string    `json:"clientIp,omitempty"`
	OptPlatform     string    `json:"optPlatform,omitempty"`
	RequestTime     int64     `json:"requestTime,omitempty"`
	EventTime       int64     `json:"eventTime,omitempty"`
	// Version orders one subject's events across imbridge replicas, as Pair.Version
	// does for a relationship; compare it with Newer (after ClampVersion).
	Version int64 `json:"version,omitempty"`
	// VersionClamped is as Pair.VersionClamped.
	VersionClamped bool `json:"versionClamped,omitempty"`
	// Extra is the members of the callback's body that the event does not name, as
	// Chat sent them, in one object: a field Chat adds arrives here before imbridge
	// names it, and so does a named member sent in a form the event leaves out ("",
	// null, an empty list, a string with an escaped lone surrogate). Nil when none.
	Extra json.RawMessage `json:"extra,omitempty"`
	// EntryExtra is as Extra for the list entry an event made per entry is about.
	EntryExtra json.RawMessage `json:"entryExtra,omitempty"`
}

func (e *Envelope) envelope() *Envelope { return e }

// webhookEvent is implemented by the webhook routes' event types: their envelope, and
// the key their record must carry.
type webhookEvent interface {
	envelope() *Envelope
	key() string
}

// TypeUnrouted is the type of a callback without a route, published when imbridge's
// unrouted topic is configured.
const TypeUnrouted = "imbridge.unrouted.v1"

// Unrouted is a verified callback whose command has no route: the body as Chat sent
// it. Its record's key is the command.
type Unrouted struct {
	Envelope
	Body json.RawMessage `json:"body"`
}

func (e *Unrouted) key() string { return e.CallbackCommand }

// webhookTypes lists the constructors of the webhook event types, by ce_type; each
// area's file adds its own table.
var webhookTypes = []map[string]func() webhookEvent{
	{TypeUnrouted: func() webhookEvent { return &Unrouted{} }},
	c2cTypes, groupTypes, communityTypes, userTypes, officialTypes, opsTypes, callTypes, pushTypes, moderationTypes,
}

func newWebhookEvent(typ string) (webhookEvent, bool) {
	for _, m := range webhookTypes {
		if f, ok := m[typ]; ok {
			return f(), true
		}
	}
	return nil, false
}

// decodeWebhook is Decode for the webhook event types.
func decodeWebhook(ev webhookEvent, key, value []byte, h map[string]string) (any, error) {
	if err := json.Unmarshal(value, ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedRecord, err)
	}
	env := ev.envelope()
	switch {
	case env.EventID == "":
		return nil, fmt.Errorf("%w: eventId is required", ErrMalformedRecord)
	case h["ce_id"] != env.EventID:
		return nil, fmt.Errorf("%w: ce_id %q, eventId %q", ErrInconsistent, h["ce_id"], env.EventID)
	case string(key) != ev.key():
		return nil, fmt.Errorf("%w: key %q, want %q", ErrInconsistent, key, ev.key())
	}
	if env.Version == 0 {
		p := Pair{EventTime: env.EventTime, RequestTime: env.RequestTime, ReceivedAt: env.ReceivedAt}
		env.Version = p.version()
	}
	if hv, ok := h[HeaderVersion]; ok && hv != strconv.FormatInt(env.Version, 10) {
		return nil, fmt.Errorf("%w: %s %q, version %d", ErrInconsistent, HeaderVersion, hv, env.Version)
	}
	return ev, nil
}
