package bridge

import (
	"testing"
	"time"
)

func TestEventVersion(t *testing.T) {
	received := time.Date(2022, 12, 1, 5, 21, 52, 345_678_000, time.UTC)
	tests := []struct {
		name string
		give Event
		want int64
	}{
		{"EventTime first", Event{EventTime: 1669872111999, RequestTime: 1669872112, Time: received}, 1669872111999},
		{"else RequestTime in ms", Event{RequestTime: 1669872112, Time: received}, 1669872112000},
		{"else the receiving replica's clock, to the ms", Event{Time: received}, 1669872112345},
		{"a negative EventTime is no EventTime", Event{EventTime: -5, RequestTime: 1669872112, Time: received}, 1669872112000},
		{"nothing to go by", Event{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.give.Version(); got != tt.want {
				t.Fatalf("Version() = %d, want %d", got, tt.want)
			}
		})
	}
}

// What Map produces carries the version its callback allows, and the replica's clock
// takes part only when Chat's clocks are missing.
func TestMapVersion(t *testing.T) {
	route := DefaultRoutes[0]
	at := time.Date(2022, 12, 1, 5, 21, 52, 345_678_000, time.UTC)
	body := func(eventTime string) []byte {
		return []byte(`{"CallbackCommand":"Sns.CallbackBlackListDelete",` + eventTime + `"PairList":[{"From_Account":"a","To_Account":"b"}]}`)
	}
	tests := []struct {
		name        string
		requestTime string
		body        []byte
		want        int64
	}{
		{"EventTime", "1669872112", body(`"EventTime":1669872110123,`), 1669872110123},
		{"signed, no EventTime", "1669872112", body(""), 1669872112000},
		{"unsigned, no EventTime", "", body(""), 1669872112345},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := Map(Callback{Query: Query{CallbackCommand: route.Command, RequestTime: tt.requestTime}, AppID: 1,
				Body: tt.body, ReceivedAt: at}, route)
			if err != nil {
				t.Fatal(err)
			}
			if got := events[0].Version(); got != tt.want {
				t.Fatalf("Version() = %d, want %d", got, tt.want)
			}
		})
	}
}
