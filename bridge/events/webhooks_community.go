package events

import "encoding/json"

// Event types of the community and group-extra webhooks. Every one is keyed by its
// GroupID and published to the group topic with the other group events.
const (
	// TypeGroupTopicCreated is GroupTopicCreated's type.
	TypeGroupTopicCreated = "imbridge.group.topic.created.v1"
	// TypeGroupTopicDestroyed is GroupTopicDestroyed's type.
	TypeGroupTopicDestroyed = "imbridge.group.topic.destroyed.v1"
	// TypeGroupTopicChanged is GroupTopicChanged's type.
	TypeGroupTopicChanged = "imbridge.group.topic.changed.v1"
	// TypeGroupReceipt is GroupReceipt's type.
	TypeGroupReceipt = "imbridge.group.receipt.v1"
	// TypeGroupAttributesChanged is GroupAttributesChanged's type.
	TypeGroupAttributesChanged = "imbridge.group.attributes.changed.v1"
	// TypeGroupOwnerChanged is GroupOwnerChanged's type.
	TypeGroupOwnerChanged = "imbridge.group.owner.changed.v1"
	// TypeGroupMemberStateChanged is GroupMemberStateChanged's type.
	TypeGroupMemberStateChanged = "imbridge.group.member.state.changed.v1"
	// TypeGroupMessageFailed is GroupMessageFailed's type.
	TypeGroupMessageFailed = "imbridge.group.message.failed.v1"
	// TypeGroupMessageExtensionChanged is GroupMessageExtensionChanged's type.
	TypeGroupMessageExtensionChanged = "imbridge.group.message.extension.changed.v1"
)

// communityTypes are the event types of bridge's community routes.
var communityTypes = map[string]func() webhookEvent{
	TypeGroupTopicCreated:            func() webhookEvent { return &GroupTopicCreated{} },
	TypeGroupTopicDestroyed:          func() webhookEvent { return &GroupTopicDestroyed{} },
	TypeGroupTopicChanged:            func() webhookEvent { return &GroupTopicChanged{} },
	TypeGroupReceipt:                 func() webhookEvent { return &GroupReceipt{} },
	TypeGroupAttributesChanged:       func() webhookEvent { return &GroupAttributesChanged{} },
	TypeGroupOwnerChanged:            func() webhookEvent { return &GroupOwnerChanged{} },
	TypeGroupMemberStateChanged:      func() webhookEvent { return &GroupMemberStateChanged{} },
	TypeGroupMessageFailed:           func() webhookEvent { return &GroupMessageFailed{} },
	TypeGroupMessageExtensionChanged: func() webhookEvent { return &GroupMessageExtensionChanged{} },
}

// GroupTopicCreated is a topic created in a community (Group.CallbackAfterCreateTopic).
type GroupTopicCreated struct {
	Envelope
	GroupID         string `json:"groupId"`
	TopicID         string `json:"topicId"`
	GroupType       string `json:"groupType,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	OwnerAccount    string `json:"ownerAccount,omitempty"`
	// Name is nil when Chat left it out.
	Name *string `json:"name,omitempty"`
	// UserDefinedDataList is the topic's custom fields as Chat sent them.
	UserDefinedDataList json.RawMessage `json:"userDefinedDataList,omitempty"`
}

func (e *GroupTopicCreated) key() string { return e.GroupID }

// GroupTopicDestroyed is a community topic deleted (Group.CallbackAfterTopicDestroyed:
// one event per deleted topic).
type GroupTopicDestroyed struct {
	Envelope
	GroupID   string `json:"groupId"`
	TopicID   string `json:"topicId"`
	GroupType string `json:"groupType,omitempty"`
}

func (e *GroupTopicDestroyed) key() string { return e.GroupID }

// GroupTopicChanged is a community topic whose name, introduction, notice or avatar
// changed (Group.CallbackAfterTopicInfoChanged). Only the changed fields are set; a
// pointer to "" is a field changed to empty. TopicID is empty unless Chat sent it: its
// documentation of the callback names no topic.
type GroupTopicChanged struct {
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

func (e *GroupTopicChanged) key() string { return e.GroupID }

// GroupReceipt is the read receipt of one group message (Group.CallbackAfterReadReceipt:
// one event per receipt entry).
type GroupReceipt struct {
	Envelope
	GroupID   string `json:"groupId"`
	TopicID   string `json:"topicId,omitempty"`
	GroupType string `json:"groupType,omitempty"`
	MsgSeq    uint64 `json:"msgSeq"`
	ReadNum   *int64 `json:"readNum,omitempty"`
	UnreadNum *int64 `json:"unreadNum,omitempty"`
	// ReadReceiptMembers are the UserIDs of members who read the message.
	ReadReceiptMembers []string `json:"readReceiptMembers,omitempty"`
	// ReadReceiptMemberList is ReadReceiptMembers as Chat sent them ([{Member_Account}]).
	ReadReceiptMemberList json.RawMessage `json:"readReceiptMemberList,omitempty"`
}

func (e *GroupReceipt) key() string { return e.GroupID }

// GroupAttributesChanged is a change of a group's custom attributes
// (Group.CallbackAfterGroupAttrChanged).
type GroupAttributesChanged struct {
	Envelope
	GroupID         string `json:"groupId"`
	TopicID         string `json:"topicId,omitempty"`
	GroupType       string `json:"groupType,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	// OptionType is set, modify, clear or delete; an open set.
	OptionType string `json:"optionType,omitempty"`
	// GroupAttr is the attributes concerned as Chat sent them ({key, value} objects).
	GroupAttr json.RawMessage `json:"groupAttr,omitempty"`
}

