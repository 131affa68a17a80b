package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reading a kept callback back: the inverse of QuarantineEvent and of UnroutedRoute,
// so that a callback kept because it could not be mapped (or had no route) can be
// mapped later, once the cause is fixed, into the events it would have given when it
// was received, eventIds included.

// ErrNotKept is returned for a record that keeps no callback: its ce_type is neither
// TypeQuarantined nor UnroutedRoute's.
var ErrNotKept = errors.New("not a kept callback: ce_type is neither " + TypeQuarantined + " nor " + UnroutedRoute.Type)

// Kept is a callback read back from the record that kept it.
type Kept struct {
	// Callback is the callback as it was received, MaxPairs unset (the default).
	Callback Callback
	// Type is the record's ce_type: TypeQuarantined or UnroutedRoute.Type.
	Type string
	// SameIdentity reports whether Callback has the identity the record states in its
	// ce_id: then Map gives its events the eventIds they would have had, had the
	// callback been mapped when it was received. It is false when the record does not
	// keep everything the identity is made of (see CallbackFromUnrouted) or was not
	// written by imbridge.
	SameIdentity bool
}

// ReadKept reads the callback a quarantined or unrouted record keeps (value and
// headers as they are on the topic), by the record's ce_type; ErrNotKept for any
// other record.
func ReadKept(value []byte, headers []Header) (Kept, error) {
	typ := string(headerOf(headers, HeaderType))
	var (
		cb  Callback
		err error
	)
	switch typ {
	case TypeQuarantined:
		cb, err = CallbackFromQuarantine(value, headers)
	case UnroutedRoute.Type:
		cb, err = CallbackFromUnrouted(value, headers)
	default:
		return Kept{}, fmt.Errorf("%w (it is %.80q)", ErrNotKept, typ)
	}
	if err != nil {
		return Kept{}, err
	}
	return Kept{Callback: cb, Type: typ, SameIdentity: keptID(cb, typ) == string(headerOf(headers, HeaderID))}, nil
}

// CallbackFromQuarantine rebuilds the callback a quarantined record keeps (see
// QuarantineEvent): the body is the record's value; SDKAppID comes from ce_source;
// CallbackCommand, RequestTime, ClientIP and OptPlatform from their headers, un-quoted
// where QuarantineEvent quoted them; ReceivedAt from HeaderReceivedAt (to the
// millisecond). The record keeps everything the eventIds derive from, so the callback
// maps to the eventIds it would have had when it was received.
//
// A header value that reads as a Go-quoted string holding a control character is
// taken to be quoted; the one value of which that would be wrong (a command that is
// itself such a quoted string, not a command name) is told apart by the record's
// ce_id.
func CallbackFromQuarantine(value []byte, headers []Header) (Callback, error) {
	appID, received, err := keptEnvelope(headers)
	if err != nil {
		return Callback{}, err
	}
	raw := func(key string) string { return string(headerOf(headers, key)) }
	body := value
	if body == nil {
		body = []byte{}
	}
	cb := Callback{
		AppID: appID,
		Query: Query{
			SDKAppID:    strconv.FormatUint(appID, 10),
			ClientIP:    unquoteHeader(raw(HeaderClientIP)),
			OptPlatform: unquoteHeader(raw(HeaderOptPlatform)),
		},
		Body:       body,
		ReceivedAt: received,
	}
	// Only the command and RequestTime take part in the identity: of the readings of
	// each, the one the record's eventId derives from, else the quoted one.
	id := raw(HeaderID)
	commands := headerReadings(raw(HeaderCallbackCommand))
	times := headerReadings(raw(HeaderRequestTime))
	cb.Query.CallbackCommand, cb.Query.RequestTime = commands[0], times[0]
	for _, command := range commands {
		for _, rt := range times {
			c := cb
			c.Query.CallbackCommand, c.Query.RequestTime = command, rt
			if keptID(c, TypeQuarantined) == id {
				return c, nil
			}
		}
	}
	return cb, nil
}

