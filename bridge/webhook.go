package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// Subject is what one event of a webhook route says beyond the envelope every event
// has (eventId, sdkAppId, callbackCommand, receivedAt, clientIp, optPlatform,
// requestTime, eventTime, version): the message key, which keeps one subject's history
// in order on one partition, and the route's own JSON members.
type Subject struct {
	// Key is the Kafka message key: a group, a user, or a conversation.
	Key string
	// Fields are JSON object members without the braces, such as
	// `"groupId":"g1","memberAccount":"u1"`, written into the event after
	// callbackCommand.
	Fields []byte
}

// WebhookBody is a webhook callback's body as a Decoder gets it: checked as strict JSON
// (CheckJSON) with the query's CallbackCommand, and read once into its top-level members.
type WebhookBody struct {
	// Raw is the body as Chat sent it.
	Raw []byte
	// Members are the body's top-level members by their exact names.
	Members map[string]json.RawMessage
}

// Decoder reads the body of one webhook command into its subjects (one event each, in
// order) and the EventTime it carries (Unix milliseconds, 0 when absent). Errors are
// KindBadRequest *Errors that name the field.
type Decoder func(body WebhookBody) (subjects []Subject, eventTime int64, err error)

// CheckJSON checks that body is one JSON object that every reader reads alike: valid
// UTF-8, no key twice in an object, no escaped lone surrogate, within MaxJSONDepth,
// MaxJSONObjectKeys and MaxJSONArrayElements. It takes time linear in the body's
// length whatever its shape.
func CheckJSON(body []byte) error {
	if !utf8.Valid(body) {
		return Errorf(KindBadRequest, "body is not valid UTF-8")
	}
	p := parser{b: body}
	if p.peek() != '{' {
		return Errorf(KindBadRequest, "body must be a JSON object")
	}
	p.value()
	if p.err == nil {
		p.ws()
		if p.i < len(p.b) {
			p.fail("invalid character %q after top-level value", p.b[p.i])
		}
	}
	return p.err
}

// mapWebhook is Map for a route with a Decoder: one event per subject.
func mapWebhook(cb Callback, route Route) ([]Event, error) {
	if err := CheckJSON(cb.Body); err != nil {
		return nil, err
	}
	top, err := Members(cb.Body)
	if err != nil {
		return nil, err
	}
	if err := checkCommand(top["CallbackCommand"], cb.Query.CallbackCommand, route); err != nil {
		return nil, err
	}
	// A callback that lists subjects copies these into each of its events: bounded, so
	// that one body cannot make records many times its size.
	// (The unrouted route copies nothing.)
	if route.Command != "" {
		for _, name := range SharedMembers {
			var s string
			// Counted as encoded in the events: JSON escaping turns a < into six bytes.
			if raw, ok := top[name]; ok && json.Unmarshal(raw, &s) == nil && len(appendJSONString(nil, s))-2 > MaxSharedMemberBytes {
				return nil, Errorf(KindBadRequest, "%s is %d bytes once encoded; at most %d are accepted", name, len(appendJSONString(nil, s))-2, MaxSharedMemberBytes)
			}
		}
	}
	subjects, eventTime, err := route.Decode(WebhookBody{Raw: cb.Body, Members: top})
	if err != nil {
		return nil, err
	}
	if len(subjects) == 0 {
		return nil, Errorf(KindBadRequest, "%s has nothing to publish", truncate(cb.Query.CallbackCommand, 64))
	}
	maxEvents := cb.MaxPairs
	if maxEvents <= 0 {
		maxEvents = DefaultMaxPairs
	}
	if len(subjects) > maxEvents {
		return nil, Errorf(KindTooLarge, "%s lists %d subjects; at most %d are accepted", truncate(cb.Query.CallbackCommand, 64), len(subjects), maxEvents)
	}
	common := envelope(cb, route, eventTime)
	seed := eventIDSeed(cb)
	events := make([]Event, len(subjects))
	for i, s := range subjects {
		e := common
		e.ID = EventID(seed, i)
		e.Subject = s
		events[i] = e
	}
	return events, nil
}

// SharedMembers are the top-level members of webhook bodies that a callback listing
// several subjects (members, messages, receipts) copies into each of its events; each
// is at most MaxSharedMemberBytes long. Chat's group and topic IDs are far shorter.
var SharedMembers = []string{"GroupId", "TopicId", "Type", "JoinType", "ExitType", "EventType", "EventCause", "Official_Account"}

