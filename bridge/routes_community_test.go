package bridge

import (
	"strings"
	"testing"
	"time"
)

// The community decoders refuse what Chat does not send, each error naming the field.
func TestCommunityDecodersRefuse(t *testing.T) {
	long := strings.Repeat("a", 33)
	tests := []struct {
		command, give, want string
	}{
		{CommandAfterCreateTopic, `{"TopicId":"t"}`, "GroupId is missing"},
		{CommandAfterCreateTopic, `{"GroupId":null,"TopicId":"t"}`, "GroupId is missing"},
		{CommandAfterCreateTopic, `{"GroupId":"","TopicId":"t"}`, "GroupId is empty"},
		{CommandAfterCreateTopic, `{"GroupId":1,"TopicId":"t"}`, "GroupId must be a string"},
		{CommandAfterCreateTopic, `{"GroupId":"g\u0000","TopicId":"t"}`, "GroupId contains a NUL character"},
		{CommandAfterCreateTopic, `{"groupid":"g","TopicId":"t"}`, "GroupId is missing"},
		{CommandAfterCreateTopic, `{"GroupId":"g"}`, "TopicId is missing"},
		{CommandAfterCreateTopic, `{"GroupId":"g","TopicId":"t","Operator_Account":"` + long + `"}`, "Operator_Account is 33 bytes; at most 32 are allowed"},
		{CommandAfterCreateTopic, `{"GroupId":"g","TopicId":"t","UserDefinedDataList":{}}`, "UserDefinedDataList must be an array"},
		{CommandAfterCreateTopic, `{"GroupId":"g","TopicId":"t","EventTime":"+1"}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
		{CommandAfterCreateTopic, `{"GroupId":"g","TopicId":"t","EventTime":-1}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
		{CommandAfterTopicDestroyed, `{"GroupId":"g"}`, "TopicIdList is missing"},
		{CommandAfterTopicDestroyed, `{"GroupId":"g","TopicIdList":[]}`, "TopicIdList is empty"},
		{CommandAfterTopicDestroyed, `{"GroupId":"g","TopicIdList":["t",1]}`, "TopicIdList[1] must be a string"},
		{CommandAfterTopicDestroyed, `{"GroupId":"g","TopicIdList":[""]}`, "TopicIdList[0] is empty"},
		{CommandAfterTopicInfoChanged, `{"GroupId":"g","Name":5}`, "Name must be a string"},
		{CommandAfterReadReceipt, `{"GroupId":"g","GroupMsgReceiptList":[{"ReadNum":1}]}`, "GroupMsgReceiptList[0].MsgSeq is missing"},
		{CommandAfterReadReceipt, `{"GroupId":"g","GroupMsgReceiptList":[{"MsgSeq":"x1"}]}`, "GroupMsgReceiptList[0].MsgSeq must be a non-negative integer"},
		{CommandAfterReadReceipt, `{"GroupId":"g","GroupMsgReceiptList":[{"MsgSeq":1.5}]}`, "GroupMsgReceiptList[0].MsgSeq must be a non-negative integer"},
		{CommandAfterReadReceipt, `{"GroupId":"g","GroupMsgReceiptList":[{"MsgSeq":-5}]}`, "GroupMsgReceiptList[0].MsgSeq must be a non-negative integer"},
		{CommandAfterGroupMsgExtension, `{"GroupId":"g","MsgSeq":-1}`, "MsgSeq must be a non-negative integer"},
		{CommandSendMsgException, `{"GroupId":"g","Random":4294967296}`, "Random must be an integer from 0 to 4294967295"},
		{CommandAfterReadReceipt, `{"GroupId":"g","GroupMsgReceiptList":[1]}`, "GroupMsgReceiptList[0] must be an object"},
		{CommandAfterGroupAttrChanged, `{"GroupId":"g","GroupAttr":"k=v"}`, "GroupAttr must be an array"},
		{CommandAfterChangeGroupOwner, `{"GroupId":"g","OldOwner_Account":"a"}`, "NewOwner_Account is missing"},
		{CommandOnMemberStateChange, `{"GroupId":"g","MemberList":[{"Member_Account":"a"}]}`, "EventType is missing"},
		{CommandOnMemberStateChange, `{"GroupId":"g","EventType":"Offline"}`, "MemberList is missing"},
		{CommandOnMemberStateChange, `{"GroupId":"g","EventType":"Offline","MemberList":[{"Member_Account":""}]}`, "MemberList[0].Member_Account is empty"},
		{CommandSendMsgException, `{"GroupId":"g","MsgBody":{"MsgType":"TIMTextElem"}}`, "MsgBody must be an array"},
		{CommandSendMsgException, `{"GroupId":"g","ErrorCode":"10023e0"}`, "ErrorCode must be an integer"},
		{CommandAfterGroupMsgExtension, `{"GroupId":"g","OperateType":1}`, "MsgSeq is missing"},
	}
	routes := NewRoutes(DefaultRoutes...)
	for _, tt := range tests {
		route, ok := routes.Lookup(tt.command)
		if !ok {
			t.Fatalf("no route for %s", tt.command)
		}
		body := `{"CallbackCommand":"` + tt.command + `",` + strings.TrimPrefix(tt.give, "{")
		_, err := Map(Callback{Query: Query{CallbackCommand: tt.command}, AppID: 1, Body: []byte(body)}, route)
		if ErrorKind(err) != KindBadRequest || err.Error() != tt.want {
			t.Errorf("%s %s: %v, want %q", tt.command, tt.give, err, tt.want)
		}
	}
}

// The community decoders read CallbackCommand under its exact name, as every other
// member: a body naming it in other letter cases is refused.
func TestCommunityDecodersExactCommand(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandAfterGroupAttrChanged)
	tests := []struct{ give, want string }{
		{`{"callbackcommand":"Group.CallbackAfterGroupAttrChanged","GroupId":"g"}`, "CallbackCommand is missing from the body"},
		{`{"CallbackCommand":"Other","CALLBACKCOMMAND":"Group.CallbackAfterGroupAttrChanged","GroupId":"g"}`,
			`CallbackCommand in the body ("Other") differs from the query's ("Group.CallbackAfterGroupAttrChanged")`},
	}
	for _, tt := range tests {
		_, err := Map(Callback{Query: Query{CallbackCommand: CommandAfterGroupAttrChanged}, AppID: 1, Body: []byte(tt.give)}, route)
		if ErrorKind(err) != KindBadRequest || err.Error() != tt.want {
			t.Errorf("%s: %v, want %q", tt.give, err, tt.want)
		}
	}
}

// A community topic's name is carried as sent, as every other name: no HTML escaping.
func TestTopicCreatedNameAsSent(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandAfterCreateTopic)
	body := `{"CallbackCommand":"Group.CallbackAfterCreateTopic","GroupId":"g","TopicId":"t","Name":"A & <B> \u00e9"}`
	events := mapped(t, Callback{Query: Query{CallbackCommand: CommandAfterCreateTopic}, AppID: 1, Body: []byte(body), ReceivedAt: time.Unix(1669872112, 0)}, route)
	if value := string(Records(events)[0].Value); !strings.Contains(value, `"name":"A & <B> \u00e9"`) {
		t.Fatalf("value %s", value)
	}
}
