package events_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
)

// Each record of a follow callback decodes into the relationship's Pair: one per account
// followed or unfollowed, keyed by the follower.
func TestDecodeFollows(t *testing.T) {
	at := time.Date(2022, 12, 1, 5, 21, 52, 0, time.UTC) // published's
	pair := func(command, to string) events.Pair {
		return events.Pair{SDKAppID: 1400000000, CallbackCommand: command, FromAccount: "UserID_001", ToAccount: to,
			ReceivedAt: at, RequestTime: 1669872112, EventTime: 1702018343678, Version: 1702018343678}
	}
	tests := []struct {
		command, body string
		want          []any
	}{
		{bridge.CommandFollowAdd, goldenBody(t, "follow-add"), []any{
			&events.FollowAdded{Pair: pair(bridge.CommandFollowAdd, "UserID_002")},
			&events.FollowAdded{Pair: pair(bridge.CommandFollowAdd, "UserID_003")}}},
		{bridge.CommandFollowDelete, goldenBody(t, "follow-delete"), []any{
			&events.FollowRemoved{Pair: pair(bridge.CommandFollowDelete, "UserID_002")},
			&events.FollowRemoved{Pair: pair(bridge.CommandFollowDelete, "UserID_003")}}},
	}
	noID := cmp.Transformer("noEventID", func(p events.Pair) events.Pair { p.EventID = ""; return p })
	for _, tt := range tests {
		records := published(tt.command, tt.body)
		var got []any
		for _, r := range records {
			ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
			if err != nil {
				t.Fatal(err)
			}
			if string(r[0].([]byte)) != "UserID_001" {
				t.Errorf("%s: key %s", tt.command, r[0])
			}
			got = append(got, ev)
			if _, err := events.Decode([]byte("UserID_002"), r[1].([]byte), r[2].([]events.Header)); !errors.Is(err, events.ErrInconsistent) {
				t.Errorf("%s: a record keyed other than by the follower: %v", tt.command, err)
			}
		}
		if d := cmp.Diff(tt.want, got, noID); d != "" {
			t.Errorf("%s: decoded (-want +got):\n%s", tt.command, d)
		}
	}
}
