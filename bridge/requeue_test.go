package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// keptRecord is the record of one kept callback, as it is on its topic.
func keptRecord(t *testing.T, e Event) Record {
	t.Helper()
	records, err := EncodeRecords([]Event{e}, nil)
	if err != nil || len(records) != 1 {
		t.Fatalf("EncodeRecords: %d records, %v", len(records), err)
	}
	return records[0]
}

// readBack reads the callback a record keeps and fails t unless the record states
// its identity.
func readBack(t *testing.T, r Record, typ string) Callback {
	t.Helper()
	kept, err := ReadKept(r.Value, r.Headers)
	if err != nil {
		t.Fatalf("ReadKept: %v", err)
	}
	if kept.Type != typ || !kept.SameIdentity {
		t.Fatalf("ReadKept: type %s, same identity %t; want %s, true", kept.Type, kept.SameIdentity, typ)
	}
	return kept.Callback
}

// records are the records of events, as they would be published.
func records(t *testing.T, events []Event) []Record {
	t.Helper()
	rs, err := EncodeRecords(events, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// asReceived is the callback as a kept record holds it: without Sign and contenttype,
// which take part in neither the mapping nor the identity, and received to the
// millisecond, as the events state it.
func asReceived(cb Callback) Callback {
	cb.Query.Sign, cb.Query.ContentType = "", ""
	cb.ReceivedAt = cb.ReceivedAt.Truncate(time.Millisecond)
	cb.MaxPairs = 0
	return cb
}

// mapped maps cb for route and fails t on an error.
func mapped(t *testing.T, cb Callback, route Route) []Event {
	t.Helper()
	events, err := Map(cb, route)
	if err != nil {
		t.Fatalf("Map(%s): %v", cb.Query.CallbackCommand, err)
	}
	return events
}

// eventIDs are the events' eventIds, in order.
func eventIDs(events []Event) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

// Every route's sample callback, quarantined and read back once the cause is gone
// (IMBRIDGE_MAX_PAIRS raised, or a topic's max.message.bytes), is the callback as
// received, and maps to the records mapping it on receipt would have given, byte for
// byte: the same eventIds, keys, headers and values.
func TestRequeueQuarantinedRoundTrip(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/map/*.input.json")
	if len(inputs) == 0 {
		t.Fatal("no test cases under testdata/map")
	}
	routes := NewRoutes(DefaultRoutes...)
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".input.json"), func(t *testing.T) {
			received := readCallback(t, in)
			route, _ := routes.Lookup(received.Query.CallbackCommand)
			want := mapped(t, received, route)
			// The cause: more events than IMBRIDGE_MAX_PAIRS allowed then, or (a
			// callback of one event) a record over its topic's limit.
			cause := error(Errorf(KindTooLarge, "the event would be a 2000000-byte Kafka message"))
			if len(want) > 1 {
				limited := received
				limited.MaxPairs = len(want) - 1
				if _, cause = Map(limited, route); ErrorKind(cause) != KindTooLarge {
					t.Fatalf("MaxPairs %d: Map gave %v, want a KindTooLarge error", limited.MaxPairs, cause)
				}
			}
			r := keptRecord(t, QuarantineEvent(received, TopicQuarantine, "application/json", cause))
			cb := readBack(t, r, TypeQuarantined)
			if d := cmp.Diff(asReceived(received), cb); d != "" {
				t.Fatalf("the callback read back differs from the one received (-received +read):\n%s", d)
			}
			if d := cmp.Diff(records(t, want), records(t, mapped(t, cb, route))); d != "" {
				t.Fatalf("records differ from those of the callback on receipt (-receipt +replay):\n%s", d)
			}
		})
	}
}

// The case that IMBRIDGE_MAX_PAIRS=2 quarantines, spelled out: three pairs, read back
// and mapped with the default limit, give the three eventIds of the callback mapped on
// receipt, which are fixed.
func TestRequeueMaxPairsRaised(t *testing.T) {
	received := Callback{
		Query: Query{SDKAppID: "1400187352", CallbackCommand: CommandBlackListAdd, ClientIP: "127.0.0.1", OptPlatform: "RESTAPI", RequestTime: "1669872112"},
		AppID: 1400187352,
		Body: []byte(`{"CallbackCommand":"Sns.CallbackBlackListAdd","PairList":[{"From_Account":"a","To_Account":"b1"},` +
			`{"From_Account":"a","To_Account":"b2"},{"From_Account":"a","To_Account":"b3"}]}`),
		ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345e6, time.UTC),
		MaxPairs:   2,
	}
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandBlackListAdd)
	_, cause := Map(received, route)
	if ErrorKind(cause) != KindTooLarge {
		t.Fatalf("3 pairs with MaxPairs 2: %v, want KindTooLarge", cause)
	}
	cb := readBack(t, keptRecord(t, QuarantineEvent(received, "q", "application/json", cause)), TypeQuarantined)
	received.MaxPairs = 0
	want := []string{
		EventID(eventIDSeed(received), 0), EventID(eventIDSeed(received), 1), EventID(eventIDSeed(received), 2),
	}
	if d := cmp.Diff(want, eventIDs(mapped(t, cb, route))); d != "" {
		t.Fatalf("eventIds (-receipt +replay):\n%s", d)
	}
	// The derivation itself: SHA-256 over the length-prefixed SDKAppID, command,
	// RequestTime and body; a change to it, or to what the record keeps, shows here.
	if want[0] != "697ac700-9736-8e02-bb05-2ce7445b9ad2" {
		t.Errorf("the first eventId is %s", want[0])
	}
}

// Every route's sample callback, sent compact (as Chat sends bodies) while its route
// was switched off, is kept on the unrouted topic; read back once the route is on, it
// maps to the records mapping it on receipt would have given, byte for byte.
func TestRequeueUnroutedRoundTrip(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/map/*.input.json")
	routes := NewRoutes(DefaultRoutes...)
	unrouted := UnroutedRoute
	unrouted.Topic = TopicUnrouted
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ".input.json"), func(t *testing.T) {
			received := readCallback(t, in)
			var compact bytes.Buffer
			if err := json.Compact(&compact, received.Body); err != nil {
				t.Fatal(err)
			}
			received.Body = compact.Bytes()
			route, _ := routes.Lookup(received.Query.CallbackCommand)
			want := mapped(t, received, route)
			kept := mapped(t, received, unrouted)
			if len(kept) != 1 {
				t.Fatalf("the unrouted route gave %d events", len(kept))
			}
			cb := readBack(t, keptRecord(t, kept[0]), unrouted.Type)
			if d := cmp.Diff(asReceived(received), cb); d != "" {
				t.Fatalf("the callback read back differs from the one received (-received +read):\n%s", d)
			}
			if d := cmp.Diff(records(t, want), records(t, mapped(t, cb, route))); d != "" {
				t.Fatalf("records differ from those of the callback on receipt (-receipt +replay):\n%s", d)
			}
		})
	}
}

// The unrouted event keeps the body compacted, <, >, & and U+2028/U+2029 escaped: the
// body read back is the one Chat sent when Chat sent it compact, whichever of those it
// escaped itself, and only then.
func TestRequeueUnroutedBodies(t *testing.T) {
	unrouted := UnroutedRoute
	unrouted.Topic = TopicUnrouted
	tests := []struct {
		name, body   string
		sameIdentity bool
	}{
		{name: "compact", body: `{"CallbackCommand":"X.Y","A":[1,2,{"b":"c"}]}`, sameIdentity: true},
		{name: "HTML characters as they are", body: `{"CallbackCommand":"X.Y","Text":"<b>a & b</b>` + "\u2028\u2029" + `"}`, sameIdentity: true},
		{name: "HTML characters escaped by Chat", body: `{"CallbackCommand":"X.Y","Text":"\u003cb\u003e \u0026 \u2028"}`, sameIdentity: true},
		{name: "escaped backslash before u003c", body: `{"CallbackCommand":"X.Y","Text":"\\u003c <"}`, sameIdentity: true},
		{name: "other escapes", body: `{"CallbackCommand":"X.Y","Text":"\"\\\n\t\u00e9 é"}`, sameIdentity: true},
		{name: "both forms of one character", body: `{"CallbackCommand":"X.Y","Text":"\u003c <"}`, sameIdentity: true},
		{name: "whitespace between tokens", body: `{"CallbackCommand": "X.Y", "A": [1, 2]}`, sameIdentity: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			received := Callback{Query: Query{SDKAppID: "1", CallbackCommand: "X.Y", RequestTime: "1669872112"}, AppID: 1,
				Body: []byte(tt.body), ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345e6, time.UTC)}
			r := keptRecord(t, mapped(t, received, unrouted)[0])
			kept, err := ReadKept(r.Value, r.Headers)
			if err != nil {
				t.Fatal(err)
			}
			if kept.SameIdentity != tt.sameIdentity || (string(kept.Callback.Body) == tt.body) != tt.sameIdentity {
				t.Fatalf("same identity %t, body read back %s; want %t (sent %s)", kept.SameIdentity, kept.Callback.Body, tt.sameIdentity, tt.body)
			}
			// Whatever the identity, it is the same at every reading: a second replay
			// gives the same eventIds.
			again, _ := ReadKept(r.Value, r.Headers)
			if CallbackSeed(again.Callback) != CallbackSeed(kept.Callback) {
				t.Fatal("two readings of one record differ")
			}
		})
	}
}

// Query values with control characters or invalid UTF-8 are Go-quoted in headers and
// read back as they were; a command or RequestTime that only looks quoted is read as it
// is (the record's ce_id tells); absent ones stay empty. (A ClientIP or OptPlatform
// that is itself the quoted form of a control character would be read un-quoted: they
// take no part in the identity, and Chat sends neither such.)
func TestRequeueQuarantineHeaders(t *testing.T) {
	at := time.Date(2022, 12, 1, 5, 21, 52, 345e6, time.UTC)
	tests := []struct {
		name string
		q    Query
		body string
	}{
		{name: "plain", q: Query{CallbackCommand: "Sns.CallbackBlackListAdd", RequestTime: "1669872112", ClientIP: "10.0.0.1", OptPlatform: "iOS"}, body: "{}"},
		{name: "control characters", q: Query{CallbackCommand: "Sns.X\r\nInjected: 1", RequestTime: "16698\x00", ClientIP: "\x1b[31m", OptPlatform: "a\tb"}, body: "x"},
		{name: "invalid UTF-8", q: Query{CallbackCommand: "\xff\xfe", ClientIP: "\xc3("}, body: "\xff"},
		{name: "looks quoted", q: Query{CallbackCommand: `"\x01"`, RequestTime: `"1"`, ClientIP: `"1.2.3.4"`, OptPlatform: `"a"`}, body: "{}"},
		{name: "quoted and looks quoted", q: Query{CallbackCommand: "\x01", RequestTime: `"\x01"`}, body: "{}"},
		{name: "nothing but the command, empty body", q: Query{CallbackCommand: "Sns.CallbackBlackListAdd"}},
		{name: "no command", q: Query{RequestTime: "1669872112"}, body: "PairList=a,b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.SDKAppID = "1400187352"
			received := Callback{Query: tt.q, AppID: 1400187352, Body: []byte(tt.body), ReceivedAt: at}
			r := keptRecord(t, QuarantineEvent(received, "q", "", Errorf(KindBadRequest, "body must be a JSON object")))
			cb := readBack(t, r, TypeQuarantined)
			if d := cmp.Diff(asReceived(received), cb); d != "" {
				t.Fatalf("(-received +read):\n%s", d)
			}
		})
	}
}

// A record that keeps no callback, or not one that can be read, is refused with what
// is wrong.
func TestReadKeptRefuses(t *testing.T) {
	received := Callback{Query: Query{SDKAppID: "7", CallbackCommand: "X.Y", RequestTime: "1669872112"}, AppID: 7,
		Body: []byte(`{"CallbackCommand":"X.Y"}`), ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345e6, time.UTC)}
	quarantined := keptRecord(t, QuarantineEvent(received, "q", "", Errorf(KindBadRequest, "no")))
	unrouted := UnroutedRoute
	unrouted.Topic = TopicUnrouted
	event := keptRecord(t, mapped(t, received, unrouted)[0])
	withHeader := func(r Record, key, value string) Record {
		out := r
		out.Headers = nil
		for _, h := range r.Headers {
			if h.Key == key {
				if value == "" {
					continue
				}
				h.Value = []byte(value)
			}
			out.Headers = append(out.Headers, h)
		}
		return out
	}
	withValue := func(r Record, value string) Record { r.Value = []byte(value); return r }
	tests := []struct {
		name string
		give Record
		want string
	}{
		{name: "an event of a route", give: withHeader(event, HeaderType, "imbridge.blocklist.added.v1"),
			want: `not a kept callback: ce_type is neither imbridge.quarantined.v1 nor imbridge.unrouted.v1 (it is "imbridge.blocklist.added.v1")`},
		{name: "no ce_type", give: withHeader(quarantined, HeaderType, ""),
			want: `not a kept callback: ce_type is neither imbridge.quarantined.v1 nor imbridge.unrouted.v1 (it is "")`},
		{name: "no ce_source", give: withHeader(quarantined, HeaderSource, ""),
			want: `header ce_source "" is not urn:tencent-im:sdkappid:N`},
		{name: "ce_source of no app", give: withHeader(event, HeaderSource, "urn:tencent-im:sdkappid:0"),
			want: `header ce_source "urn:tencent-im:sdkappid:0" is not urn:tencent-im:sdkappid:N`},
		{name: "no receiving time", give: withHeader(quarantined, HeaderReceivedAt, ""),
			want: `header imbridge_received_at "" is not an RFC 3339 time`},
		{name: "unrouted value not JSON", give: withValue(event, "PairList=a,b"),
			want: `unrouted event: body: invalid character 'P' looking for beginning of value`},
		{name: "unrouted without body", give: withValue(event, `{"eventId":"e","sdkAppId":7,"callbackCommand":"X.Y","receivedAt":"2022-12-01T05:21:52.345Z"}`),
			want: `unrouted event: body is missing or not a JSON object`},
		{name: "unrouted without eventId", give: withValue(event, `{"sdkAppId":7,"callbackCommand":"X.Y","body":{}}`),
			want: `unrouted event: eventId is missing`},
		{name: "unrouted of another app", give: withValue(event, `{"eventId":"e","sdkAppId":8,"callbackCommand":"X.Y","body":{},"receivedAt":"2022-12-01T05:21:52.345Z"}`),
			want: `unrouted event: sdkAppId 8 differs from ce_source's 7`},
		{name: "unrouted receivedAt", give: withValue(event, `{"eventId":"e","sdkAppId":7,"callbackCommand":"X.Y","body":{},"receivedAt":"yesterday"}`),
			want: `unrouted event: receivedAt "yesterday" is not an RFC 3339 time`},
		{name: "unrouted requestTime", give: withValue(event, `{"eventId":"e","sdkAppId":7,"callbackCommand":"X.Y","body":{},"receivedAt":"2022-12-01T05:21:52.345Z","requestTime":"1"}`),
			want: `unrouted event: requestTime: json: cannot unmarshal string into Go value of type int64`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadKept(tt.give.Value, tt.give.Headers)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("ReadKept: %v\nwant %s", err, tt.want)
			}
			if strings.HasPrefix(tt.want, "not a kept") != errors.Is(err, ErrNotKept) {
				t.Fatalf("errors.Is(%v, ErrNotKept) is %t", err, errors.Is(err, ErrNotKept))
			}
		})
	}

	// A record changed after it was written still reads, as a callback of its own.
	changed := withHeader(quarantined, HeaderRequestTime, "1669872113")
	kept, err := ReadKept(changed.Value, changed.Headers)
	if err != nil || kept.SameIdentity || kept.Callback.Query.RequestTime != "1669872113" {
		t.Fatalf("a changed RequestTime: %+v, %v; want it read, not the same identity", kept, err)
	}
}
