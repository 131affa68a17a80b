// Package events is for downstream services that consume imbridge's topics: typed
// events, Decode to turn a Kafka record (key, value, headers) into one with precise
// errors, and Deduper to drop the redeliveries that at-least-once delivery allows.
// It depends on the standard library only, so consumers can import it with any Kafka
// client.
package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Type names of the events (CloudEvents ce_type).
const (
	TypeBlocklistRemoved = "imbridge.blocklist.removed.v1"
	TypeBlocklistAdded   = "imbridge.blocklist.added.v1"
	TypeFriendAdded      = "imbridge.friend.added.v1"
	TypeFriendRemoved    = "imbridge.friend.removed.v1"
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
	// ForceFlag is 1 when an admin forced the friendship.
	ForceFlag int64 `json:"forceFlag,omitempty"`
}

// Pair is what every event of a PairList-shaped callback carries. The record's key is
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
// *BlocklistAdded, *FriendAdded or *FriendRemoved. It checks ce_specversion (1.0) and ce_type, that
// ce_id equals eventId and that the key equals fromAccount. Unknown types are
// ErrUnknownType, so that a consumer can skip types it does not handle.
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
	var ev any
	var p *Pair
	switch typ := h["ce_type"]; typ {
	case TypeBlocklistRemoved:
		e := &BlocklistRemoved{}
		ev, p = e, &e.Pair
	case TypeBlocklistAdded:
		e := &BlocklistAdded{}
		ev, p = e, &e.Pair
	case TypeFriendAdded:
		e := &FriendAdded{}
		ev, p = e, &e.Pair
	case TypeFriendRemoved:
		e := &FriendRemoved{}
		ev, p = e, &e.Pair
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, typ)
	}
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
	return ev, nil
}

// Deduper remembers the last Size event IDs it saw and reports repeats. imbridge
// delivers at least once, and a repeat carries the same eventId, usually soon after
// the first; a window of a few thousand IDs catches the repeats of a restart. Use it
// for side effects; a last-writer-wins state needs none, and two identical callbacks
// within one second share their IDs. Not safe for concurrent use; the zero value is
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
