package events

import "encoding/json"

// Event types of the group webhooks. Every one is keyed by its GroupID and published
// to the group topic.
const (
	// TypeGroupCreated is GroupCreated's type.
	TypeGroupCreated = "imbridge.group.created.v1"
	// TypeGroupMemberJoined is GroupMemberJoined's type.
	TypeGroupMemberJoined = "imbridge.group.member.joined.v1"
	// TypeGroupMemberExited is GroupMemberExited's type.
	TypeGroupMemberExited = "imbridge.group.member.exited.v1"
	// TypeGroupMessageSent is GroupMessageSent's type.
	TypeGroupMessageSent = "imbridge.group.message.sent.v1"
	// TypeGroupDestroyed is GroupDestroyed's type.
	TypeGroupDestroyed = "imbridge.group.destroyed.v1"
	// TypeGroupInfoChanged is GroupInfoChanged's type.
	TypeGroupInfoChanged = "imbridge.group.info.changed.v1"
	// TypeGroupMessageRecalled is GroupMessageRecalled's type.
	TypeGroupMessageRecalled = "imbridge.group.message.recalled.v1"
	// TypeGroupFull is GroupFull's type.
	TypeGroupFull = "imbridge.group.full.v1"
	// TypeGroupMemberChanged is GroupMemberChanged's type.
	TypeGroupMemberChanged = "imbridge.group.member.changed.v1"
	// TypeGroupMessageModified is GroupMessageModified's type.
	TypeGroupMessageModified = "imbridge.group.message.modified.v1"
)

// groupTypes are the event types of bridge's group routes.
var groupTypes = map[string]func() webhookEvent{
	TypeGroupCreated:         func() webhookEvent { return &GroupCreated{} },
	TypeGroupMemberJoined:    func() webhookEvent { return &GroupMemberJoined{} },
	TypeGroupMemberExited:    func() webhookEvent { return &GroupMemberExited{} },
	TypeGroupMessageSent:     func() webhookEvent { return &GroupMessageSent{} },
	TypeGroupDestroyed:       func() webhookEvent { return &GroupDestroyed{} },
	TypeGroupInfoChanged:     func() webhookEvent { return &GroupInfoChanged{} },
	TypeGroupMessageRecalled: func() webhookEvent { return &GroupMessageRecalled{} },
	TypeGroupFull:            func() webhookEvent { return &GroupFull{} },
	TypeGroupMemberChanged:   func() webhookEvent { return &GroupMemberChanged{} },
	TypeGroupMessageModified: func() webhookEvent { return &GroupMessageModified{} },
}

// GroupCreated is a group created (Group.CallbackAfterCreateGroup).
type GroupCreated struct {
	Envelope
	GroupID         string `json:"groupId"`
	TopicID         string `json:"topicId,omitempty"`
	GroupType       string `json:"groupType,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	OwnerAccount    string `json:"ownerAccount,omitempty"`
	// Name is nil when Chat left it out; "" is sent as "".
	Name *string `json:"name,omitempty"`
	// MemberAccounts are the initial members.
	MemberAccounts []string `json:"memberAccounts,omitempty"`
	// UserDefinedDataList is the group's custom fields as Chat sent them.
	UserDefinedDataList json.RawMessage `json:"userDefinedDataList,omitempty"`
	// MemberList is the initial members as Chat sent them ([{Member_Account, ...}]).
	MemberList json.RawMessage `json:"memberList,omitempty"`
}

func (e *GroupCreated) key() string { return e.GroupID }

// GroupMemberJoined is one member who joined a group (Group.CallbackAfterNewMemberJoin
// gives one per new member).
type GroupMemberJoined struct {
	Envelope
	GroupID   string `json:"groupId"`
	TopicID   string `json:"topicId,omitempty"`
	GroupType string `json:"groupType,omitempty"`
	// JoinType is Apply or Invited.
	JoinType        string `json:"joinType,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	MemberAccount   string `json:"memberAccount"`
}

func (e *GroupMemberJoined) key() string { return e.GroupID }

// GroupMemberExited is one member who left or was removed from a group
// (Group.CallbackAfterMemberExit gives one per member).
type GroupMemberExited struct {
	Envelope
	GroupID   string `json:"groupId"`
	TopicID   string `json:"topicId,omitempty"`
	GroupType string `json:"groupType,omitempty"`
	// ExitType is Kicked or Quit.
	ExitType        string `json:"exitType,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	MemberAccount   string `json:"memberAccount"`
}

func (e *GroupMemberExited) key() string { return e.GroupID }

// GroupMessageSent is a message delivered in a group (Group.CallbackAfterSendMsg).
type GroupMessageSent struct {
	Envelope
	GroupID         string `json:"groupId"`
	TopicID         string `json:"topicId,omitempty"`
	GroupType       string `json:"groupType,omitempty"`
	FromAccount     string `json:"fromAccount,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	// MsgSeq orders the group's messages.
	MsgSeq uint64 `json:"msgSeq"`
	MsgID  string `json:"msgId,omitempty"`
	// Random, MsgTime (Unix seconds) and OnlineOnlyFlag are nil when Chat left them
	// out; 0 is sent as 0.
	Random         *uint32 `json:"random,omitempty"`
	MsgTime        *int64  `json:"msgTime,omitempty"`
	OnlineOnlyFlag *int64  `json:"onlineOnlyFlag,omitempty"`
	// MsgBody, CloudCustomData and GroupAtInfo are as Chat sent them.
	MsgBody         json.RawMessage `json:"msgBody,omitempty"`
	CloudCustomData json.RawMessage `json:"cloudCustomData,omitempty"`
	GroupAtInfo     json.RawMessage `json:"groupAtInfo,omitempty"`
}

