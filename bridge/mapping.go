package bridge

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxAccountBytes is the longest UserID Chat allows (From_Account, To_Account).
const MaxAccountBytes = 32

// Map turns a verified callback for route into one event per subject the route's
// Decoder finds in the body (one per PairList entry for the relationship chain), in
// the body's order. It checks that the body's CallbackCommand agrees with the query's
// (where Chat sends one: see QueryOnlyCommands), and for a routed command that a
// SdkAppId in the body is the verified one.
// Map is pure: the same callback (query, body, ReceivedAt) always gives the same events.
//
// A callback whose events would carry a control
// character (U+0000 to U+001F, U+007F) in their Kafka key is a bad request, naming the
// field the key comes from (and so quarantined by default).
func Map(cb Callback, route Route) ([]Event, error) {
	events, err := mapWebhook(cb, route)
	if err != nil {
		return nil, err
	}
	for i := range events {
		if k := events[i].key(); hasControl(k) {
			what := route.Key
			if what == "" {
				what = "the message key"
			}
			return nil, Errorf(KindBadRequest, "%s %.80q holds a control character, which no Kafka key may carry", what, k)
		}
	}
	return events, nil
}

// checkRecordBudget refuses (KindTooLarge) a callback whose records would take more
// than its budget: MaxRecordBytes (DefaultMaxRecordBytes), and at most
// RecordBytesPerBodyByte times its body. The records are counted by their size
// estimate, an upper bound of what encoding them takes, from the envelope every event
// shares (common) and each subject, before any event is made; extra is the bytes of
// members still to be joined to every subject's Fields (the body's unread members),
// counted as the estimate counts them, so that they are never copied past the budget.
func checkRecordBudget(cb Callback, common Event, subjects []Subject, extra int) error {
	limit := cb.MaxRecordBytes
	if limit <= 0 {
		limit = DefaultMaxRecordBytes
	}
	limit = min(limit, max(int64(len(cb.Body)), 1024)*RecordBytesPerBodyByte)
	common.ID = "00000000-0000-8000-8000-000000000000" // as long as every EventID
	var perSubject int64
	if extra > 0 {
		perSubject = int64(extra+1) + int64(extra+1)/5 + 1 // a comma and the members, at the estimate's rate
	}
	var total int64
	for _, s := range subjects {
		common.Subject = s
		if total += int64(common.recordSizeHint()) + perSubject; total > limit {
			return Errorf(KindTooLarge, "the %d events of this callback would make more than %d bytes of records (at most %d: IMBRIDGE_MAX_RECORD_BYTES, and %d times the body)",
				len(subjects), total, limit, RecordBytesPerBodyByte)
		}
	}
	return nil
}

// hasControl reports whether s holds a control character (U+0000 to U+001F, U+007F):
// a key with one would carry it raw into consumers' logs and terminals.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// envelope is what every event of a callback shares: route, CloudEvents attributes,
// the query's fields, and the times. Its strings are written to strs (when not nil),
// so that they and the callback's event IDs can share one allocation.
func envelope(cb Callback, route Route, eventTime int64, strs *strings.Builder) Event {
	requestTime, _ := ParseRequestTime(cb.Query.RequestTime)
	received := cb.ReceivedAt.UTC()
	ceTime := received
	if eventTime > 0 {
		ceTime = time.UnixMilli(eventTime).UTC()
	}
	if strs == nil {
		strs = new(strings.Builder)
	}
	var buf [envelopeStrings]byte
	start := strs.Len()
	strs.Write(strconv.AppendUint(append(buf[:0], "urn:tencent-im:sdkappid:"...), cb.AppID, 10))
	source := strs.Len()
	strs.Write(received.AppendFormat(buf[:0], "2006-01-02T15:04:05.000Z07:00"))
	all := strs.String()
	return Event{
		Topic:           route.Topic,
		Type:            route.Type,
		Source:          all[start:source],
		Time:            ceTime,
		SDKAppID:        cb.AppID,
		CallbackCommand: cb.Query.CallbackCommand,
		ReceivedAt:      all[source:],
		ClientIP:        cb.Query.ClientIP,
		OptPlatform:     cb.Query.OptPlatform,
		RequestTime:     requestTime,
		EventTime:       eventTime,
	}
}

