package events

import "encoding/json"

// Types of the user and account events.
const (
	// TypeStateChanged records are keyed by ToAccount.
	TypeStateChanged = "imbridge.state.changed.v1"
	// TypeProfileUpdated records are keyed by FromAccount.
	TypeProfileUpdated = "imbridge.profile.updated.v1"
	// TypeOfficialInfoChanged records are keyed by OfficialAccount.
	TypeOfficialInfoChanged = "imbridge.official.info.changed.v1"
	// TypeBotGroupMessage records are keyed by GroupID, on the group topic.
	TypeBotGroupMessage = "imbridge.bot.group.message.v1"
)

// userTypes are the event types of bridge's user routes.
var userTypes = map[string]func() webhookEvent{
	TypeStateChanged:        func() webhookEvent { return &StateChanged{} },
	TypeProfileUpdated:      func() webhookEvent { return &ProfileUpdated{} },
	TypeOfficialInfoChanged: func() webhookEvent { return &OfficialInfoChanged{} },
	TypeBotGroupMessage:     func() webhookEvent { return &BotGroupMessage{} },
}

// StateChanged is a user's online state change (State.StateChange): Action Login,
// Logout, Disconnect, ... with its Reason; an open set.
type StateChanged struct {
	Envelope
	ToAccount string `json:"toAccount"`
	Action    string `json:"action"`
	Reason    string `json:"reason,omitempty"`
	// KickedDevice is the JSON Chat sent: [{Platform}] of the devices this login
	// forced off.
	KickedDevice json.RawMessage `json:"kickedDevice,omitempty"`
	// Info is the body's Info as Chat sent it, every member included.
	Info json.RawMessage `json:"info,omitempty"`
}

func (e *StateChanged) key() string { return e.ToAccount }

// ProfileUpdated is a change of a user's profile (Profile.CallbackPortraitSet).
type ProfileUpdated struct {
	Envelope
	FromAccount     string `json:"fromAccount"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	// ProfileItem is the JSON Chat sent: [{Tag, Value}] of the fields set.
	ProfileItem json.RawMessage `json:"profileItem,omitempty"`
}

func (e *ProfileUpdated) key() string { return e.FromAccount }

// OfficialInfoChanged is a change of an official account's profile
// (OfficialAccount.CallbackAfterOfficialAccountInfoChanged). Name, Introduction,
// FaceURL and Organization are the values after the change, nil when Chat left them
// out.
type OfficialInfoChanged struct {
	Envelope
	OfficialAccount string  `json:"officialAccount"`
	OperatorAccount string  `json:"operatorAccount,omitempty"`
	Name            *string `json:"name,omitempty"`
	Introduction    *string `json:"introduction,omitempty"`
	FaceURL         *string `json:"faceUrl,omitempty"`
	Organization    *string `json:"organization,omitempty"`
}

func (e *OfficialInfoChanged) key() string { return e.OfficialAccount }

// BotGroupMessage is a group message that @-mentioned chatbots (Bot.OnGroupMessage).
type BotGroupMessage struct {
	Envelope
	GroupID         string   `json:"groupId"`
	TopicID         string   `json:"topicId,omitempty"`
	GroupType       string   `json:"groupType,omitempty"`
	FromAccount     string   `json:"fromAccount,omitempty"`
	OperatorAccount string   `json:"operatorAccount,omitempty"`
	AtRobotsAccount []string `json:"atRobotsAccount,omitempty"`
	Random          *uint32  `json:"random,omitempty"`
	MsgSeq          *uint64  `json:"msgSeq,omitempty"`
	MsgTime         *int64   `json:"msgTime,omitempty"`
	OnlineOnlyFlag  *int64   `json:"onlineOnlyFlag,omitempty"`
	// MsgBody and CloudCustomData are the JSON Chat sent.
	MsgBody         json.RawMessage `json:"msgBody,omitempty"`
	CloudCustomData json.RawMessage `json:"cloudCustomData,omitempty"`
}

func (e *BotGroupMessage) key() string { return e.GroupID }
