package bridge

import (
	"strings"
	"testing"
)

// Every call event is keyed by its CallId, wherever the callback has it, on the call
// topic: one call's start, member changes and end are in one partition.
func TestCallRoutesKeyByCallID(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	tests := []struct {
		cmd, body, fields string
	}{
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"c1","MediaType":"Video","RoomIdType":"2"},"EventTime":1740464128807}`,
			`"callId":"c1","mediaType":"Video","roomIdType":2,"callInfo":{"CallId":"c1","MediaType":"Video","RoomIdType":"2"}`},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"c1","CallMediaType":"Audio","MediaType":"Video"}}`,
			`"callId":"c1","mediaType":"Audio","callInfo":{"CallId":"c1","CallMediaType":"Audio","MediaType":"Video"}`},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c1","CallResult":3,"CalleeList_Account":["u2","u3"]}}`,
			`"callId":"c1","callResult":3,"calleeAccounts":["u2","u3"],"callRecord":{"CallId":"c1","CallResult":3,"CalleeList_Account":["u2","u3"]}`},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c1","CallMediaType":"Audio","CallResult":"NormalEnd","AcceptTime":0}}`,
			`"callId":"c1","mediaType":"Audio","acceptTime":0,"callResult":"NormalEnd","callRecord":{"CallId":"c1","CallMediaType":"Audio","CallResult":"NormalEnd","AcceptTime":0}`},
		{CommandCallMemberChanged, `{"CallbackCommand":"Call.CallbackAfterMemberChanged","CallId":"c1","ChangedUserList":[{"User_Account":"u2","ActionType":"HangUp"}]}`,
			`"callId":"c1","changedUserList":[{"User_Account":"u2","ActionType":"HangUp"}]`},
	}
	for _, tt := range tests {
		route, ok := routes.Lookup(tt.cmd)
		if !ok || route.Topic != TopicCall {
			t.Fatalf("%s: route %+v", tt.cmd, route)
		}
		evs, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(tt.body)}, route)
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if len(evs) != 1 || evs[0].Subject.Key != "c1" || string(evs[0].Subject.Fields) != tt.fields {
			t.Errorf("%s: %d events, key %q, fields\n%s\nwant\n%s", tt.body, len(evs), evs[0].Subject.Key, evs[0].Subject.Fields, tt.fields)
		}
	}
}

func TestCallRoutesReject(t *testing.T) {
	long := strings.Repeat("a", MaxAccountBytes+1)
	checkRefusals(t, []refusal{
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","UserList":[]}`, "CallInfo is missing"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":"c1"}`, "CallInfo must be an object"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallMediaType":"Audio"}}`, "CallInfo.CallId is missing"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":""}}`, "CallInfo.CallId is empty"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"c\u0000"}}`, "CallInfo.CallId contains a NUL character"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"c","CallMediaType":1}}`, "CallInfo.CallMediaType must be a string"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"c","RoomId":1234}}`, "CallInfo.RoomId must be a string"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"c","RoomIdType":"numeric"}}`, "CallInfo.RoomIdType must be an integer"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"c"},"UserList":{"User_Account":"u1"}}`, "UserList must be an array"},
		{CommandCallStarted, `{"CallbackCommand":"Call.CallbackAfterStartCall","CallInfo":{"CallId":"c"},"EventTime":"-1"}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallId":"c"}`, "CallRecord is missing"},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{}}`, "CallRecord.CallId is missing"},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c","Caller_Account":"` + long + `"}}`, "CallRecord.Caller_Account is 33 bytes; at most 32 are allowed"},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c","StartTime":"yesterday"}}`, "CallRecord.StartTime must be an integer"},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c","EndTime":1.5}}`, "CallRecord.EndTime must be an integer"},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c","CallType":["SingleCall"]}}`, "CallRecord.CallType must be a string"},
		{CommandCallMemberChanged, `{"CallbackCommand":"Call.CallbackAfterMemberChanged","UserList":[]}`, "CallId is missing"},
		{CommandCallMemberChanged, `{"CallbackCommand":"Call.CallbackAfterMemberChanged","CallId":7}`, "CallId must be a string"},
		{CommandCallMemberChanged, `{"CallbackCommand":"Call.CallbackAfterMemberChanged","CallId":"c","ChangedUserList":{}}`, "ChangedUserList must be an array"},
		{CommandCallMemberChanged, `{"CallbackCommand":"Call.CallbackAfterMemberChanged","CallId":"c","UserList":"u1"}`, "UserList must be an array"},
	})
}
