package bridge

import (
	"strings"
	"testing"
	"time"
)

// The group decoders refuse, naming the field, what Chat's documentation does not
// allow, and read member names exactly.
func TestGroupRoutesReject(t *testing.T) {
	long := strings.Repeat("a", MaxAccountBytes+1)
	tests := []struct {
		command, body, want string
	}{
		{CommandGroupCreated, `{"callbackcommand":"Group.CallbackAfterCreateGroup","GroupId":"g"}`, "CallbackCommand is missing from the body"},
		{CommandGroupCreated, `{"CallbackCommand":"Other","callbackCommand":"Group.CallbackAfterCreateGroup","GroupId":"g"}`, "CallbackCommand in the body"},
		{CommandGroupCreated, `{"CallbackCommand":"Group.CallbackAfterCreateGroup"}`, "GroupId is missing"},
		{CommandGroupCreated, `{"CallbackCommand":"Group.CallbackAfterCreateGroup","groupid":"g"}`, "GroupId is missing"},
		{CommandGroupCreated, `{"CallbackCommand":"Group.CallbackAfterCreateGroup","GroupId":1}`, "GroupId must be a string"},
		{CommandGroupCreated, `{"CallbackCommand":"Group.CallbackAfterCreateGroup","GroupId":"g","EventTime":"x"}`, "EventTime must be"},
		{CommandGroupCreated, `{"CallbackCommand":"Group.CallbackAfterCreateGroup","GroupId":"g","Owner_Account":"` + long + `"}`, "Owner_Account is 33 bytes; at most 32 are allowed"},
		{CommandGroupMemberJoined, `{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g"}`, "NewMemberList is missing"},
		{CommandGroupMemberJoined, `{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g","NewMemberList":[]}`, "NewMemberList is empty"},
		{CommandGroupMemberJoined, `{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g","NewMemberList":["a"]}`, "NewMemberList[0] must be an object"},
		{CommandGroupMemberExited, `{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g","ExitMemberList":[{"member_account":"a"}]}`, "ExitMemberList[0].Member_Account is missing"},
		{CommandGroupMemberExited, `{"CallbackCommand":"Group.CallbackAfterMemberExit","GroupId":"g","ExitMemberList":[{"Member_Account":"a\u0000"}]}`, "ExitMemberList[0].Member_Account contains a NUL character"},
		{CommandGroupMessageSent, `{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"g"}`, "MsgSeq is missing"},
		{CommandGroupMessageSent, `{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"g","MsgSeq":-1}`, "MsgSeq must be a non-negative integer"},
		{CommandGroupMessageSent, `{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"g","MsgSeq":1,"Random":4294967296}`, "Random must be an integer from 0 to 4294967295"},
		{CommandGroupMessageSent, `{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"g","MsgSeq":1,"MsgBody":{}}`, "MsgBody must be an array"},
		{CommandGroupInfoChanged, `{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"g","Notification":1}`, "Notification must be a string"},
		{CommandGroupMessageRecall, `{"CallbackCommand":"Group.CallbackAfterRecallMsg","GroupId":"g","MsgSeqList":[{}]}`, "MsgSeqList[0].MsgSeq is missing"},
		{CommandGroupMessageRecall, `{"CallbackCommand":"Group.CallbackAfterRecallMsg","GroupId":"g","MsgSeqList":[{"MsgSeq":"-1"}]}`, "MsgSeqList[0].MsgSeq must be a non-negative integer"},
		{CommandGroupMessageRecall, `{"CallbackCommand":"Group.CallbackAfterRecallMsg","GroupId":"g"}`, "MsgSeqList is missing"},
		{CommandGroupFull, `{"CallbackCommand":"Group.CallbackAfterGroupFull","GroupId":"g","TopicId":[]}`, "TopicId must be a string"},
		{CommandGroupMemberChanged, `{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"g"}`, "Member_Account is missing"},
		{CommandGroupMessageModified, `{"CallbackCommand":"Group.CallbackAfterModifyMsg","TopicId":"","MsgSeq":53}`, "GroupId is missing"},
		{CommandGroupMessageModified, `{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"","MsgSeq":53}`, "GroupId is empty"},
		{CommandGroupMessageModified, `{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"g"}`, "MsgSeq is missing"},
		{CommandGroupMessageModified, `{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"g","MsgSeq":53.5}`, "MsgSeq must be a non-negative integer"},
		{CommandGroupMessageModified, `{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"g","MsgSeq":53,"TopicId":0}`, "TopicId must be a string"},
		{CommandGroupMessageModified, `{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"g","MsgSeq":53,"Operator_Account":"` + long + `"}`, "Operator_Account is 33 bytes; at most 32 are allowed"},
		{CommandGroupMessageModified, `{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"g","MsgSeq":53,"MsgBody":{"Text":"x"}}`, "MsgBody must be an array"},
		{CommandGroupMessageModified, `{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"g","MsgSeq":53,"EventTime":"soon"}`, "EventTime must be"},
	}
	routes := NewRoutes(DefaultRoutes...)
	for _, tt := range tests {
		route, _ := routes.Lookup(tt.command)
		_, err := Map(Callback{Query: Query{CallbackCommand: tt.command}, AppID: 1, Body: []byte(tt.body)}, route)
		if ErrorKind(err) != KindBadRequest || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a bad request saying %q", tt.body, err, tt.want)
		}
	}
}

