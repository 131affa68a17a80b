package events_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
)

// Each group event type decodes from a record that bridge.Map made of a documented
// body, field for field, and its record's key is the group.
func TestDecodeGroupEvents(t *testing.T) {
	const eventTime = 1670574414123
	env := func(command string) events.Envelope {
		return events.Envelope{SDKAppID: 7, CallbackCommand: command, ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC),
			RequestTime: 1669872112, EventTime: eventTime, Version: eventTime}
	}
	s := func(v string) *string { return &v }
	tests := []struct {
		command, body string
		want          any
	}{
		{bridge.CommandGroupCreated,
			`{"CallbackCommand":"Group.CallbackAfterCreateGroup","GroupId":"g1","Operator_Account":"group_root","Owner_Account":"leckie","Type":"Public","Name":"MyFirstGroup","MemberList":[{"Member_Account":"bob"},{"Member_Account":"peter"}],"UserDefinedDataList":[{"Key":"UserDefined1","Value":"hello"}],"EventTime":"1670574414123"}`,
			&events.GroupCreated{Envelope: env(bridge.CommandGroupCreated), GroupID: "g1", GroupType: "Public", OperatorAccount: "group_root",
				OwnerAccount: "leckie", Name: ptr("MyFirstGroup"), MemberAccounts: []string{"bob", "peter"},
				MemberList:          json.RawMessage(`[{"Member_Account":"bob"},{"Member_Account":"peter"}]`),
				UserDefinedDataList: json.RawMessage(`[{"Key":"UserDefined1","Value":"hello"}]`)}},
		{bridge.CommandGroupMemberJoined,
			`{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g1","Type":"Public","JoinType":"Apply","Operator_Account":"leckie","NewMemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":"1670574414123"}`,
			&events.GroupMemberJoined{Envelope: env(bridge.CommandGroupMemberJoined), GroupID: "g1", GroupType: "Public", JoinType: "Apply",
				OperatorAccount: "leckie", MemberAccount: "jared"}},
		{bridge.CommandGroupMemberExited,
			`{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g1","Type":"Public","ExitType":"Kicked","Operator_Account":"leckie","ExitMemberList":[{"Member_Account":"jared"}],"EventTime":"1670574414123"}`,
			&events.GroupMemberExited{Envelope: env(bridge.CommandGroupMemberExited), GroupID: "g1", GroupType: "Public", ExitType: "Kicked",
				OperatorAccount: "leckie", MemberAccount: "jared"}},
		{bridge.CommandGroupMessageSent,
			`{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"g1","Type":"Public","From_Account":"jared","Operator_Account":"admin","Random":123456,"MsgSeq":123,"MsgId":"144115233406643804-1727580296-4026038328","MsgTime":1490686222,"OnlineOnlyFlag":1,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],"CloudCustomData":"your cloud custom data","EventTime":1670574414123,"GroupAtInfo":[{"GroupAtAllFlag":1}]}`,
			&events.GroupMessageSent{Envelope: env(bridge.CommandGroupMessageSent), GroupID: "g1", GroupType: "Public", FromAccount: "jared",
				OperatorAccount: "admin", MsgSeq: 123, MsgID: "144115233406643804-1727580296-4026038328", Random: ptr(uint32(123456)), MsgTime: ptr(int64(1490686222)),
				OnlineOnlyFlag: ptr(int64(1)), MsgBody: json.RawMessage(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}]`),
				CloudCustomData: json.RawMessage(`"your cloud custom data"`), GroupAtInfo: json.RawMessage(`[{"GroupAtAllFlag":1}]`)}},
		{bridge.CommandGroupDestroyed,
			`{"CallbackCommand":"Group.CallbackAfterGroupDestroyed","GroupId":"g1","Type":"Public","Owner_Account":"leckie","Name":"MyFirstGroup","MemberList":[{"Member_Account":"leckie"}],"EventTime":"1670574414123"}`,
			&events.GroupDestroyed{Envelope: env(bridge.CommandGroupDestroyed), GroupID: "g1", GroupType: "Public", OwnerAccount: "leckie",
				Name: ptr("MyFirstGroup"), MemberAccounts: []string{"leckie"},
				MemberList: json.RawMessage(`[{"Member_Account":"leckie"}]`)}},
		{bridge.CommandGroupInfoChanged,
			`{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"g1","Type":"Public","Operator_Account":"leckie","Notification":"NewNotification","Introduction":"","EventTime":"1670574414123"}`,
			&events.GroupInfoChanged{Envelope: env(bridge.CommandGroupInfoChanged), GroupID: "g1", GroupType: "Public", OperatorAccount: "leckie",
				Notification: s("NewNotification"), Introduction: s("")}},
		{bridge.CommandGroupMessageRecall,
			`{"CallbackCommand":"Group.CallbackAfterRecallMsg","Operator_Account":"admin","Type":"Community","GroupId":"g1","MsgSeqList":[{"MsgSeq":130},{"MsgSeq":131}],"TopicId":"g1@TOPIC#_TestTopic","EventTime":"1670574414123"}`,
			&events.GroupMessageRecalled{Envelope: env(bridge.CommandGroupMessageRecall), GroupID: "g1", GroupType: "Community",
				TopicID: "g1@TOPIC#_TestTopic", OperatorAccount: "admin", MsgSeq: 130}},
		{bridge.CommandGroupFull,
			`{"CallbackCommand":"Group.CallbackAfterGroupFull","GroupId":"g1","EventTime":"1670574414123"}`,
			&events.GroupFull{Envelope: env(bridge.CommandGroupFull), GroupID: "g1"}},
		{bridge.CommandGroupMemberChanged,
			`{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"g1","Type":"Community","Operator_Account":"admin","Modified_Account":"123456","Role":"Admin","NameCard":"jacky","EventTime":"1670574414123"}`,
			&events.GroupMemberChanged{Envelope: env(bridge.CommandGroupMemberChanged), GroupID: "g1", GroupType: "Community",
				OperatorAccount: "admin", MemberAccount: "123456", Role: "Admin", NameCard: s("jacky")}},
		{bridge.CommandGroupMessageModified,
			`{"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"2026-03-06T02:09:35.302Z"}}],"CallbackCommand":"Group.CallbackAfterModifyMsg","Operator_Account":"oper-user","GroupId":"g1","TopicId":"g1@TOPIC#_t","MsgSeq":53,"EventTime":1670574414123}`,
			&events.GroupMessageModified{Envelope: env(bridge.CommandGroupMessageModified), GroupID: "g1", TopicID: "g1@TOPIC#_t",
				OperatorAccount: "oper-user", MsgSeq: 53, MsgBody: json.RawMessage(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"2026-03-06T02:09:35.302Z"}}]`)}},
	}
	routes := bridge.NewRoutes(bridge.DefaultRoutes...)
	for _, tt := range tests {
		t.Run(tt.command, func(t *testing.T) {
			route, ok := routes.Lookup(tt.command)
			if !ok {
				t.Fatalf("no route for %s", tt.command)
			}
			key, value, headers := asRecord(t, route, tt.command, tt.body)
			got, err := events.Decode(key, value, headers)
			if err != nil {
				t.Fatal(err)
			}
			// The event ID is Map's to choose (Decode refuses a record without one).
			noID := cmp.Transformer("noEventID", func(e events.Envelope) events.Envelope { e.EventID = ""; return e })
			if d := cmp.Diff(tt.want, got, noID); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
			if string(key) != "g1" {
				t.Errorf("key %q, want the group g1", key)
			}
			if _, err := events.Decode([]byte("other"), value, headers); !errors.Is(err, events.ErrInconsistent) {
				t.Errorf("a record keyed other than by its group: %v", err)
			}
		})
	}
}
