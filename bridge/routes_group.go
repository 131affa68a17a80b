package bridge

import (
	"encoding/json"
	"math"
)

// Command names of the group webhooks routed by groupRoutes.
const (
	CommandGroupCreated       = "Group.CallbackAfterCreateGroup"
	CommandGroupMemberJoined  = "Group.CallbackAfterNewMemberJoin"
	CommandGroupMemberExited  = "Group.CallbackAfterMemberExit"
	CommandGroupMessageSent   = "Group.CallbackAfterSendMsg"
	CommandGroupDestroyed     = "Group.CallbackAfterGroupDestroyed"
	CommandGroupInfoChanged   = "Group.CallbackAfterGroupInfoChanged"
	CommandGroupMessageRecall = "Group.CallbackAfterRecallMsg"
	CommandGroupFull          = "Group.CallbackAfterGroupFull"
	CommandGroupMemberChanged = "Group.CallbackAfterMemberFieldChanged"
	// CommandGroupMessageModified: a group message was modified (edited by its sender
	// or through the REST API).
	CommandGroupMessageModified = "Group.CallbackAfterModifyMsg"
)

// groupRoutes are the routes of groups: Group.* webhooks about groups, members and
// messages, keyed by GroupId; messages on TopicGroupMessage, the rest on TopicGroup.
var groupRoutes = []Route{
	{Name: "group-created", Command: CommandGroupCreated, Topic: TopicGroup, Type: "imbridge.group.created.v1",
		Decode: decodeGroupCreated, Key: "GroupId", Events: "one per callback"},
	{Name: "group-member-joined", Command: CommandGroupMemberJoined, Topic: TopicGroup, Type: "imbridge.group.member.joined.v1",
		Decode: decodeGroupMemberJoined, Key: "GroupId", Events: "one per new member"},
	{Name: "group-member-exited", Command: CommandGroupMemberExited, Topic: TopicGroup, Type: "imbridge.group.member.exited.v1",
		Decode: decodeGroupMemberExited, Key: "GroupId", Events: "one per member who left"},
	{Name: "group-message-sent", Command: CommandGroupMessageSent, Topic: TopicGroupMessage, Type: "imbridge.group.message.sent.v1",
		Decode: decodeGroupMessageSent, Key: "GroupId", Events: "one per callback"},
	{Name: "group-destroyed", Command: CommandGroupDestroyed, Topic: TopicGroup, Type: "imbridge.group.destroyed.v1",
		Decode: decodeGroupDestroyed, Key: "GroupId", Events: "one per callback"},
	{Name: "group-info-changed", Command: CommandGroupInfoChanged, Topic: TopicGroup, Type: "imbridge.group.info.changed.v1",
		Decode: decodeGroupInfoChanged, Key: "GroupId", Events: "one per callback"},
	{Name: "group-message-recalled", Command: CommandGroupMessageRecall, Topic: TopicGroupMessage, Type: "imbridge.group.message.recalled.v1",
		Decode: decodeGroupMessageRecalled, Key: "GroupId", Events: "one per recalled message"},
	{Name: "group-full", Command: CommandGroupFull, Topic: TopicGroup, Type: "imbridge.group.full.v1",
		Decode: decodeGroupFull, Key: "GroupId", Events: "one per callback"},
	{Name: "group-member-changed", Command: CommandGroupMemberChanged, Topic: TopicGroup, Type: "imbridge.group.member.changed.v1",
		Decode: decodeGroupMemberChanged, Key: "GroupId", Events: "one per callback"},
	// A modification joins its message's group, so that it follows the message on one
	// partition.
	{Name: "group-message-modified", Command: CommandGroupMessageModified, Topic: TopicGroupMessage, Type: "imbridge.group.message.modified.v1",
		Decode: decodeGroupMessageModified, Key: "GroupId", Events: "one per callback"},
}

// groupHead reads what every group webhook's body has: the group (required) and its
// type.
func groupHead(o Object) (groupID, groupType string) {
	return o.ID("GroupId"), o.Str("Type")
}

// member is one entry of a list of {"Member_Account": ...} objects: the account, and
// the entry's other members as sent (Extra).
type member struct {
	account string
	extra   []byte
}

// memberList reads a list of {"Member_Account": ...} objects, in order.
func memberList(o Object, n string, required bool) []member {
	var members []member
	for _, e := range o.Elements(n, required) {
		m := e.Object()
		account := m.RequiredAccount("Member_Account")
		members = append(members, member{account: account, extra: m.Extra()})
	}
	return members
}

// decodeGroupCreated reads Group.CallbackAfterCreateGroup: the new group, its owner,
// its first members and its custom fields (UserDefinedDataList, as sent).
func decodeGroupCreated(o Object) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", groupType,
		"operatorAccount", o.Account("Operator_Account"), "ownerAccount", o.Account("Owner_Account"), "name", o.Text("Name"),
		"memberAccounts", orNil(o.Accounts("MemberList", "Member_Account")), "memberList", o.Array("MemberList"),
		"userDefinedDataList", o.Array("UserDefinedDataList"))), o.EventTime()
}

// decodeGroupMembership reads Group.CallbackAfterNewMemberJoin and
// Group.CallbackAfterMemberExit: one subject per member of listName, with how they
// joined or left (howName: JoinType, ExitType) and who did it.
func decodeGroupMembership(o Object, howName, howField, listName string) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	how, operator, topicID := o.Str(howName), o.Account("Operator_Account"), o.SubjectStr("TopicId")
	members := memberList(o, listName, true)
	subjects := make([]Subject, len(members))
	for i, m := range members {
		subjects[i] = Subject{Key: groupID, Fields: Fields("groupId", groupID, "topicId", topicID, "groupType", groupType,
			howField, how, "operatorAccount", operator, "memberAccount", m.account, "entryExtra", json.RawMessage(m.extra))}
	}
	return subjects, o.EventTime()
}

