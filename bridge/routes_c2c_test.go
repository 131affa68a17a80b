package bridge

import (
	"strings"
	"testing"
)

func TestConversationKey(t *testing.T) {
	tests := []struct {
		a, b string
		want string
	}{
		{"alice", "bob", `["alice","bob"]`},
		{"bob", "alice", `["alice","bob"]`},
		{"Jonh", "jared", `["Jonh","jared"]`}, // bytewise: upper case first
		{"a", "a", `["a","a"]`},
		{`x"y`, "<z>", `["\u003cz\u003e","x\"y"]`},
		{"张三", "z", `["z","张三"]`},
	}
	for _, tt := range tests {
		if got := ConversationKey(tt.a, tt.b); got != tt.want {
			t.Errorf("ConversationKey(%q, %q) = %s, want %s", tt.a, tt.b, got, tt.want)
		}
	}
}

// Both directions of one conversation get one key, whatever the command.
func TestC2CRoutesKeyByConversation(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	bodies := map[string][]string{
		CommandC2CAfterSendMsg: {
			`{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"b","To_Account":"a","MsgKey":"k"}`,
			`{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b","MsgKey":"k"}`,
		},
		CommandC2CAfterMsgWithDraw: {`{"CallbackCommand":"C2C.CallbackAfterMsgWithDraw","From_Account":"b","To_Account":"a","MsgKey":"k"}`},
		CommandC2CAfterMsgExtension: {
			`{"CallbackCommand":"C2C.CallbackAfterC2CMsgExtension","From_Account":"a","To_Account":"b","MsgKey":"k","OperateType":3}`,
		},
		CommandC2CAfterModifyMsg: {
			`{"CallbackCommand":"C2C.CallbackAfterModifyMsg","Operator_Account":"admin","From_Account":"b","To_Account":"a","MsgKey":"k"}`,
			`{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b","MsgKey":"k","CloudCustomData":"only this"}`,
		},
		CommandBotOnC2CMessage: {
			`{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"b","To_Account":"a","MsgKey":"k","SendMsgResult":0}`,
		},
	}
	for cmd, bs := range bodies {
		route, ok := routes.Lookup(cmd)
		if !ok || route.Topic != TopicC2C {
			t.Fatalf("%s: route %+v", cmd, route)
		}
		for _, b := range bs {
			evs, err := Map(Callback{Query: Query{CallbackCommand: cmd}, AppID: 1, Body: []byte(b)}, route)
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if len(evs) != 1 || string(evs[0].Key()) != `["a","b"]` {
				t.Fatalf("%s: %d events, key %s", b, len(evs), evs[0].Key())
			}
		}
	}
}

// A conversation read is keyed by the reader: one user's reads of two conversations
// share a key (one partition, in order), the two users of one conversation do not; a
// reader whose account holds a control character cannot be a key (quarantined).
func TestC2CConversationReadKeyedByReader(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandC2CAfterMsgReport)
	for body, key := range map[string]string{
		`{"CallbackCommand":"C2C.CallbackAfterMsgReport","Report_Account":"b","Peer_Account":"a","LastReadTime":1557481127}`: "b",
		`{"CallbackCommand":"C2C.CallbackAfterMsgReport","Report_Account":"b","Peer_Account":"c","LastReadTime":1557481128}`: "b",
		`{"CallbackCommand":"C2C.CallbackAfterMsgReport","Report_Account":"a","Peer_Account":"b","LastReadTime":1557481129}`: "a",
	} {
		evs, err := Map(Callback{Query: Query{CallbackCommand: CommandC2CAfterMsgReport}, AppID: 1, Body: []byte(body)}, route)
		if err != nil || len(evs) != 1 || string(evs[0].Key()) != key || evs[0].Topic != TopicC2C {
			t.Fatalf("%s: %+v, %v; want one event keyed %q", body, evs, err, key)
		}
	}
	body := `{"CallbackCommand":"C2C.CallbackAfterMsgReport","Report_Account":"b\n","Peer_Account":"a"}`
	_, err := Map(Callback{Query: Query{CallbackCommand: CommandC2CAfterMsgReport}, AppID: 1, Body: []byte(body)}, route)
	if want := `Report_Account "b\n" holds a control character, which no Kafka key may carry`; err == nil || err.Error() != want {
		t.Fatalf("%s: %v, want %s", body, err, want)
	}
}