func (e *GroupMessageSent) key() string { return e.GroupID }

// GroupDestroyed is a group disbanded (Group.CallbackAfterGroupDestroyed).
type GroupDestroyed struct {
	Envelope
	GroupID      string `json:"groupId"`
	TopicID      string `json:"topicId,omitempty"`
	GroupType    string `json:"groupType,omitempty"`
	OwnerAccount string `json:"ownerAccount,omitempty"`
	// Name is nil when Chat left it out.
	Name *string `json:"name,omitempty"`
	// MemberAccounts are the members at the end; communities have none.
	MemberAccounts []string `json:"memberAccounts,omitempty"`
	// MemberList is the members at the end as Chat sent them ([{Member_Account, ...}]).
	MemberList json.RawMessage `json:"memberList,omitempty"`
}

func (e *GroupDestroyed) key() string { return e.GroupID }

// GroupInfoChanged is a change of a group's profile (Group.CallbackAfterGroupInfoChanged):
// the fields that changed are set, to their new values ("" when cleared); the others
// are nil.
type GroupInfoChanged struct {
	Envelope
	GroupID         string  `json:"groupId"`
	TopicID         string  `json:"topicId,omitempty"`
	GroupType       string  `json:"groupType,omitempty"`
	OperatorAccount string  `json:"operatorAccount,omitempty"`
	Name            *string `json:"name,omitempty"`
	Introduction    *string `json:"introduction,omitempty"`
	Notification    *string `json:"notification,omitempty"`
	FaceURL         *string `json:"faceUrl,omitempty"`
}

func (e *GroupInfoChanged) key() string { return e.GroupID }

// GroupMessageRecalled is one recalled group message (Group.CallbackAfterRecallMsg gives
// one per message).
type GroupMessageRecalled struct {
	Envelope
	GroupID   string `json:"groupId"`
	GroupType string `json:"groupType,omitempty"`
	// TopicID is the community topic the message was in, if any.
	TopicID         string `json:"topicId,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	MsgSeq          uint64 `json:"msgSeq"`
}

func (e *GroupMessageRecalled) key() string { return e.GroupID }

// GroupFull is a group, or a private community topic, that reached its member limit
// (Group.CallbackAfterGroupFull).
type GroupFull struct {
	Envelope
	GroupID   string `json:"groupId"`
	GroupType string `json:"groupType,omitempty"`
	TopicID   string `json:"topicId,omitempty"`
}

func (e *GroupFull) key() string { return e.GroupID }

// GroupMemberChanged is a change of a member's role or name card
// (Group.CallbackAfterMemberFieldChanged).
type GroupMemberChanged struct {
	Envelope
	GroupID         string `json:"groupId"`
	TopicID         string `json:"topicId,omitempty"`
	GroupType       string `json:"groupType,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	MemberAccount   string `json:"memberAccount"`
	// Role is Admin or Member after the change.
	Role string `json:"role,omitempty"`
	// NameCard is the name card after the change ("" when cleared), nil when it did
	// not change.
	NameCard *string `json:"nameCard,omitempty"`
}

func (e *GroupMemberChanged) key() string { return e.GroupID }

// GroupMessageModified is a group message that was modified
// (Group.CallbackAfterModifyMsg), on its group's key: it follows the message's
// GroupMessageSent in one partition. GroupID, TopicID and MsgSeq name the message.
type GroupMessageModified struct {
	Envelope
	GroupID string `json:"groupId"`
	// TopicID is the community topic the message is in; "" outside topics.
	TopicID   string `json:"topicId,omitempty"`
	GroupType string `json:"groupType,omitempty"`
	// OperatorAccount modified the message: its sender, or an admin.
	OperatorAccount string `json:"operatorAccount,omitempty"`
	MsgSeq          uint64 `json:"msgSeq"`
	// MsgBody and CloudCustomData are the content after the change, the JSON Chat
	// sent; nil when Chat left them out.
	MsgBody         json.RawMessage `json:"msgBody,omitempty"`
	CloudCustomData json.RawMessage `json:"cloudCustomData,omitempty"`
}

func (e *GroupMessageModified) key() string { return e.GroupID }
