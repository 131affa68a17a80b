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

// Each community event type decodes from a record that bridge.Map made of a documented
// body, field for field, and its record's key is the group.
func TestDecodeCommunityEvents(t *testing.T) {
	envelope := func(command string, eventTime int64) events.Envelope {
		e := events.Envelope{SDKAppID: 7, CallbackCommand: command, ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC),
			RequestTime: 1669872112, EventTime: eventTime, Version: 1669872112000}
		if eventTime > 0 {
			e.Version = eventTime
		}
		return e
	}
	tests := []struct {
		command, body string
		want          any
	}{
		{bridge.CommandAfterCreateTopic,
			`{"CallbackCommand":"Group.CallbackAfterCreateTopic","GroupId":"g1","TopicId":"g1@TOPIC#t","Operator_Account":"op","Owner_Account":"owner","Type":"Community","Name":"N","UserDefinedDataList":[{"Key":"k","Value":"v"}]}`,
			&events.GroupTopicCreated{Envelope: envelope(bridge.CommandAfterCreateTopic, 0), GroupID: "g1", TopicID: "g1@TOPIC#t",
				GroupType: "Community", OperatorAccount: "op", OwnerAccount: "owner", Name: ptr("N"), UserDefinedDataList: json.RawMessage(`[{"Key":"k","Value":"v"}]`)}},
		{bridge.CommandAfterTopicDestroyed,
			`{"CallbackCommand":"Group.CallbackAfterTopicDestroyed","GroupId":"g1","Type":"Community","TopicIdList":["g1@TOPIC#t"],"EventTime":"1670574414123"}`,
			&events.GroupTopicDestroyed{Envelope: envelope(bridge.CommandAfterTopicDestroyed, 1670574414123), GroupID: "g1", TopicID: "g1@TOPIC#t", GroupType: "Community"}},
		{bridge.CommandAfterTopicInfoChanged,
			`{"CallbackCommand":"Group.CallbackAfterTopicInfoChanged","GroupId":"g1","Type":"Community","Operator_Account":"op","Name":"N","Notification":""}`,
			&events.GroupTopicChanged{Envelope: envelope(bridge.CommandAfterTopicInfoChanged, 0), GroupID: "g1", GroupType: "Community",
				OperatorAccount: "op", Name: changedTo("N"), Notification: changedTo("")}},
		{bridge.CommandAfterReadReceipt,
			`{"CallbackCommand":"Group.CallbackAfterReadReceipt","GroupId":"g1","Type":"Public","GroupMsgReceiptList":[{"MsgSeq":7,"ReadNum":1,"UnreadNum":0,"ReadReceiptMembers":[{"Member_Account":"u0"}]}],"EventTime":1670574414123}`,
			&events.GroupReceipt{Envelope: envelope(bridge.CommandAfterReadReceipt, 1670574414123), GroupID: "g1", GroupType: "Public",
				MsgSeq: 7, ReadNum: count(1), UnreadNum: count(0), ReadReceiptMembers: []string{"u0"},
				ReadReceiptMemberList: json.RawMessage(`[{"Member_Account":"u0"}]`)}},
		{bridge.CommandAfterGroupAttrChanged,
			`{"CallbackCommand":"Group.CallbackAfterGroupAttrChanged","GroupId":"g1","Type":"Public","Operator_Account":"op","OptionType":"modify","GroupAttr":[{"key":"k","value":"v"}],"EventTime":"1670574414123"}`,
			&events.GroupAttributesChanged{Envelope: envelope(bridge.CommandAfterGroupAttrChanged, 1670574414123), GroupID: "g1", GroupType: "Public",
				OperatorAccount: "op", OptionType: "modify", GroupAttr: json.RawMessage(`[{"key":"k","value":"v"}]`)}},
		{bridge.CommandAfterChangeGroupOwner,
			`{"CallbackCommand":"Group.CallbackAfterChangeGroupOwner","GroupId":"g1","Type":"Public","Operator_Account":"admin","OldOwner_Account":"u1","NewOwner_Account":"u2","EventTime":"1670574414123"}`,
			&events.GroupOwnerChanged{Envelope: envelope(bridge.CommandAfterChangeGroupOwner, 1670574414123), GroupID: "g1", GroupType: "Public",
				OperatorAccount: "admin", OldOwnerAccount: "u1", NewOwnerAccount: "u2"}},
		{bridge.CommandOnMemberStateChange,
			`{"CallbackCommand":"Group.CallbackOnMemberStateChange","GroupId":"g1","EventType":"Online","EventCause":"Join","MemberList":[{"Member_Account":"u1"}]}`,
			&events.GroupMemberStateChanged{Envelope: envelope(bridge.CommandOnMemberStateChange, 0), GroupID: "g1", EventType: "Online",
				EventCause: "Join", MemberAccount: "u1"}},
		{bridge.CommandSendMsgException,
			`{"CallbackCommand":"Group.CallbackSendMsgException","GroupId":"g1","Type":"Public","From_Account":"u1","Operator_Account":"admin","Random":5,"OnlineOnlyFlag":0,"MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}],"CloudCustomData":"c","ErrorCode":10023,"ErrorInfo":"limit","EventTime":1670574414123}`,
			&events.GroupMessageFailed{Envelope: envelope(bridge.CommandSendMsgException, 1670574414123), GroupID: "g1", GroupType: "Public",
				FromAccount: "u1", OperatorAccount: "admin", Random: ptr(uint32(5)), OnlineOnlyFlag: count(0),
				MsgBody: json.RawMessage(`[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]`), CloudCustomData: json.RawMessage(`"c"`),
				ErrorCode: count(10023), ErrorInfo: "limit"}},
		{bridge.CommandAfterGroupMsgExtension,
			`{"CallbackCommand":"Group.CallbackAfterGroupMsgExtension","GroupId":"g1","MsgSeq":10,"OperateType":3,"ExtensionList":[],"Seq":58,"EventTime":1764688329047}`,
			&events.GroupMessageExtensionChanged{Envelope: envelope(bridge.CommandAfterGroupMsgExtension, 1764688329047), GroupID: "g1", MsgSeq: 10,
				OperateType: count(3), ExtensionList: json.RawMessage(`[]`), Seq: count(58)}},
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

// changedTo is a changed field's value.
func changedTo(s string) *string { return &s }

// count is an optional count's value.
func count(n int64) *int64 { return &n }