// CallbackFromUnrouted rebuilds the callback an unrouted event keeps (UnroutedRoute's
// record): the body is the event's "body" member; SDKAppID, CallbackCommand,
// RequestTime, ClientIP, OptPlatform and ReceivedAt (to the millisecond) are the
// event's fields.
//
// The eventIds derive from the body's bytes, and the event keeps the body compacted
// (json.Compact; events written by earlier versions also had <, >, & and U+2028/U+2029
// written as \u escapes): the callback maps to the eventIds it would have had only if
// Chat sent the body compact, as Chat does. Such escapes are undone, or kept, whichever
// gives the event's own eventId; a
// body Chat sent with whitespace between its tokens cannot be restored, and its events
// get eventIds of their own (Kept.SameIdentity is false), the same at every replay. So
// do those of an unsigned callback whose RequestTime was not a decimal number, which
// the event does not keep.
func CallbackFromUnrouted(value []byte, headers []Header) (Callback, error) {
	appID, _, err := keptEnvelope(headers)
	if err != nil {
		return Callback{}, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(value, &members); err != nil {
		return Callback{}, fmt.Errorf("unrouted event: body: %w", err)
	}
	var ev struct {
		eventID, command, receivedAt, clientIP, optPlatform string
		sdkAppID                                            uint64
		requestTime                                         int64
	}
	for _, f := range []struct {
		name     string
		dst      any
		required bool
	}{
		{"eventId", &ev.eventID, true},
		{"sdkAppId", &ev.sdkAppID, true},
		{"callbackCommand", &ev.command, true},
		{"receivedAt", &ev.receivedAt, true},
		{"clientIp", &ev.clientIP, false},
		{"optPlatform", &ev.optPlatform, false},
		{"requestTime", &ev.requestTime, false},
	} {
		raw, ok := members[f.name]
		if !ok {
			if f.required {
				return Callback{}, fmt.Errorf("unrouted event: %s is missing", f.name)
			}
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return Callback{}, fmt.Errorf("unrouted event: %s: %v", f.name, err)
		}
	}
	body := bytes.TrimSpace(members["body"])
	if len(body) == 0 || body[0] != '{' {
		return Callback{}, errors.New("unrouted event: body is missing or not a JSON object")
	}
	if ev.sdkAppID != appID {
		return Callback{}, fmt.Errorf("unrouted event: sdkAppId %d differs from ce_source's %d", ev.sdkAppID, appID)
	}
	received, err := time.Parse(time.RFC3339Nano, ev.receivedAt)
	if err != nil {
		return Callback{}, fmt.Errorf("unrouted event: receivedAt %.40q is not an RFC 3339 time", ev.receivedAt)
	}
	cb := Callback{
		AppID: appID,
		Query: Query{
			SDKAppID:        strconv.FormatUint(appID, 10),
			CallbackCommand: ev.command,
			ClientIP:        ev.clientIP,
			OptPlatform:     ev.optPlatform,
		},
		ReceivedAt: received.UTC(),
	}
	if ev.requestTime > 0 {
		cb.Query.RequestTime = strconv.FormatInt(ev.requestTime, 10)
	}
	// Chat escapes none of <, > and & (the body's bytes as they were are the first
	// reading); a body that escaped them itself kept its escapes.
	for _, b := range [][]byte{unescapeHTML(body), body} {
		c := cb
		c.Body = b
		if keptID(c, UnroutedRoute.Type) == ev.eventID {
			return c, nil
		}
	}
	cb.Body = unescapeHTML(body)
	return cb, nil
}

// keptID is the eventId that the record of type typ keeping cb carries: the
// quarantine record's own (index -1), or the unrouted event's (its one event).
func keptID(cb Callback, typ string) string {
	if typ == TypeQuarantined {
		return EventID(eventIDSeed(cb), -1)
	}
	return EventID(eventIDSeed(cb), 0)
}

// keptEnvelope reads what both kinds of record carry in headers: the SDKAppID in
// ce_source and, for a quarantined record, the receiving time.
func keptEnvelope(headers []Header) (appID uint64, received time.Time, err error) {
	const prefix = "urn:tencent-im:sdkappid:"
	src := string(headerOf(headers, HeaderSource))
	n, perr := strconv.ParseUint(strings.TrimPrefix(src, prefix), 10, 64)
	if !strings.HasPrefix(src, prefix) || perr != nil || n == 0 {
		return 0, time.Time{}, fmt.Errorf("header %s %.80q is not %sN", HeaderSource, src, prefix)
	}
	if typ := string(headerOf(headers, HeaderType)); typ != TypeQuarantined {
		return n, time.Time{}, nil
	}
	at := string(headerOf(headers, HeaderReceivedAt))
	received, err = time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("header %s %.40q is not an RFC 3339 time", HeaderReceivedAt, at)
	}
	return n, received.UTC(), nil
}

// headerOf returns the value of the first header named key, or nil.
func headerOf(headers []Header, key string) []byte {
	for _, h := range headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}

// unquoteHeader inverts headerSafe: v un-quoted when it is the quoted form headerSafe
// gives of a value with a control character or invalid UTF-8, else v as it is.
func unquoteHeader(v string) string {
	if len(v) < 2 || v[0] != '"' {
		return v
	}
	u, err := strconv.Unquote(v)
	if err != nil || headerSafe(u) != v {
		return v
	}
	return u
}

// headerReadings are the values a header written by headerSafe may stand for: the
// un-quoted one first, then v itself when that differs.
func headerReadings(v string) []string {
	if u := unquoteHeader(v); u != v {
		return []string{u, v}
	}
	return []string{v}
}

// htmlEscapes are the escapes encoding/json writes when it compacts with HTML escaping
// (json.Marshal of a json.RawMessage), and what they stand for.
var htmlEscapes = map[string]string{`\u003c`: "<", `\u003e`: ">", `\u0026`: "&", `\u2028`: "\u2028", `\u2029`: "\u2029"}

// unescapeHTML returns the compact JSON b with the escapes of htmlEscapes in its
// strings written as the characters they stand for (b itself when it has none).
func unescapeHTML(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(b):
			if i+6 <= len(b) {
				if r, ok := htmlEscapes[string(b[i:i+6])]; ok {
					out = append(out, r...)
					i += 5
					continue
				}
			}
			out = append(out, c, b[i+1]) // an escape of its own: \" \\ \n ...
			i++
			continue
		}
		out = append(out, c)
	}
	return out
}
