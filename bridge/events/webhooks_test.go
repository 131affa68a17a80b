package events_test

import (
	"errors"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
)

// asRecord maps a callback with route and returns its first record in the form Decode
// takes.
func asRecord(t *testing.T, route bridge.Route, command, body string) (key, value []byte, headers []events.Header) {
	t.Helper()
	cb := bridge.Callback{Query: bridge.Query{CallbackCommand: command, RequestTime: "1669872112"}, AppID: 7, Body: []byte(body),
		ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC)}
	evs, err := bridge.Map(cb, route)
	if err != nil {
		t.Fatal(err)
	}
	r := bridge.Records(evs)[0]
	for _, h := range r.Headers {
		headers = append(headers, events.Header{Key: h.Key, Value: h.Value})
	}
	return r.Key, r.Value, headers
}

func TestDecodeUnrouted(t *testing.T) {
	route := bridge.UnroutedRoute
	route.Topic = "u"
	key, value, headers := asRecord(t, route, "New.Command", `{"CallbackCommand":"New.Command","EventTime":1670574414123,"A":[1]}`)
	ev, err := events.Decode(key, value, headers)
	if err != nil {
		t.Fatal(err)
	}
	u, ok := ev.(*events.Unrouted)
	if !ok || u.CallbackCommand != "New.Command" || string(u.Body) != `{"CallbackCommand":"New.Command","EventTime":1670574414123,"A":[1]}` ||
		u.Version != 1670574414123 || u.SDKAppID != 7 {
		t.Fatalf("decoded %#v", ev)
	}
	if _, err := events.Decode([]byte("other"), value, headers); !errors.Is(err, events.ErrInconsistent) {
		t.Fatalf("a wrong key: %v", err)
	}
}

// ptr returns a pointer to v, for the consumer types' optional fields.
func ptr[T any](v T) *T { return &v }