// eventIDSeed is SHA-256 over the callback's identity: SDKAppID, CallbackCommand,
// RequestTime and the raw body, each length-prefixed so that no two different
// callbacks share an encoding.
func eventIDSeed(cb Callback) [sha256.Size]byte {
	var app [20]byte
	appID := strconv.AppendUint(app[:0], cb.AppID, 10)
	parts := [...][]byte{appID, []byte(cb.Query.CallbackCommand), []byte(cb.Query.RequestTime), cb.Body}
	// One buffer on the stack for Chat's usual bodies; a large body is hashed as it
	// is, never copied.
	var stack [1024]byte
	if n := 4*8 + len(appID) + len(cb.Query.CallbackCommand) + len(cb.Query.RequestTime) + len(cb.Body); n <= len(stack) {
		buf := stack[:0]
		for _, part := range parts {
			buf = binary.BigEndian.AppendUint64(buf, uint64(len(part)))
			buf = append(buf, part...)
		}
		return sha256.Sum256(buf)
	}
	h := sha256.New()
	var n [8]byte
	for _, part := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var seed [sha256.Size]byte
	h.Sum(seed[:0])
	return seed
}

// identityDomain separates the seeds of IdentityEventID from eventIDSeed's.
const identityDomain = "imbridge identity v1"

// IdentityEventID derives the ID of an event from what identifies it rather than from
// the request that carried it: the SDKAppID, the command and the subject's Identity,
// length-prefixed, hashed as EventID hashes a callback's seed (index 0). The same
// entry sent again, in another request at another time, gets the same ID.
func IdentityEventID(appID uint64, command, identity string) string {
	h := sha256.New()
	var n [8]byte
	for _, part := range [...]string{identityDomain, strconv.FormatUint(appID, 10), command, identity} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	var seed [sha256.Size]byte
	h.Sum(seed[:0])
	return EventID(seed, 0)
}

// Identity joins the parts that identify an entry into a Subject's Identity, each
// length-prefixed so that no two different lists of parts share one; a part that is
// nil (an absent integer) is written as "".
func Identity(parts ...any) string {
	var b []byte
	for _, p := range parts {
		var s string
		switch v := p.(type) {
		case nil:
		case string:
			s = v
		case int64:
			s = strconv.FormatInt(v, 10)
		case uint64:
			s = strconv.FormatUint(v, 10)
		default:
			panic(fmt.Sprintf("bridge.Identity: %T", p)) // a decoder's bug, never the input's
		}
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(append(b, ':'), s...)
	}
	return string(b)
}

// EventID derives the ID of the index-th event of a callback from the callback's seed:
// the first 16 bytes of SHA-256(seed || index as 8 bytes big-endian), formatted as an
// RFC 9562 version 8 UUID. The same callback (same SdkAppid, CallbackCommand,
// RequestTime and body bytes) always yields the same IDs.
func EventID(seed [sha256.Size]byte, index int) string {
	id := eventID(seed, index)
	return string(id[:])
}

// envelopeStrings is at most what envelope writes: the source (24 bytes and an
// SDKAppID of at most 20 digits) and the receiving time (at most 35 bytes).
const envelopeStrings = 24 + 20 + 35

// appendEventIDs writes the IDs of a callback's first n events (EventID) to strs, one
// after the other, eventIDLen bytes each, and returns them.
func appendEventIDs(strs *strings.Builder, seed [sha256.Size]byte, n int) string {
	start := strs.Len()
	strs.Grow(eventIDLen * n)
	for i := range n {
		id := eventID(seed, i)
		strs.Write(id[:])
	}
	return strs.String()[start:]
}

// eventIDLen is the length of an event ID.
const eventIDLen = 36

// eventID is EventID's text.
func eventID(seed [sha256.Size]byte, index int) [eventIDLen]byte {
	var buf [sha256.Size + 8]byte
	copy(buf[:], seed[:])
	binary.BigEndian.PutUint64(buf[sha256.Size:], uint64(index))
	sum := sha256.Sum256(buf[:])
	u := sum[:16]
	u[6] = (u[6] & 0x0f) | 0x80 // version 8
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 9562 variant
	var out [eventIDLen]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], u[10:16])
	return out
}
