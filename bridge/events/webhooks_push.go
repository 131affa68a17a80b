package events

// Types of the push results, on the push topic, keyed by the recipient (ToAccount).
// Chat retries a batch of push results after a delay when the app is over its callback
// rate: the same result may arrive twice, with the same EventID (see Deduper).
const (
	TypePushAllMember = "imbridge.push.all.member.v1"
	TypePushOffline   = "imbridge.push.offline.v1"
)

// pushTypes are the event types of bridge's push routes.
var pushTypes = map[string]func() webhookEvent{
	TypePushAllMember: func() webhookEvent { return &PushAllMember{} },
	TypePushOffline:   func() webhookEvent { return &PushOffline{} },
}

// PushResult is what both push results report: how the push went for ToAccount.
// EventTime (in the Envelope) is the entry's, in Unix milliseconds, although Chat sends
// push times in seconds. Pointers are nil when Chat left the field out.
type PushResult struct {
	ToAccount string `json:"toAccount"`
	// EventType is 1 for an offline (vendor) push and 2 for an online one
	// (Push.AllMemberPush), or 1 for a one-to-one message and 2 for a group message
	// (Push.OfflinePush).
	EventType *int64 `json:"eventType,omitempty"`
	// PushPlatform is the vendor or channel; PushStage the stage of the push reported.
	PushPlatform *int64 `json:"pushPlatform,omitempty"`
	PushStage    *int64 `json:"pushStage,omitempty"`
	// ErrCode is 0 for success; ErrInfo the result as text ("" when not sent).
	ErrCode *int64 `json:"errCode,omitempty"`
	ErrInfo string `json:"errInfo,omitempty"`
}

// PushAllMember is the result of a push to all users, to tags or to a single user made
// with the push REST APIs (Push.AllMemberPush), one per recipient and stage.
type PushAllMember struct {
	Envelope
	PushResult
	// TaskID is the push task, as the REST API that created it returned it.
	TaskID string `json:"taskId"`
	// TaskTime is when the task was created, Unix seconds as sent.
	TaskTime *int64 `json:"taskTime,omitempty"`
}

func (e *PushAllMember) key() string { return e.ToAccount }

// PushOffline is the result of the offline push of a one-to-one message (MsgKey) or a
// group message (GroupID, MsgSeq) to ToAccount (Push.OfflinePush).
type PushOffline struct {
	Envelope
	PushResult
	FromAccount string  `json:"fromAccount,omitempty"`
	MsgKey      string  `json:"msgKey,omitempty"`
	GroupID     string  `json:"groupId,omitempty"`
	MsgSeq      *uint64 `json:"msgSeq,omitempty"`
	MsgRandom   *uint32 `json:"msgRandom,omitempty"`
	// MsgTime is when the message was sent, Unix seconds as sent.
	MsgTime *int64 `json:"msgTime,omitempty"`
	PushID  string `json:"pushId,omitempty"`
}

func (e *PushOffline) key() string { return e.ToAccount }
