package events

import "encoding/json"

// Types of the Call product's events: their records are keyed by CallID, on the call
// topic, so that one call's start, member changes and end are in one partition.
const (
	TypeCallStarted       = "imbridge.call.started.v1"
	TypeCallEnded         = "imbridge.call.ended.v1"
	TypeCallMemberChanged = "imbridge.call.member.changed.v1"
)

// callTypes are the event types of bridge's call routes.
var callTypes = map[string]func() webhookEvent{
	TypeCallStarted:       func() webhookEvent { return &CallStarted{} },
	TypeCallEnded:         func() webhookEvent { return &CallEnded{} },
	TypeCallMemberChanged: func() webhookEvent { return &CallMemberChanged{} },
}

// CallStarted is a call a user started (Call.CallbackAfterStartCall). Strings are ""
// and pointers nil when Chat left the field out or sent "".
type CallStarted struct {
	Envelope
	CallID string `json:"callId"`
	// MediaType is Video or Audio.
	MediaType string `json:"mediaType,omitempty"`
	// ChatGroupID is the Chat group of a group call.
	ChatGroupID string `json:"chatGroupId,omitempty"`
	RoomID      string `json:"roomId,omitempty"`
	// RoomIDType is 1 for a numeric room ID, 2 for a string one.
	RoomIDType *int64 `json:"roomIdType,omitempty"`
	// UserList is the JSON Chat sent: [{User_Account, Status}], Status Calling or
	// Waiting.
	UserList json.RawMessage `json:"userList,omitempty"`
	// CallInfo is the JSON Chat sent, every member.
	CallInfo json.RawMessage `json:"callInfo,omitempty"`
}

func (e *CallStarted) key() string { return e.CallID }

// CallEnded is the record of a call that ended (Call.CallbackAfterEndCall).
type CallEnded struct {
	Envelope
	CallID        string `json:"callId"`
	CallerAccount string `json:"callerAccount,omitempty"`
	// MediaType is Video or Audio; CallType SingleCall or MultiCall.
	MediaType string `json:"mediaType,omitempty"`
	CallType  string `json:"callType,omitempty"`
	// StartTime, EndTime and AcceptTime (0: nobody answered) are Unix seconds.
	StartTime  *int64 `json:"startTime,omitempty"`
	EndTime    *int64 `json:"endTime,omitempty"`
	AcceptTime *int64 `json:"acceptTime,omitempty"`
	// CallResult is the JSON Chat sent: a string such as "NormalEnd" or "NotAnswer" (as
	// documented in English), or an integer (as documented in Chinese).
	CallResult     json.RawMessage `json:"callResult,omitempty"`
	CalleeAccounts []string        `json:"calleeAccounts,omitempty"`
	RoomID         string          `json:"roomId,omitempty"`
	RoomIDType     *int64          `json:"roomIdType,omitempty"`
	// CallRecord is the JSON Chat sent, every member.
	CallRecord json.RawMessage `json:"callRecord,omitempty"`
}

func (e *CallEnded) key() string { return e.CallID }

// CallMemberChanged is a change of call members' states
// (Call.CallbackAfterMemberChanged).
type CallMemberChanged struct {
	Envelope
	CallID string `json:"callId"`
	// UserList is the JSON Chat sent: the members now, [{User_Account, Status}].
	UserList json.RawMessage `json:"userList,omitempty"`
	// ChangedUserList is the JSON Chat sent: [{User_Account, ActionType}], ActionType
	// Accept, Reject, NotAnswer, Hangup (or HangUp), Join, Offline, Invite or
	// Cancel_Invite.
	ChangedUserList json.RawMessage `json:"changedUserList,omitempty"`
}

func (e *CallMemberChanged) key() string { return e.CallID }
