// Package events is for downstream services that consume imbridge's topics: typed
// events, Decode to turn a Kafka record (key, value, headers) into one with precise
// errors, Newer to order one subject's changes across imbridge replicas (SubjectOf
// says per what each event type is compared), and
// Deduper to drop the redeliveries that at-least-once delivery allows.
// It depends on the standard library only, so consumers can import it with any Kafka
// client.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Type names of the events (CloudEvents ce_type).
const (
	TypeBlocklistRemoved = "imbridge.blocklist.removed.v1"
	TypeBlocklistAdded   = "imbridge.blocklist.added.v1"
	TypeFriendAdded      = "imbridge.friend.added.v1"
	TypeFriendRemoved    = "imbridge.friend.removed.v1"
	TypeFollowAdded      = "imbridge.follow.added.v1"
	TypeFollowRemoved    = "imbridge.follow.removed.v1"
)

// BlocklistRemoved says that FromAccount removed ToAccount from its blocklist.
type BlocklistRemoved struct{ Pair }

// BlocklistAdded says that FromAccount added ToAccount to its blocklist.
type BlocklistAdded struct{ Pair }

// FriendRemoved says that FromAccount deleted ToAccount from its friends.
type FriendRemoved struct{ Pair }

// FriendAdded says that ToAccount became a friend of FromAccount.
type FriendAdded struct {
	Pair
	// InitiatorAccount sent the friend request.
	InitiatorAccount string `json:"initiatorAccount,omitempty"`
	// ClientCmd is friend_add/FriendAdd for a request, friend_response/FriendResponse
	// for a reply; an open set.
	ClientCmd string `json:"clientCmd,omitempty"`
	// AdminAccount added the friend through the REST API; empty otherwise.
	AdminAccount string `json:"adminAccount,omitempty"`
	// ForceFlag is 1 when an admin forced the friendship; 0 (as sent) or absent when
	// not.
	ForceFlag int64 `json:"forceFlag,omitempty"`
}

// FollowAdded says that FromAccount followed ToAccount (Follow.CallbackAfterFollowAdd
// gives one per account followed).
type FollowAdded struct{ Pair }

// FollowRemoved says that FromAccount unfollowed ToAccount
// (Follow.CallbackAfterFollowDelete gives one per account unfollowed).
type FollowRemoved struct{ Pair }

// Pair is what every event of a PairList-shaped callback carries, and each event of
// the follow callbacks (one per account followed or unfollowed). The record's key is
// FromAccount; one user's changes keep their order in one partition.
type Pair struct {
	// EventID is deterministic per callback and pair: a redelivery carries the same one.
	EventID         string `json:"eventId"`
	SDKAppID        uint64 `json:"sdkAppId"`
	CallbackCommand string `json:"callbackCommand"`
	FromAccount     string `json:"fromAccount"`
	ToAccount       string `json:"toAccount"`
	// ReceivedAt is when imbridge received the callback, RFC 3339 UTC with milliseconds.
	ReceivedAt  time.Time `json:"receivedAt"`
	ClientIP    string    `json:"clientIp,omitempty"`
	OptPlatform string    `json:"optPlatform,omitempty"`
	// RequestTime is the callback's RequestTime (Unix seconds), 0 when unsigned.
	RequestTime int64 `json:"requestTime,omitempty"`
	// EventTime is the callback's EventTime (Unix milliseconds), 0 when absent.
	EventTime int64 `json:"eventTime,omitempty"`
	// Version orders the changes of one relationship (FromAccount, ToAccount) across
	// imbridge replicas, in Unix milliseconds, by imbridge's version rule: EventTime
	// when the callback carried a plausible one (at most the signature window after the
	// request's time), else the later of RequestTime × 1000 and the receiving replica's
	// clock, and never below what the same replica last gave the same pair. Compare it with
	// Newer (after ClampVersion). Decode fills it from EventTime, RequestTime × 1000 or
	// ReceivedAt for records written before imbridge published it.
	Version int64 `json:"version,omitempty"`
	// VersionClamped is true when the callback's EventTime was too far ahead of the
	// request's time to set Version (EventTime is kept as sent).
	VersionClamped bool `json:"versionClamped,omitempty"`
	// Extra and EntryExtra are as Envelope's: the members of the body, and of the
	// pair's list entry, that the event does not name, as Chat sent them.
	Extra      json.RawMessage `json:"extra,omitempty"`
	EntryExtra json.RawMessage `json:"entryExtra,omitempty"`
}