// MaxSharedMemberBytes bounds each of SharedMembers.
const MaxSharedMemberBytes = 128

// Members returns the members of a JSON object body by their exact names (encoding/json
// would also match "callbackcommand" to a field CallbackCommand, which JSON Schema and
// other readers would not). Decoders read the fields they need from it.
func Members(body []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, Errorf(KindBadRequest, "body: %v", err)
	}
	return m, nil
}

// checkCommand checks the body's CallbackCommand against the query's and, for a route
// of its own, the route's command.
func checkCommand(raw json.RawMessage, query string, route Route) error {
	if len(raw) == 0 || string(raw) == "null" {
		return Errorf(KindBadRequest, "CallbackCommand is missing from the body")
	}
	var body string
	if err := json.Unmarshal(raw, &body); err != nil {
		return Errorf(KindBadRequest, "CallbackCommand must be a string")
	}
	if body != query {
		return Errorf(KindBadRequest, "CallbackCommand in the body (%q) differs from the query's (%q)",
			truncate(body, 64), truncate(query, 64))
	}
	if route.Command != "" && body != route.Command {
		return Errorf(KindBadRequest, "CallbackCommand %q is not %s", truncate(body, 64), route.Command)
	}
	return nil
}

// EventTime reads an EventTime as Chat sends it: an integer of Unix milliseconds, or
// the same digits as a string (as several group webhooks' samples show). Absent or null
// is 0.
func EventTime(raw json.RawMessage) (int64, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	bad := Errorf(KindBadRequest, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string")
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, bad
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || s == "" || s[0] < '0' || s[0] > '9' {
			return 0, bad
		}
		return n, nil
	}
	n, ok := JSONInteger(raw)
	if !ok || n < 0 {
		return 0, bad
	}
	return n, nil
}

// JSONInteger reads a JSON number token as an int64, also when written with a fraction
// of zero or an exponent (12.0, 1.2e3), as JSON Schema's "integer" takes it, exactly
// (no rounding: 1.0000000001 and 1e-999999999 are not integers). It reports false for
// a fraction, a value out of int64's range, a token over MaxNumberToken bytes, or
// anything else.
func JSONInteger(token []byte) (int64, bool) { return exactInt64(token) }

// Fields builds a Subject's JSON members from name/value pairs, in order: a value is
// written as json.Marshal writes it (strings escaped as the events' other strings;
// json.RawMessage as it came, compacted). Values that are nil, "", or an empty
// json.RawMessage are left out.
func Fields(kv ...any) []byte {
	var b []byte
	for i := 0; i+1 < len(kv); i += 2 {
		name, v := kv[i].(string), kv[i+1]
		switch x := v.(type) {
		case nil:
			continue
		case string:
			if x == "" {
				continue
			}
		case json.RawMessage:
			if len(bytes.TrimSpace(x)) == 0 {
				continue
			}
		}
		val, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("bridge.Fields: %s: %v", name, err)) // a decoder's bug, never the input's
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = append(b, val...)
	}
	return b
}

// unmarshalMember is json.Unmarshal for one member of a webhook body, except that an
// integer may be written as JSON Schema's "integer" allows it: with a fraction of zero or
// an exponent (305.0, 3.05e2). A value out of the target's range is an error, as for
// json.Unmarshal. Decoders read every member through it, so that what the callback
// schemas accept and what the decoders accept agree.
func unmarshalMember(raw json.RawMessage, v any) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || !(t[0] == '-' || (t[0] >= '0' && t[0] <= '9')) {
		return err
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		if rv.Elem().Kind() == reflect.Pointer {
			if rv.Elem().IsNil() {
				rv.Elem().Set(reflect.New(rv.Elem().Type().Elem()))
			}
			rv = rv.Elem()
			continue
		}
		break
	}
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return err
	}
	neg, mag, ok := exactInteger(t)
	if !ok {
		return err
	}
	target := rv.Elem()
	switch target.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := exactInt64(t)
		if !ok || target.OverflowInt(n) {
			return err
		}
		target.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if (neg && mag != 0) || target.OverflowUint(mag) {
			return err
		}
		target.SetUint(mag)
	default:
		return err
	}
	return nil
}
