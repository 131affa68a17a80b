package events_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
	"github.com/imbridge/imbridge/bridge/kafka"
)

func record(t *testing.T, e bridge.Event) ([]byte, []byte, []events.Header) {
	t.Helper()
	m := kafka.Message(&e)
	var hs []events.Header
	for _, h := range m.Headers {
		hs = append(hs, events.Header{Key: h.Key, Value: h.Value})
	}
	return m.Key, m.Value, hs
}

func event() bridge.Event {
	at := time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC)
	return bridge.Event{Topic: "t", Type: bridge.DefaultRoutes[0].Type, Source: "urn:tencent-im:sdkappid:1400187352", Time: at,
		ID: "09e7bd99-8828-85f3-930e-b9046d30ea7e", SDKAppID: 1400187352, CallbackCommand: bridge.CommandBlackListDelete,
		Subject: bridge.PairSubject("id", "id1"), ReceivedAt: "2022-12-01T05:21:52.345Z", OptPlatform: "RESTAPI", RequestTime: 1669872112}
}

func TestDecodeFriendAdded(t *testing.T) {
	e := event()
	e.Type, e.CallbackCommand = "imbridge.friend.added.v1", "Sns.CallbackFriendAdd"
	e.Subject.Trailer = bridge.Fields("initiatorAccount", "id1", "clientCmd", "friend_response", "adminAccount", "admin", "forceFlag", 1)
	key, value, headers := record(t, e)
	got, err := events.Decode(key, value, headers)
	if err != nil {
		t.Fatal(err)
	}
	fa, ok := got.(*events.FriendAdded)
	if !ok || fa.InitiatorAccount != "id1" || fa.ClientCmd != "friend_response" || fa.AdminAccount != "admin" || fa.ForceFlag != 1 || fa.ToAccount != "id1" {
		t.Fatalf("decoded %+v", got)
	}
}

