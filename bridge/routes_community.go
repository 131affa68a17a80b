package bridge

import (
	"encoding/json"
	"math"
)

// Command names of the community and group-extra webhooks.
const (
	// CommandAfterCreateTopic: a community topic was created (TopicId within GroupId).
	CommandAfterCreateTopic = "Group.CallbackAfterCreateTopic"
	// CommandAfterTopicDestroyed: community topics were deleted (TopicIdList).
	CommandAfterTopicDestroyed = "Group.CallbackAfterTopicDestroyed"
	// CommandAfterTopicInfoChanged: a topic's name, introduction, notice or avatar
	// changed; Chat documents GroupId only, not the topic.
	CommandAfterTopicInfoChanged = "Group.CallbackAfterTopicInfoChanged"
	// CommandAfterReadReceipt: read receipts of group messages changed
	// (GroupMsgReceiptList, one entry per MsgSeq).
	CommandAfterReadReceipt = "Group.CallbackAfterReadReceipt"
	// CommandAfterGroupAttrChanged: a group's custom attributes were set, modified,
	// cleared or deleted.
	CommandAfterGroupAttrChanged = "Group.CallbackAfterGroupAttrChanged"
	// CommandAfterChangeGroupOwner: a group's ownership was transferred
	// (OldOwner_Account to NewOwner_Account).
	CommandAfterChangeGroupOwner = "Group.CallbackAfterChangeGroupOwner"
	// CommandOnMemberStateChange: members of an audio-video group went offline or
	// came back online (MemberList).
	CommandOnMemberStateChange = "Group.CallbackOnMemberStateChange"
	// CommandSendMsgException: a group message could not be delivered to the
	// group's members (ErrorCode, ErrorInfo say why).
	CommandSendMsgException = "Group.CallbackSendMsgException"
	// CommandAfterGroupMsgExtension: key-value extensions of a group message
	// (MsgSeq) were set, deleted or cleared.
	CommandAfterGroupMsgExtension = "Group.CallbackAfterGroupMsgExtension"
)

// groupCommunityRoutes are the routes of communities and group extras: topics, read
// receipts, attributes, owner, member state, delivery failures and message extensions,
// keyed by GroupId; read receipts, delivery failures and extensions (message events) on
// TopicGroupMessage, the rest on TopicGroup.
var groupCommunityRoutes = []Route{
	{Name: "group-topic-created", Command: CommandAfterCreateTopic, Topic: TopicGroup, Type: "imbridge.group.topic.created.v1",
		Decode: decodeAfterCreateTopic, Key: "GroupId", Events: "one per callback"},
	{Name: "group-topic-destroyed", Command: CommandAfterTopicDestroyed, Topic: TopicGroup, Type: "imbridge.group.topic.destroyed.v1",
		Decode: decodeAfterTopicDestroyed, Key: "GroupId", Events: "one per TopicIdList entry"},
	{Name: "group-topic-changed", Command: CommandAfterTopicInfoChanged, Topic: TopicGroup, Type: "imbridge.group.topic.changed.v1",
		Decode: decodeAfterTopicInfoChanged, Key: "GroupId", Events: "one per callback"},
	{Name: "group-receipt", Command: CommandAfterReadReceipt, Topic: TopicGroupMessage, Type: "imbridge.group.receipt.v1",
		Decode: decodeAfterReadReceipt, Key: "GroupId", Events: "one per GroupMsgReceiptList entry"},
	{Name: "group-attributes-changed", Command: CommandAfterGroupAttrChanged, Topic: TopicGroup, Type: "imbridge.group.attributes.changed.v1",
		Decode: decodeAfterGroupAttrChanged, Key: "GroupId", Events: "one per callback"},
	{Name: "group-owner-changed", Command: CommandAfterChangeGroupOwner, Topic: TopicGroup, Type: "imbridge.group.owner.changed.v1",
		Decode: decodeAfterChangeGroupOwner, Key: "GroupId", Events: "one per callback"},
	{Name: "group-member-state-changed", Command: CommandOnMemberStateChange, Topic: TopicGroup, Type: "imbridge.group.member.state.changed.v1",
		Decode: decodeOnMemberStateChange, Key: "GroupId", Events: "one per MemberList entry"},
	{Name: "group-message-failed", Command: CommandSendMsgException, Topic: TopicGroupMessage, Type: "imbridge.group.message.failed.v1",
		Decode: decodeSendMsgException, Key: "GroupId", Events: "one per callback"},
	{Name: "group-message-extension-changed", Command: CommandAfterGroupMsgExtension, Topic: TopicGroupMessage, Type: "imbridge.group.message.extension.changed.v1",
		Decode: decodeAfterGroupMsgExtension, Key: "GroupId", Events: "one per callback"},
}

// decodeAfterCreateTopic reads Group.CallbackAfterCreateTopic: GroupId and TopicId
// are required; UserDefinedDataList is kept as sent.
func decodeAfterCreateTopic(o Object) ([]Subject, int64) {
	groupID, topicID := o.ID("GroupId"), o.ID("TopicId")
	return one(groupID, Fields("groupId", groupID, "topicId", topicID, "groupType", o.Str("Type"),
		"operatorAccount", o.Account("Operator_Account"), "ownerAccount", o.Account("Owner_Account"), "name", o.Text("Name"),
		"userDefinedDataList", o.Array("UserDefinedDataList"))), o.EventTime()
}

// decodeAfterTopicDestroyed reads Group.CallbackAfterTopicDestroyed: one subject per
// TopicIdList entry, a non-empty string each.
func decodeAfterTopicDestroyed(o Object) ([]Subject, int64) {
	groupID, groupType := o.ID("GroupId"), o.Str("Type")
	var subjects []Subject
	for _, e := range o.Elements("TopicIdList", true) {
		subjects = append(subjects, Subject{Key: groupID, Fields: Fields("groupId", groupID, "topicId", e.ID(), "groupType", groupType)})
	}
	return subjects, o.EventTime()
}