// ClampVersion is a consumer's guard against versions from the far future, such as
// those an imbridge older than the version rule published from a wrong or forged
// EventTime (one in year 9999 would win over every later change for good): a version
// more than tolerance after ref counts as ref plus tolerance. Take ref from the record,
// the event's ReceivedAt, so that reading the topic again later clamps alike and gives
// the same state (the consumer's clock only for versions with nothing to compare with,
// such as those of a saved state). imbridge's rule keeps every version within two
// signature windows (2 minutes by default) of the receiving time, so a tolerance of 2
// minutes keeps every genuine version as it is.
func ClampVersion(version int64, ref time.Time, tolerance time.Duration) int64 {
	return min(version, ref.Add(tolerance).UnixMilli())
}

// HeaderVersion is the record header that carries Version as decimal Unix
// milliseconds, for consumers that order records without decoding the value.
const HeaderVersion = "imbridge_version"

// Newer reports whether an event of version next is to be applied over the state a
// consumer holds for the same relationship at version held (0: nothing held yet). It is
// the one rule for ordering imbridge's events across replicas:
//
//   - a greater version is newer, a smaller one is older and must be ignored;
//   - on a tie the event read later wins (Newer returns true): within one partition
//     that is offset order, which is the order in which one imbridge replica
//     acknowledged the callbacks, and a redelivered event repeats its own version.
//
// A consumer that keeps, per relationship, the version it applied (also for a removal:
// keep a tombstone) and applies only what Newer accepts, ends in the state of the
// greatest version, whatever the replicas' interleaving, and a replay of the same
// records gives the same state. What that state means depends on where the version
// came from:
//
//   - EventTime (Chat's clock at the change, ms): the true last change, unless two
//     changes of one relationship share a millisecond and went through different
//     replicas, or one replica received the older change after the newer one (its
//     order is kept);
//   - otherwise (the later of RequestTime's second and the replica's clock): the true
//     last change within one replica; across replicas as good as the replicas' clocks
//     agree (NTP), and never below Chat's second of sending.
func Newer(next, held int64) bool { return next >= held }

// version derives Pair.Version from the other fields, as imbridge does.
func (p *Pair) version() int64 {
	switch {
	case p.EventTime > 0:
		return p.EventTime
	case p.RequestTime > 0:
		return p.RequestTime * 1000
	case !p.ReceivedAt.IsZero():
		return p.ReceivedAt.UnixMilli()
	}
	return 0
}

// pairTypes makes the events that embed Pair, by ce_type: the event and its Pair.
var pairTypes = map[string]func() (any, *Pair){
	TypeBlocklistRemoved: func() (any, *Pair) { e := &BlocklistRemoved{}; return e, &e.Pair },
	TypeBlocklistAdded:   func() (any, *Pair) { e := &BlocklistAdded{}; return e, &e.Pair },
	TypeFriendAdded:      func() (any, *Pair) { e := &FriendAdded{}; return e, &e.Pair },
	TypeFriendRemoved:    func() (any, *Pair) { e := &FriendRemoved{}; return e, &e.Pair },
	TypeFollowAdded:      func() (any, *Pair) { e := &FollowAdded{}; return e, &e.Pair },
	TypeFollowRemoved:    func() (any, *Pair) { e := &FollowRemoved{}; return e, &e.Pair },
}

// Header is one Kafka record header; convert your client's type to it.
type Header struct {
	Key   string
	Value []byte
}