func TestC2CRoutesReject(t *testing.T) {
	long := strings.Repeat("a", 33)
	checkRefusals(t, []refusal{
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","To_Account":"b","MsgKey":"k"}`, "From_Account is missing"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","from_account":"a","To_Account":"b","MsgKey":"k"}`, "From_Account is missing"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":null,"MsgKey":"k"}`, "To_Account is missing"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"","To_Account":"b","MsgKey":"k"}`, "From_Account is empty"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"` + long + `","MsgKey":"k"}`, "To_Account is 33 bytes; at most 32 are allowed"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a\u0000","To_Account":"b","MsgKey":"k"}`, "From_Account contains a NUL character"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":1,"To_Account":"b","MsgKey":"k"}`, "From_Account must be a string"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b"}`, "MsgKey is missing"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b","MsgKey":"k","MsgSeq":-1}`, "MsgSeq must be an integer from 0 to 4294967295"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b","MsgKey":"k","MsgTime":"1s"}`, "MsgTime must be an integer"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b","MsgKey":"k","MsgBody":{}}`, "MsgBody must be an array"},
		{CommandC2CAfterSendMsg, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a","To_Account":"b","MsgKey":"k","EventTime":"x"}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
		{CommandC2CAfterMsgWithDraw, `{"CallbackCommand":"C2C.CallbackAfterMsgWithDraw","From_Account":"a","To_Account":"b","MsgKey":""}`, "MsgKey is empty"},
		{CommandC2CAfterMsgReport, `{"CallbackCommand":"C2C.CallbackAfterMsgReport","Report_Account":"a"}`, "Peer_Account is missing"},
		{CommandC2CAfterMsgReport, `{"CallbackCommand":"C2C.CallbackAfterMsgReport","Report_Account":"a","Peer_Account":"b","LastReadTime":1.5}`, "LastReadTime must be an integer"},
		{CommandC2CAfterMsgExtension, `{"CallbackCommand":"C2C.CallbackAfterC2CMsgExtension","From_Account":"a","To_Account":"b","MsgKey":"k"}`, "OperateType is missing"},
		{CommandC2CAfterMsgExtension, `{"CallbackCommand":"C2C.CallbackAfterC2CMsgExtension","From_Account":"a","To_Account":"b","MsgKey":"k","OperateType":1,"ExtensionList":"x"}`, "ExtensionList must be an array"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","To_Account":"b","MsgKey":"k"}`, "From_Account is missing"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"","MsgKey":"k"}`, "To_Account is empty"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b"}`, "MsgKey is missing"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b","MsgKey":7}`, "MsgKey must be a string"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b","MsgKey":"k","Operator_Account":"` + long + `"}`, "Operator_Account is 33 bytes; at most 32 are allowed"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b","MsgKey":"k","MsgSeq":4294967296}`, "MsgSeq must be an integer from 0 to 4294967295"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b","MsgKey":"k","MsgRandom":"x"}`, "MsgRandom must be an integer from 0 to 4294967295"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b","MsgKey":"k","MsgTime":1.5}`, "MsgTime must be an integer"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b","MsgKey":"k","MsgBody":"edited"}`, "MsgBody must be an array"},
		{CommandC2CAfterModifyMsg, `{"CallbackCommand":"C2C.CallbackAfterModifyMsg","From_Account":"a","To_Account":"b","MsgKey":"k","EventTime":-1}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","To_Account":"@RBT#1","MsgKey":"k"}`, "From_Account is missing"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","MsgKey":"k"}`, "To_Account is missing"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","To_Account":["@RBT#1"],"MsgKey":"k"}`, "To_Account must be a string"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","To_Account":"@RBT#1"}`, "MsgKey is missing"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","To_Account":"@RBT#1","MsgKey":"k","MsgSeq":"-1"}`, "MsgSeq must be an integer from 0 to 4294967295"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","To_Account":"@RBT#1","MsgKey":"k","OnlineOnlyFlag":true}`, "OnlineOnlyFlag must be an integer"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","To_Account":"@RBT#1","MsgKey":"k","SendMsgResult":"ok"}`, "SendMsgResult must be an integer"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","To_Account":"@RBT#1","MsgKey":"k","ErrorInfo":0}`, "ErrorInfo must be a string"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","To_Account":"@RBT#1","MsgKey":"k","MsgId":1}`, "MsgId must be a string"},
		{CommandBotOnC2CMessage, `{"CallbackCommand":"Bot.OnC2CMessage","From_Account":"a","To_Account":"@RBT#1","MsgKey":"k","MsgBody":null,"CloudCustomData":1,"EventTime":"1.5"}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
	})
}

// The EventTime of a one-to-one webhook is read as a number or as a string of digits.
func TestC2CEventTimeForms(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandC2CAfterMsgWithDraw)
	for _, et := range []string{`1670574414123`, `"1670574414123"`} {
		body := `{"CallbackCommand":"C2C.CallbackAfterMsgWithDraw","From_Account":"a","To_Account":"b","MsgKey":"k","EventTime":` + et + `}`
		evs, err := Map(Callback{Query: Query{CallbackCommand: CommandC2CAfterMsgWithDraw}, AppID: 1, Body: []byte(body)}, route)
		if err != nil || evs[0].EventTime != 1670574414123 {
			t.Fatalf("EventTime %s: %+v, %v", et, evs, err)
		}
	}
}

// A message to a chatbot reads as C2C.CallbackAfterSendMsg's body reads, without
// UnreadMsgNum: one Chat might add arrives under extra, and the message sent keeps its
// fields in their order.
func TestBotC2CMessageWithoutUnread(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	const fields = `"fromAccount":"a","toAccount":"b","msgKey":"k","errorInfo":"send msg succeed"`
	tests := []struct{ cmd, want string }{
		{CommandC2CAfterSendMsg, fields + `,"unreadMsgNum":7,"msgBody":[]`},
		{CommandBotOnC2CMessage, fields + `,"msgBody":[],"extra":{"UnreadMsgNum":7}`},
	}
	for _, tt := range tests {
		route, _ := routes.Lookup(tt.cmd)
		body := `{"CallbackCommand":"` + tt.cmd + `","From_Account":"a","To_Account":"b","MsgKey":"k","UnreadMsgNum":7,"ErrorInfo":"send msg succeed","MsgBody":[]}`
		evs, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(body)}, route)
		if err != nil || string(evs[0].Subject.Fields) != tt.want {
			t.Errorf("%s: %v, fields %s; want %s", tt.cmd, err, evs[0].Subject.Fields, tt.want)
		}
	}
}