// decodeAfterTopicInfoChanged reads Group.CallbackAfterTopicInfoChanged. Chat
// documents no TopicId for it; one is published when the body has it. The changed
// members are published as sent, "" included.
func decodeAfterTopicInfoChanged(o Object) ([]Subject, int64) {
	groupID := o.ID("GroupId")
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", o.Str("Type"),
		"operatorAccount", o.Account("Operator_Account"), "name", o.Text("Name"), "introduction", o.Text("Introduction"),
		"notification", o.Text("Notification"), "faceUrl", o.Text("FaceUrl"))), o.EventTime()
}

// decodeAfterReadReceipt reads Group.CallbackAfterReadReceipt: one subject per
// GroupMsgReceiptList entry, each with its MsgSeq; ReadReceiptMembers become the
// readers' UserIDs.
func decodeAfterReadReceipt(o Object) ([]Subject, int64) {
	groupID, groupType, topicID := o.ID("GroupId"), o.Str("Type"), o.SubjectStr("TopicId")
	var subjects []Subject
	for _, e := range o.Elements("GroupMsgReceiptList", true) {
		r := e.Object()
		seq, readNum, unreadNum := r.RequiredUint("MsgSeq", MaxMsgSeq), r.Int("ReadNum"), r.Int("UnreadNum")
		var readers any // left out when absent, or when an entry is not a usable account
		if accounts := r.Accounts("ReadReceiptMembers", "Member_Account"); accounts != nil || (r.Has("ReadReceiptMembers") && r.Len("ReadReceiptMembers") == 0) {
			readers = append([]string{}, accounts...)
		}
		subjects = append(subjects, Subject{Key: groupID, Fields: Fields("groupId", groupID, "topicId", topicID, "groupType", groupType, "msgSeq", seq,
			"readNum", readNum, "unreadNum", unreadNum, "readReceiptMembers", readers,
			"readReceiptMemberList", r.Array("ReadReceiptMembers"), "entryExtra", r.Extra())})
	}
	return subjects, o.EventTime()
}

// decodeAfterGroupAttrChanged reads Group.CallbackAfterGroupAttrChanged: GroupAttr
// (the attributes' {key, value} objects) is kept as sent.
func decodeAfterGroupAttrChanged(o Object) ([]Subject, int64) {
	groupID := o.ID("GroupId")
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", o.Str("Type"), "operatorAccount", o.Account("Operator_Account"),
		"optionType", o.Str("OptionType"), "groupAttr", o.Array("GroupAttr"))), o.EventTime()
}

// decodeAfterChangeGroupOwner reads Group.CallbackAfterChangeGroupOwner:
// NewOwner_Account is required.
func decodeAfterChangeGroupOwner(o Object) ([]Subject, int64) {
	groupID := o.ID("GroupId")
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", o.Str("Type"), "operatorAccount", o.Account("Operator_Account"),
		"oldOwnerAccount", o.Account("OldOwner_Account"), "newOwnerAccount", o.RequiredAccount("NewOwner_Account"))), o.EventTime()
}

// decodeOnMemberStateChange reads Group.CallbackOnMemberStateChange: one subject per
// MemberList entry; EventType is required.
func decodeOnMemberStateChange(o Object) ([]Subject, int64) {
	groupID, groupType, eventType, cause, topicID := o.ID("GroupId"), o.Str("Type"), o.Required("EventType"), o.Str("EventCause"), o.SubjectStr("TopicId")
	members := memberList(o, "MemberList", true)
	subjects := make([]Subject, len(members))
	for i, m := range members {
		subjects[i] = Subject{Key: groupID, Fields: Fields("groupId", groupID, "topicId", topicID, "groupType", groupType, "eventType", eventType, "eventCause", cause,
			"memberAccount", m.account, "entryExtra", json.RawMessage(m.extra))}
	}
	return subjects, o.EventTime()
}

// decodeSendMsgException reads Group.CallbackSendMsgException: the message that could
// not be delivered (MsgBody and CloudCustomData kept as sent) and why (ErrorCode,
// ErrorInfo).
func decodeSendMsgException(o Object) ([]Subject, int64) {
	groupID := o.ID("GroupId")
	// CloudCustomData is a string in Chat's documentation; any JSON is carried as sent,
	// as in the other message routes.
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", o.Str("Type"), "fromAccount", o.Account("From_Account"),
		"operatorAccount", o.Account("Operator_Account"), "random", o.Uint("Random", math.MaxUint32), "onlineOnlyFlag", o.Int("OnlineOnlyFlag"),
		"msgBody", o.Array("MsgBody"), "cloudCustomData", o.JSON("CloudCustomData"), "errorCode", o.Int("ErrorCode"),
		"errorInfo", o.Str("ErrorInfo"))), o.EventTime()
}

// decodeAfterGroupMsgExtension reads Group.CallbackAfterGroupMsgExtension: the message
// (MsgSeq, required) whose extensions were set, deleted or cleared (OperateType 1, 2,
// 3); ExtensionList is kept as sent.
func decodeAfterGroupMsgExtension(o Object) ([]Subject, int64) {
	groupID := o.ID("GroupId")
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", o.Str("Type"), "msgSeq", o.RequiredUint("MsgSeq", MaxMsgSeq), "operateType", o.Int("OperateType"),
		"extensionList", o.Array("ExtensionList"), "seq", o.Int("Seq"))), o.EventTime()
}