// What imbridge produces decodes into the typed event, field for field.
func TestDecodeWhatImbridgeProduces(t *testing.T) {
	key, value, headers := record(t, event())
	got, err := events.Decode(key, value, headers)
	if err != nil {
		t.Fatal(err)
	}
	want := &events.BlocklistRemoved{Pair: events.Pair{EventID: "09e7bd99-8828-85f3-930e-b9046d30ea7e", SDKAppID: 1400187352,
		CallbackCommand: bridge.CommandBlackListDelete, FromAccount: "id", ToAccount: "id1",
		ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC), OptPlatform: "RESTAPI", RequestTime: 1669872112,
		Version: 1669872112000}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	// Every routed type decodes into its own Go type, from the first event of its
	// route's golden callback.
	webhookTypes := map[string]string{} // Go type -> ce_type
	for _, r := range bridge.DefaultRoutes {
		e := goldenEvent(t, r)
		key, value, headers := record(t, e)
		got, err := events.Decode(key, value, headers)
		if err != nil {
			t.Fatalf("%s: %v", r.Type, err)
		}
		if r.Decode != nil {
			goType := fmt.Sprintf("%T", got)
			if other, ok := webhookTypes[goType]; ok || goType == "*events.Unrouted" {
				t.Fatalf("%s decoded as %s, as %s is", r.Type, goType, other)
			}
			webhookTypes[goType] = r.Type
			continue
		}
		var typ string
		switch got.(type) {
		case *events.BlocklistRemoved:
			typ = events.TypeBlocklistRemoved
		case *events.BlocklistAdded:
			typ = events.TypeBlocklistAdded
		case *events.FriendRemoved:
			typ = events.TypeFriendRemoved
		case *events.FriendAdded:
			typ = events.TypeFriendAdded
		}
		if typ != r.Type {
			t.Fatalf("%s decoded as %T", r.Type, got)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	key, value, headers := record(t, event())
	set := func(name, v string) []events.Header {
		out := append([]events.Header(nil), headers...)
		for i := range out {
			if out[i].Key == name {
				out[i].Value = []byte(v)
			}
		}
		return out
	}
	tests := []struct {
		name    string
		key     []byte
		value   []byte
		headers []events.Header
		want    error
	}{
		{"no headers", key, value, nil, events.ErrNotCloudEvent},
		{"spec 0.3", key, value, set("ce_specversion", "0.3"), events.ErrSpecVersion},
		{"other type", key, value, set("ce_type", "imbridge.group.joined.v1"), events.ErrUnknownType},
		{"no type", key, value, set("ce_type", ""), events.ErrUnknownType},
		{"ce_id differs", key, value, set("ce_id", "x"), events.ErrInconsistent},
		{"key differs", []byte("other"), value, headers, events.ErrInconsistent},
		{"not JSON", key, []byte("{"), headers, events.ErrMalformedRecord},
		{"no toAccount", key, []byte(`{"eventId":"09e7bd99-8828-85f3-930e-b9046d30ea7e","fromAccount":"id"}`), headers, events.ErrMalformedRecord},
		{"version header differs", key, value, set("imbridge_version", "1669872112001"), events.ErrInconsistent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := events.Decode(tt.key, tt.value, tt.headers); !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDeduper(t *testing.T) {
	d := events.NewDeduper(3)
	var got []bool
	for _, id := range []string{"a", "b", "a", "c", "d", "a", "d"} {
		got = append(got, d.Seen(id))
	}
	// "a" falls out of the window of 3 when "d" arrives.
	want := []bool{false, false, true, false, false, false, true}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestNewer(t *testing.T) {
	tests := []struct {
		name       string
		next, held int64
		want       bool
	}{
		{"nothing held yet", 1669872112000, 0, true},
		{"greater", 1669872112001, 1669872112000, true},
		{"smaller: an older change published late by another replica", 1669872111999, 1669872112000, false},
		{"tie: the record read later wins", 1669872112000, 1669872112000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := events.Newer(tt.next, tt.held); got != tt.want {
				t.Fatalf("Newer(%d, %d) = %v, want %v", tt.next, tt.held, got, tt.want)
			}
		})
	}
}

// The version in the value and in the header is the one bridge.Event.Version gives, and
// a record published before imbridge carried versions decodes to the same version.
func TestDecodeVersion(t *testing.T) {
	tests := []struct {
		name string
		edit func(e *bridge.Event)
		want int64
	}{
		{"EventTime", func(e *bridge.Event) { e.EventTime = 1669872111500 }, 1669872111500},
		{"RequestTime", func(e *bridge.Event) {}, 1669872112000},
		{"receiving replica's clock", func(e *bridge.Event) { e.RequestTime = 0 }, 1669872112345},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := event()
			tt.edit(&e)
			key, value, headers := record(t, e)
			got, err := events.Decode(key, value, headers)
			if err != nil {
				t.Fatal(err)
			}
			var hv string
			for _, h := range headers {
				if h.Key == events.HeaderVersion {
					hv = string(h.Value)
				}
			}
			if v := got.(*events.BlocklistRemoved).Version; v != tt.want || v != e.Version() || hv != strconv.FormatInt(tt.want, 10) {
				t.Fatalf("decoded version %d, header %q, bridge %d; want %d", v, hv, e.Version(), tt.want)
			}

			// The same record as an older imbridge wrote it: no version field, no header.
			old := bytes.Replace(value, []byte(`,"version":`+hv), nil, 1)
			var oldHeaders []events.Header
			for _, h := range headers {
				if h.Key != events.HeaderVersion {
					oldHeaders = append(oldHeaders, h)
				}
			}
			got, err = events.Decode(key, old, oldHeaders)
			if err != nil {
				t.Fatal(err)
			}
			if v := got.(*events.BlocklistRemoved).Version; bytes.Contains(old, []byte("version")) || v != tt.want {
				t.Fatalf("record without version %s: decoded version %d, want %d", old, v, tt.want)
			}
		})
	}
}

// ClampVersion keeps genuine versions and brings one from the far future down to the
// consumer's clock plus the tolerance.
func TestClampVersion(t *testing.T) {
	now := time.UnixMilli(1669872112000)
	for _, tc := range []struct{ give, want int64 }{
		{1669872112000, 1669872112000},
		{1669872172000, 1669872172000}, // within the tolerance
		{253402300799000, 1669872172000},
		{0, 0},
	} {
		if got := events.ClampVersion(tc.give, now, time.Minute); got != tc.want {
			t.Errorf("ClampVersion(%d) = %d, want %d", tc.give, got, tc.want)
		}
	}
}