func (e *GroupAttributesChanged) key() string { return e.GroupID }

// GroupOwnerChanged is a group's ownership transferred (Group.CallbackAfterChangeGroupOwner).
type GroupOwnerChanged struct {
	Envelope
	GroupID         string `json:"groupId"`
	TopicID         string `json:"topicId,omitempty"`
	GroupType       string `json:"groupType,omitempty"`
	OperatorAccount string `json:"operatorAccount,omitempty"`
	OldOwnerAccount string `json:"oldOwnerAccount,omitempty"`
	NewOwnerAccount string `json:"newOwnerAccount"`
}

func (e *GroupOwnerChanged) key() string { return e.GroupID }

// GroupMemberStateChanged is a member of an audio-video group gone offline or back
// online (Group.CallbackOnMemberStateChange: one event per member).
type GroupMemberStateChanged struct {
	Envelope
	GroupID   string `json:"groupId"`
	TopicID   string `json:"topicId,omitempty"`
	GroupType string `json:"groupType,omitempty"`
	// EventType is Offline or Online; EventCause HeartbeatInterrupt, HeartbeatRecover,
	// Join or Quit. Both are open sets.
	EventType     string `json:"eventType"`
	EventCause    string `json:"eventCause,omitempty"`
	MemberAccount string `json:"memberAccount"`
}

func (e *GroupMemberStateChanged) key() string { return e.GroupID }

// GroupMessageFailed is a group message that could not be delivered to the group's
// members (Group.CallbackSendMsgException); ErrorCode and ErrorInfo say why.
type GroupMessageFailed struct {
	Envelope
	GroupID         string  `json:"groupId"`
	TopicID         string  `json:"topicId,omitempty"`
	GroupType       string  `json:"groupType,omitempty"`
	FromAccount     string  `json:"fromAccount,omitempty"`
	OperatorAccount string  `json:"operatorAccount,omitempty"`
	Random          *uint32 `json:"random,omitempty"`
	OnlineOnlyFlag  *int64  `json:"onlineOnlyFlag,omitempty"`
	// MsgBody is the message body as Chat sent it: an array of {MsgType, MsgContent}.
	MsgBody         json.RawMessage `json:"msgBody,omitempty"`
	CloudCustomData json.RawMessage `json:"cloudCustomData,omitempty"`
	ErrorCode       *int64          `json:"errorCode,omitempty"`
	ErrorInfo       string          `json:"errorInfo,omitempty"`
}

func (e *GroupMessageFailed) key() string { return e.GroupID }

// GroupMessageExtensionChanged is a change of a group message's key-value extensions
// (Group.CallbackAfterGroupMsgExtension): OperateType 1 set, 2 deleted, 3 cleared.
type GroupMessageExtensionChanged struct {
	Envelope
	GroupID string `json:"groupId"`
	// TopicID is the community topic of the message (topic messages are numbered per
	// topic), or "".
	TopicID     string `json:"topicId,omitempty"`
	GroupType   string `json:"groupType,omitempty"`
	MsgSeq      uint64 `json:"msgSeq"`
	OperateType *int64 `json:"operateType,omitempty"`
	// ExtensionList is the keys concerned as Chat sent them ({Key, Value, Seq}).
	ExtensionList json.RawMessage `json:"extensionList,omitempty"`
	// Seq is the message's extension version after the change.
	Seq *int64 `json:"seq,omitempty"`
}

func (e *GroupMessageExtensionChanged) key() string { return e.GroupID }