// A group info change to "" is published as "", not left out.
func TestGroupInfoChangedKeepsEmpty(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandGroupInfoChanged)
	body := `{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"g","Notification":""}`
	events, err := Map(Callback{Query: Query{CallbackCommand: CommandGroupInfoChanged}, AppID: 1, Body: []byte(body)}, route)
	if err != nil || string(events[0].Subject.Fields) != `"groupId":"g","notification":""` || events[0].Subject.Key != "g" {
		t.Fatalf("Map = %+v, %v", events, err)
	}
}

// A message modified in a community topic is keyed by its group, as the message was,
// and carries its TopicId; one modified outside topics (TopicId "") has no topicId, and
// the TopicId as sent under extra.
func TestGroupMessageModifiedKeyedByGroup(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandGroupMessageModified)
	for body, fields := range map[string]string{
		`{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"@TGS#_g","TopicId":"@TGS#_g@TOPIC#_t","MsgSeq":"53"}`: `"groupId":"@TGS#_g","topicId":"@TGS#_g@TOPIC#_t","msgSeq":53`,
		`{"CallbackCommand":"Group.CallbackAfterModifyMsg","GroupId":"@TGS#_g","TopicId":"","MsgSeq":53}`:                   `"groupId":"@TGS#_g","msgSeq":53,"extra":{"TopicId":""}`,
	} {
		events, err := Map(Callback{Query: Query{CallbackCommand: CommandGroupMessageModified}, AppID: 1, Body: []byte(body)}, route)
		if err != nil || len(events) != 1 || events[0].Topic != TopicGroupMessage || events[0].Subject.Key != "@TGS#_g" || string(events[0].Subject.Fields) != fields {
			t.Fatalf("%s: Map = %+v, %v; want the fields %s", body, events, err, fields)
		}
	}
}

// A member-field change naming the member twice, as Member_Account and as
// Modified_Account, publishes Member_Account and carries Modified_Account as sent under
// extra; with Modified_Account alone, that is the member.
func TestGroupMemberChangedBothAccounts(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandGroupMemberChanged)
	for body, want := range map[string][]string{
		`{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"g","Member_Account":"m1","Modified_Account":"m2"}`: {`"memberAccount":"m1"`, `"extra":{"Modified_Account":"m2"}`},
		`{"CallbackCommand":"Group.CallbackAfterMemberFieldChanged","GroupId":"g","Modified_Account":"m2"}`:                       {`"memberAccount":"m2"`},
	} {
		events := mapped(t, Callback{Query: Query{CallbackCommand: CommandGroupMemberChanged}, AppID: 1, Body: []byte(body), ReceivedAt: time.Unix(1669872112, 0)}, route)
		value := string(Records(events)[0].Value)
		for _, w := range want {
			if !strings.Contains(value, w) {
				t.Errorf("%s: value %s lacks %s", body, value, w)
			}
		}
	}
}