func decodeGroupMemberJoined(o Object) ([]Subject, int64) {
	return decodeGroupMembership(o, "JoinType", "joinType", "NewMemberList")
}

func decodeGroupMemberExited(o Object) ([]Subject, int64) {
	return decodeGroupMembership(o, "ExitType", "exitType", "ExitMemberList")
}

// decodeGroupMessageSent reads Group.CallbackAfterSendMsg: the message (MsgSeq
// required; MsgBody, CloudCustomData and GroupAtInfo as sent).
func decodeGroupMessageSent(o Object) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	from, operator := o.Account("From_Account"), o.Account("Operator_Account")
	seq := o.RequiredUint("MsgSeq", MaxMsgSeq)
	random, msgID, msgTime, online := o.Uint("Random", math.MaxUint32), o.Str("MsgId"), o.Int("MsgTime"), o.Int("OnlineOnlyFlag")
	// CloudCustomData is a string in Chat's documentation; any JSON is carried as
	// sent, as in the other message routes.
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", groupType,
		"fromAccount", from, "operatorAccount", operator, "msgSeq", seq, "msgId", msgID,
		"random", random, "msgTime", msgTime, "onlineOnlyFlag", online,
		"msgBody", o.Array("MsgBody"), "cloudCustomData", o.JSON("CloudCustomData"), "groupAtInfo", o.Array("GroupAtInfo"))), o.EventTime()
}

// decodeGroupDestroyed reads Group.CallbackAfterGroupDestroyed: the group and its
// members when it was disbanded (communities send none).
func decodeGroupDestroyed(o Object) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", groupType,
		"ownerAccount", o.Account("Owner_Account"), "name", o.Text("Name"),
		"memberAccounts", orNil(o.Accounts("MemberList", "Member_Account")), "memberList", o.Array("MemberList"))), o.EventTime()
}

// decodeGroupInfoChanged reads Group.CallbackAfterGroupInfoChanged: the fields that
// changed, with their new values (possibly "").
func decodeGroupInfoChanged(o Object) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", groupType,
		"operatorAccount", o.Account("Operator_Account"), "name", o.Text("Name"), "introduction", o.Text("Introduction"),
		"notification", o.Text("Notification"), "faceUrl", o.Text("FaceUrl"))), o.EventTime()
}

// decodeGroupMessageRecalled reads Group.CallbackAfterRecallMsg: one subject per
// MsgSeqList entry; TopicId is set when the messages were in a community topic.
func decodeGroupMessageRecalled(o Object) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	operator, topicID := o.Account("Operator_Account"), o.SubjectStr("TopicId")
	var subjects []Subject
	for _, e := range o.Elements("MsgSeqList", true) {
		entry := e.Object()
		seq := entry.RequiredUint("MsgSeq", MaxMsgSeq)
		subjects = append(subjects, Subject{Key: groupID, Fields: Fields("groupId", groupID, "groupType", groupType,
			"topicId", topicID, "operatorAccount", operator, "msgSeq", seq, "entryExtra", entry.Extra())})
	}
	return subjects, o.EventTime()
}

// decodeGroupFull reads Group.CallbackAfterGroupFull; TopicId is set for a private
// community topic that is full.
func decodeGroupFull(o Object) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	return one(groupID, Fields("groupId", groupID, "groupType", groupType, "topicId", o.SubjectStr("TopicId"))), o.EventTime()
}

// decodeGroupMemberChanged reads Group.CallbackAfterMemberFieldChanged: the member
// (Member_Account, which one copy of the documentation names Modified_Account: that is
// read only without a Member_Account, so that a body with both carries
// Modified_Account under extra, as sent), its role after the change (Admin, Member) and
// its name card after it, as sent (possibly "").
func decodeGroupMemberChanged(o Object) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	operator := o.Account("Operator_Account")
	member := o.Account("Member_Account")
	if member == "" {
		member = o.Account("Modified_Account")
	}
	if member == "" {
		o.Fail("Member_Account", "is missing")
	}
	return one(groupID, Fields("groupId", groupID, "topicId", o.SubjectStr("TopicId"), "groupType", groupType,
		"operatorAccount", operator, "memberAccount", member, "role", o.Str("Role"), "nameCard", o.Text("NameCard"))), o.EventTime()
}

// decodeGroupMessageModified reads Group.CallbackAfterModifyMsg: the modified message
// (GroupId, TopicId when it is in a community topic, MsgSeq required), who modified it,
// and its MsgBody after the change, as sent. Chat's table lists neither the group's Type
// nor CloudCustomData, which the REST API can modify too: both are read as the group's
// other message events read them, should Chat send them.
func decodeGroupMessageModified(o Object) ([]Subject, int64) {
	groupID, groupType := groupHead(o)
	operator, topicID, seq := o.Account("Operator_Account"), o.SubjectStr("TopicId"), o.RequiredUint("MsgSeq", MaxMsgSeq)
	return one(groupID, Fields("groupId", groupID, "topicId", topicID, "groupType", groupType,
		"operatorAccount", operator, "msgSeq", seq,
		"msgBody", o.Array("MsgBody"), "cloudCustomData", o.JSON("CloudCustomData"))), o.EventTime()
}

// one is the single subject of a callback that gives one event.
func one(key string, fields []byte) []Subject { return []Subject{{Key: key, Fields: fields}} }

// orNil is nil for an empty list, so that Fields leaves it out.
func orNil[T any](s []T) any {
	if len(s) == 0 {
		return nil
	}
	return s
}
