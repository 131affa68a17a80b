package events_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imbridge/imbridge/bridge/events"
)

func sp(s string) *string { return &s }

func TestDecodeUser(t *testing.T) {
	tests := []struct {
		route string
		want  any
		key   string
	}{
		{"state-changed", &events.StateChanged{ToAccount: "testuser316", Action: "Login", Reason: "Register",
			KickedDevice: json.RawMessage(`[{"Platform":"Windows"},{"Platform":"Android"}]`),
			Info:         json.RawMessage(`{"Action":"Login","To_Account":"testuser316","Reason":"Register"}`)}, "testuser316"},
		{"profile-updated", &events.ProfileUpdated{FromAccount: "id1", OperatorAccount: "id1",
			ProfileItem: json.RawMessage(`[{"Tag":"Tag_Profile_IM_Nick","Value":"nick1"},{"Tag":"Tag_Profile_IM_Gender","Value":"Gender_Type_Male"},{"Tag":"Tag_Profile_IM_AllowType","Value":"AllowType_Type_NeedConfirm"},{"Tag":"Tag_Profile_Custom_Data","Value":"your custom data"}]`)}, "id1"},
		{"official-info-changed", &events.OfficialInfoChanged{OfficialAccount: "@TOA#_test_OA_for_penn", OperatorAccount: "leckie",
			Name: sp("NewName"), Introduction: sp("NewNotification"), FaceURL: sp("http://this.is.newface.url"), Organization: sp("NewOrganization")},
			"@TOA#_test_OA_for_penn"},
		{"bot-group-message", &events.BotGroupMessage{GroupID: "@TGS#2J4SZEAEL", GroupType: "Public", FromAccount: "jared", OperatorAccount: "admin",
			AtRobotsAccount: []string{"@RBT#001"}, Random: u32(123456), MsgSeq: u64(123), MsgTime: i64(1490686222), OnlineOnlyFlag: i64(1),
			MsgBody:         json.RawMessage(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"@@RBT#001 hello"}}]`),
			CloudCustomData: json.RawMessage(`"your cloud custom data"`)}, "@TGS#2J4SZEAEL"},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			route := routeNamed(t, tt.route)
			key, value, headers := asRecord(t, route, route.Command, goldenBody(t, tt.route))
			if string(key) != tt.key {
				t.Fatalf("key %s, want %s", key, tt.key)
			}
			ev, err := events.Decode(key, value, headers)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, ev, cmpopts.IgnoreFields(events.Envelope{}, "EventID", "SDKAppID", "CallbackCommand", "ReceivedAt", "RequestTime", "EventTime", "Version")); d != "" {
				t.Fatalf("decoded (-want +got):\n%s", d)
			}
			if _, err := events.Decode([]byte("other"), value, headers); err == nil {
				t.Fatal("a record with another key decoded")
			}
		})
	}
}
