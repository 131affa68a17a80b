package events_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge/events"
)

// The documented samples of the call routes decode into their types, keyed by CallID.
func TestDecodeCalls(t *testing.T) {
	const callID = "055662e1-bc8a-469c-a334-1126c8c17d58"
	users := json.RawMessage(`[{"User_Account":"user1","Status":"Calling"},{"User_Account":"user2","Status":"Waiting"}]`)
	tests := []struct {
		route string
		want  any
	}{
		{"call-started", &events.CallStarted{CallID: callID, MediaType: "Audio", RoomIDType: i64(1), UserList: users,
			CallInfo: json.RawMessage(`{"CallId":"055662e1-bc8a-469c-a334-1126c8c17d58","CallMediaType":"Audio","ChatGroupId":"","RoomId":"","RoomIdType":1}`)}},
		{"call-ended", &events.CallEnded{CallID: callID, CallerAccount: "10001", MediaType: "Audio", CallType: "SingleCall",
			StartTime: i64(1741231146), EndTime: i64(1741231296), AcceptTime: i64(0), CallResult: json.RawMessage(`"NotAnswer"`),
			CalleeAccounts: []string{"10001", "user2"}, RoomID: "roomid-1434", RoomIDType: i64(2),
			CallRecord: json.RawMessage(`{"CallId":"055662e1-bc8a-469c-a334-1126c8c17d58","Caller_Account":"10001","MediaType":"Audio","CallType":"SingleCall","StartTime":1741231146,"EndTime":1741231296,"AcceptTime":0,"CallResult":"NotAnswer","CalleeList_Account":["10001","user2"],"RoomId":"roomid-1434","RoomIdType":2}`)}},
		{"call-member-changed", &events.CallMemberChanged{CallID: callID,
			UserList:        json.RawMessage(`[{"User_Account":"user1","Status":"Calling"},{"User_Account":"user2","Status":"Calling"}]`),
			ChangedUserList: json.RawMessage(`[{"User_Account":"user2","ActionType":"Accept"}]`)}},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			route := routeNamed(t, tt.route)
			key, value, headers := asRecord(t, route, route.Command, goldenBody(t, tt.route))
			if string(key) != callID {
				t.Fatalf("key %s, want the call", key)
			}
			ev, err := events.Decode(key, value, headers)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, ev, cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".Envelope"
			}, cmp.Ignore())); d != "" {
				t.Fatalf("decoded (-want +got):\n%s", d)
			}
			if _, err := events.Decode([]byte("another call"), value, headers); err == nil {
				t.Fatal("a record with another call's key decoded")
			}
		})
	}
}