// Errors Decode returns, matched with errors.Is.
var (
	ErrNotCloudEvent   = errors.New("not a CloudEvent: ce_specversion header missing")
	ErrSpecVersion     = errors.New("unsupported CloudEvents spec version")
	ErrUnknownType     = errors.New("unknown event type")
	ErrInconsistent    = errors.New("record disagrees with its event")
	ErrMalformedRecord = errors.New("malformed event value")
)

// Decode turns a record of an imbridge topic into its typed event: *BlocklistRemoved,
// *BlocklistAdded, *FriendAdded, *FriendRemoved, *FollowAdded, *FollowRemoved (each
// embeds Pair; the key must be fromAccount), *Unrouted, or the type of a webhook
// route (each embeds Envelope; the key must be the route's key). It checks ce_specversion (1.0) and ce_type, that
// ce_id equals eventId, that the key equals fromAccount and, when the record carries
// HeaderVersion, that it equals the value's version. A record without a version (from
// an imbridge that did not publish one yet) gets the one imbridge would have given it.
// Unknown types are ErrUnknownType, so that a consumer can skip types it does not
// handle.
func Decode(key, value []byte, headers []Header) (any, error) {
	h := map[string]string{}
	for _, hd := range headers {
		h[hd.Key] = string(hd.Value)
	}
	spec, ok := h["ce_specversion"]
	if !ok {
		return nil, ErrNotCloudEvent
	}
	if spec != "1.0" {
		return nil, fmt.Errorf("%w: %q, want 1.0", ErrSpecVersion, spec)
	}
	typ := h["ce_type"]
	newPair, ok := pairTypes[typ]
	if !ok {
		if w, ok := newWebhookEvent(typ); ok {
			return decodeWebhook(w, key, value, h)
		}
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, typ)
	}
	ev, p := newPair()
	if err := json.Unmarshal(value, ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedRecord, err)
	}
	switch {
	case p.EventID == "" || p.FromAccount == "" || p.ToAccount == "":
		return nil, fmt.Errorf("%w: eventId, fromAccount and toAccount are required", ErrMalformedRecord)
	case h["ce_id"] != p.EventID:
		return nil, fmt.Errorf("%w: ce_id %q, eventId %q", ErrInconsistent, h["ce_id"], p.EventID)
	case string(key) != p.FromAccount:
		return nil, fmt.Errorf("%w: key %q, fromAccount %q", ErrInconsistent, key, p.FromAccount)
	}
	if p.Version == 0 {
		p.Version = p.version()
	}
	if hv, ok := h[HeaderVersion]; ok && hv != strconv.FormatInt(p.Version, 10) {
		return nil, fmt.Errorf("%w: %s %q, version %d", ErrInconsistent, HeaderVersion, hv, p.Version)
	}
	return ev, nil
}

// Deduper remembers the last Size event IDs it saw and reports repeats. imbridge
// delivers at least once, and a repeat carries the same eventId, usually soon after
// the first; a window of a few thousand IDs catches the repeats of a restart. Use it
// for side effects; a state kept by version (Newer) needs none, and two identical
// callbacks with one version share their IDs. Not safe for concurrent use; the zero value is
// not usable, use NewDeduper.
type Deduper struct {
	size int
	ring []string
	next int
	seen map[string]struct{}
}

// NewDeduper returns a Deduper remembering size IDs (at least 1).
func NewDeduper(size int) *Deduper {
	size = max(size, 1)
	return &Deduper{size: size, ring: make([]string, 0, size), seen: make(map[string]struct{}, size)}
}

// Seen reports whether id is among the last Size IDs passed to Seen, and remembers it.
func (d *Deduper) Seen(id string) bool {
	if _, ok := d.seen[id]; ok {
		return true
	}
	if len(d.ring) < d.size {
		d.ring = append(d.ring, id)
	} else {
		delete(d.seen, d.ring[d.next])
		d.ring[d.next] = id
		d.next = (d.next + 1) % d.size
	}
	d.seen[id] = struct{}{}
	return false
}
