package events_test

import (
	"errors"
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
		FromAccount: "id", ToAccount: "id1", ReceivedAt: "2022-12-01T05:21:52.345Z", OptPlatform: "RESTAPI", RequestTime: 1669872112}
}

func TestDecodeFriendAdded(t *testing.T) {
	e := event()
	e.Type, e.CallbackCommand = "imbridge.friend.added.v1", "Sns.CallbackFriendAdd"
	e.InitiatorAccount, e.ClientCmd, e.AdminAccount, e.ForceFlag = "id1", "friend_response", "admin", 1
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
		ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC), OptPlatform: "RESTAPI", RequestTime: 1669872112}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	// Every routed type decodes into its own Go type.
	for _, r := range bridge.DefaultRoutes {
		e := event()
		e.Type, e.CallbackCommand = r.Type, r.Command
		key, value, headers := record(t, e)
		got, err := events.Decode(key, value, headers)
		if err != nil {
			t.Fatalf("%s: %v", r.Type, err)
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
