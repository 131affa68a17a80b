package bridge

import "encoding/json"

// Commands of the Call product's webhooks (TUICallKit): registered through the Call
// product's own REST API, not Chat's console, with the same URL protocol and
// signature.
const (
	// CommandCallStarted: a user started a call.
	CommandCallStarted = "Call.CallbackAfterStartCall"
	// CommandCallEnded: a call ended (at most one member was left).
	CommandCallEnded = "Call.CallbackAfterEndCall"
	// CommandCallMemberChanged: call members' states changed (answered, hung up,
	// rejected, invited, ...).
	CommandCallMemberChanged = "Call.CallbackAfterMemberChanged"
)

// callRoutes are the routes of calls, keyed by CallId, so that one call's start,
// member changes and end are in order in one partition.
var callRoutes = []Route{
	{Name: "call-started", Command: CommandCallStarted, Topic: TopicCall, Type: "imbridge.call.started.v1",
		Decode: decodeCallStarted, Key: "CallInfo.CallId", Events: "one per callback"},
	{Name: "call-ended", Command: CommandCallEnded, Topic: TopicCall, Type: "imbridge.call.ended.v1",
		Decode: decodeCallEnded, Key: "CallRecord.CallId", Events: "one per callback"},
	{Name: "call-member-changed", Command: CommandCallMemberChanged, Topic: TopicCall, Type: "imbridge.call.member.changed.v1",
		Decode: decodeCallMemberChanged, Key: "CallId", Events: "one per callback"},
}

// decodeCallStarted reads Call.CallbackAfterStartCall: the call (CallInfo, CallId
// required) and its members (UserList, [{User_Account, Status}] as sent). CallInfo is
// also carried whole as sent, beside its members read one by one.
func decodeCallStarted(o Object) ([]Subject, int64) {
	info := o.Object("CallInfo", true)
	callID := info.ID("CallId")
	return one(callID, Fields(
		"callId", callID,
		"mediaType", callMediaType(info),
		"chatGroupId", info.Str("ChatGroupId"),
		"roomId", info.Str("RoomId"),
		"roomIdType", info.Int("RoomIdType"),
		"userList", o.Array("UserList"),
		"callInfo", json.RawMessage(info.Bytes()),
	)), o.EventTime()
}

// decodeCallEnded reads Call.CallbackAfterEndCall: the call's record (CallRecord,
// CallId required), also carried whole as sent. CallResult (Cancel, Reject,
// NotAnswer, NormalEnd, ...) is a string in the English table and the sample and an
// integer in the Chinese table: it is carried as sent, whatever its JSON type.
func decodeCallEnded(o Object) ([]Subject, int64) {
	rec := o.Object("CallRecord", true)
	callID := rec.ID("CallId")
	return one(callID, Fields(
		"callId", callID,
		"callerAccount", rec.Account("Caller_Account"),
		"mediaType", callMediaType(rec),
		"callType", rec.Str("CallType"),
		"startTime", rec.Int("StartTime"),
		"endTime", rec.Int("EndTime"),
		"acceptTime", rec.Int("AcceptTime"),
		"callResult", rec.JSON("CallResult"),
		"calleeAccounts", orNil(rec.Accounts("CalleeList_Account", "")),
		"roomId", rec.Str("RoomId"),
		"roomIdType", rec.Int("RoomIdType"),
		"callRecord", json.RawMessage(rec.Bytes()),
	)), o.EventTime()
}

// decodeCallMemberChanged reads Call.CallbackAfterMemberChanged: the call, its
// members now (UserList) and those whose state changed, with why
// (ChangedUserList, [{User_Account, ActionType}]), both as sent.
func decodeCallMemberChanged(o Object) ([]Subject, int64) {
	callID := o.ID("CallId")
	return one(callID, Fields(
		"callId", callID,
		"userList", o.Array("UserList"),
		"changedUserList", o.Array("ChangedUserList"),
	)), o.EventTime()
}

// callMediaType reads a call's media type (Video, Audio): CallMediaType as the
// samples send it, or MediaType as the field tables name it; CallMediaType when both
// are there (the object is carried whole besides).
func callMediaType(o Object) string {
	sample, table := o.Str("CallMediaType"), o.Str("MediaType")
	if sample != "" {
		return sample
	}
	return table
}
