package bridge

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// groupCommunityRoutes are the routes of communities and group extras: topics, read receipts, attributes, owner, member state, delivery failures and message extensions, keyed by GroupId.
var groupCommunityRoutes = []Route{
	{Name: "group-topic-created", Command: CommandAfterCreateTopic, Topic: TopicGroup, Type: "imbridge.group.topic.created.v1",
		Decode: decodeAfterCreateTopic, Key: "GroupId", Events: "one per callback"},
	{Name: "group-topic-destroyed", Command: CommandAfterTopicDestroyed, Topic: TopicGroup, Type: "imbridge.group.topic.destroyed.v1",
		Decode: decodeAfterTopicDestroyed, Key: "GroupId", Events: "one per TopicIdList entry"},
	{Name: "group-topic-changed", Command: CommandAfterTopicInfoChanged, Topic: TopicGroup, Type: "imbridge.group.topic.changed.v1",
		Decode: decodeAfterTopicInfoChanged, Key: "GroupId", Events: "one per callback"},
	{Name: "group-receipt", Command: CommandAfterReadReceipt, Topic: TopicGroup, Type: "imbridge.group.receipt.v1",
		Decode: decodeAfterReadReceipt, Key: "GroupId", Events: "one per GroupMsgReceiptList entry"},
	{Name: "group-attributes-changed", Command: CommandAfterGroupAttrChanged, Topic: TopicGroup, Type: "imbridge.group.attributes.changed.v1",
		Decode: decodeAfterGroupAttrChanged, Key: "GroupId", Events: "one per callback"},
	{Name: "group-owner-changed", Command: CommandAfterChangeGroupOwner, Topic: TopicGroup, Type: "imbridge.group.owner.changed.v1",
		Decode: decodeAfterChangeGroupOwner, Key: "GroupId", Events: "one per callback"},
	{Name: "group-member-state-changed", Command: CommandOnMemberStateChange, Topic: TopicGroup, Type: "imbridge.group.member.state.changed.v1",
		Decode: decodeOnMemberStateChange, Key: "GroupId", Events: "one per MemberList entry"},
	{Name: "group-message-failed", Command: CommandSendMsgException, Topic: TopicGroup, Type: "imbridge.group.message.failed.v1",
		Decode: decodeSendMsgException, Key: "GroupId", Events: "one per callback"},
	{Name: "group-message-extension-changed", Command: CommandAfterGroupMsgExtension, Topic: TopicGroup, Type: "imbridge.group.message.extension.changed.v1",
		Decode: decodeAfterGroupMsgExtension, Key: "GroupId", Events: "one per callback"},
}

// decodeAfterCreateTopic reads Group.CallbackAfterCreateTopic: GroupId and TopicId
// are required; UserDefinedDataList is kept as sent.
func decodeAfterCreateTopic(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var (
		groupID, topicID, groupType, operator, owner, name string
		userData                                           json.RawMessage
	)
	errs := []error{
		o.key("GroupId", &groupID),
		o.str("TopicId", true, &topicID),
		o.str("Type", false, &groupType),
		o.account("Operator_Account", false, &operator),
		o.account("Owner_Account", false, &owner),
		o.str("Name", false, &name),
		o.array("UserDefinedDataList", &userData),
	}
	et, err := o.eventTime()
	if err := firstBadField(append(errs, err)...); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: groupID, Fields: Fields("groupId", groupID, "topicId", topicID, "groupType", groupType,
		"operatorAccount", operator, "ownerAccount", owner, "name", name, "userDefinedDataList", userData)}}, et, nil
}

// decodeAfterTopicDestroyed reads Group.CallbackAfterTopicDestroyed: one subject per
// TopicIdList entry, a non-empty string each.
func decodeAfterTopicDestroyed(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var (
		groupID, groupType string
		topics             []json.RawMessage
	)
	if err := firstBadField(o.key("GroupId", &groupID), o.str("Type", false, &groupType), o.list("TopicIdList", true, &topics)); err != nil {
		return nil, 0, err
	}
	et, err := o.eventTime()
	if err != nil {
		return nil, 0, err
	}
	subjects := make([]Subject, len(topics))
	for i, raw := range topics {
		var topicID string
		if raw[0] != '"' || json.Unmarshal(raw, &topicID) != nil {
			return nil, 0, Errorf(KindBadRequest, "TopicIdList[%d] must be a string", i)
		}
		if topicID == "" {
			return nil, 0, Errorf(KindBadRequest, "TopicIdList[%d] is empty", i)
		}
		subjects[i] = Subject{Key: groupID, Fields: Fields("groupId", groupID, "topicId", topicID, "groupType", groupType)}
	}
	return subjects, et, nil
}

// decodeAfterTopicInfoChanged reads Group.CallbackAfterTopicInfoChanged. Chat
// documents no TopicId for it; one is published when the body has it. The changed
// members are published as sent, "" included.
func decodeAfterTopicInfoChanged(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var (
		groupID, topicID, groupType, operator     string
		name, introduction, notification, faceURL json.RawMessage
	)
	errs := []error{
		o.key("GroupId", &groupID),
		o.str("TopicId", false, &topicID),
		o.str("Type", false, &groupType),
		o.account("Operator_Account", false, &operator),
		o.changed("Name", &name),
		o.changed("Introduction", &introduction),
		o.changed("Notification", &notification),
		o.changed("FaceUrl", &faceURL),
	}
	et, err := o.eventTime()
	if err := firstBadField(append(errs, err)...); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: groupID, Fields: Fields("groupId", groupID, "topicId", topicID, "groupType", groupType,
		"operatorAccount", operator, "name", name, "introduction", introduction, "notification", notification,
		"faceUrl", faceURL)}}, et, nil
}

// decodeAfterReadReceipt reads Group.CallbackAfterReadReceipt: one subject per
// GroupMsgReceiptList entry, each with its MsgSeq; ReadReceiptMembers become the
// readers' UserIDs.
func decodeAfterReadReceipt(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var (
		groupID, groupType string
		receipts           []json.RawMessage
	)
	if err := firstBadField(o.key("GroupId", &groupID), o.str("Type", false, &groupType), o.list("GroupMsgReceiptList", true, &receipts)); err != nil {
		return nil, 0, err
	}
	et, err := o.eventTime()
	if err != nil {
		return nil, 0, err
	}
	subjects := make([]Subject, len(receipts))
	for i, raw := range receipts {
		r, err := readExactObject(raw, fmt.Sprintf("GroupMsgReceiptList[%d]", i))
		if err != nil {
			return nil, 0, err
		}
		var (
			msgSeq, readNum, unreadNum *int64
			members                    []json.RawMessage
		)
		if err := firstBadField(r.natural("MsgSeq", true, &msgSeq, math.MaxInt64), r.integer("ReadNum", false, &readNum),
			r.integer("UnreadNum", false, &unreadNum), r.list("ReadReceiptMembers", false, &members)); err != nil {
			return nil, 0, err
		}
		var readers any // left out when absent
		if members != nil {
			accounts, err := memberAccounts(members, r.name("ReadReceiptMembers"))
			if err != nil {
				return nil, 0, err
			}
			readers = accounts
		}
		subjects[i] = Subject{Key: groupID, Fields: Fields("groupId", groupID, "groupType", groupType, "msgSeq", *msgSeq,
			"readNum", intOrAbsent(readNum), "unreadNum", intOrAbsent(unreadNum), "readReceiptMembers", readers)}
	}
	return subjects, et, nil
}

// memberAccounts reads the elements of an array of {"Member_Account": ...} objects at
// path into the accounts, in order.
func memberAccounts(elems []json.RawMessage, path string) ([]string, error) {
	accounts := make([]string, len(elems))
	for i, e := range elems {
		m, err := readExactObject(e, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		if err := m.account("Member_Account", true, &accounts[i]); err != nil {
			return nil, err
		}
	}
	return accounts, nil
}

// decodeAfterGroupAttrChanged reads Group.CallbackAfterGroupAttrChanged: GroupAttr
// (the attributes' {key, value} objects) is kept as sent.
func decodeAfterGroupAttrChanged(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var (
		groupID, groupType, operator, option string
		attrs                                json.RawMessage
	)
	errs := []error{
		o.key("GroupId", &groupID),
		o.str("Type", false, &groupType),
		o.account("Operator_Account", false, &operator),
		o.str("OptionType", false, &option),
		o.array("GroupAttr", &attrs),
	}
	et, err := o.eventTime()
	if err := firstBadField(append(errs, err)...); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: groupID, Fields: Fields("groupId", groupID, "groupType", groupType, "operatorAccount", operator,
		"optionType", option, "groupAttr", attrs)}}, et, nil
}

// decodeAfterChangeGroupOwner reads Group.CallbackAfterChangeGroupOwner:
// NewOwner_Account is required.
func decodeAfterChangeGroupOwner(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var groupID, groupType, operator, oldOwner, newOwner string
	errs := []error{
		o.key("GroupId", &groupID),
		o.str("Type", false, &groupType),
		o.account("Operator_Account", false, &operator),
		o.account("OldOwner_Account", false, &oldOwner),
		o.account("NewOwner_Account", true, &newOwner),
	}
	et, err := o.eventTime()
	if err := firstBadField(append(errs, err)...); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: groupID, Fields: Fields("groupId", groupID, "groupType", groupType, "operatorAccount", operator,
		"oldOwnerAccount", oldOwner, "newOwnerAccount", newOwner)}}, et, nil
}

// decodeOnMemberStateChange reads Group.CallbackOnMemberStateChange: one subject per
// MemberList entry; EventType is required.
func decodeOnMemberStateChange(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var (
		groupID, eventType, cause string
		list                      []json.RawMessage
	)
	errs := []error{
		o.key("GroupId", &groupID),
		o.str("EventType", true, &eventType),
		o.str("EventCause", false, &cause),
		o.list("MemberList", true, &list),
	}
	et, err := o.eventTime()
	if err := firstBadField(append(errs, err)...); err != nil {
		return nil, 0, err
	}
	members, err := memberAccounts(list, "MemberList")
	if err != nil {
		return nil, 0, err
	}
	subjects := make([]Subject, len(members))
	for i, m := range members {
		subjects[i] = Subject{Key: groupID, Fields: Fields("groupId", groupID, "eventType", eventType, "eventCause", cause,
			"memberAccount", m)}
	}
	return subjects, et, nil
}

// decodeSendMsgException reads Group.CallbackSendMsgException: the message that could
// not be delivered (MsgBody and CloudCustomData kept as sent) and why (ErrorCode,
// ErrorInfo).
func decodeSendMsgException(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var (
		groupID, groupType, from, operator, errorInfo string
		random, onlineOnly, errorCode                 *int64
		msgBody, customData                           json.RawMessage
	)
	errs := []error{
		o.key("GroupId", &groupID),
		o.str("Type", false, &groupType),
		o.account("From_Account", false, &from),
		o.account("Operator_Account", false, &operator),
		o.natural("Random", false, &random, math.MaxUint32),
		o.integer("OnlineOnlyFlag", false, &onlineOnly),
		o.array("MsgBody", &msgBody),
	}
	// CloudCustomData is a string in Chat's documentation; any JSON is carried as sent,
	// as in the other message routes.
	customData = o.raw("CloudCustomData")
	errs = append(errs,
		o.integer("ErrorCode", false, &errorCode),
		o.str("ErrorInfo", false, &errorInfo))
	et, err := o.eventTime()
	if err := firstBadField(append(errs, err)...); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: groupID, Fields: Fields("groupId", groupID, "groupType", groupType, "fromAccount", from,
		"operatorAccount", operator, "random", intOrAbsent(random), "onlineOnlyFlag", intOrAbsent(onlineOnly),
		"msgBody", msgBody, "cloudCustomData", customData, "errorCode", intOrAbsent(errorCode),
		"errorInfo", errorInfo)}}, et, nil
}

// decodeAfterGroupMsgExtension reads Group.CallbackAfterGroupMsgExtension: the message
// (MsgSeq, required) whose extensions were set, deleted or cleared (OperateType 1, 2,
// 3); ExtensionList is kept as sent.
func decodeAfterGroupMsgExtension(body WebhookBody) ([]Subject, int64, error) {
	o := exactObject{members: body.Members}
	var (
		groupID              string
		msgSeq, operate, seq *int64
		extensions           json.RawMessage
	)
	errs := []error{
		o.key("GroupId", &groupID),
		o.natural("MsgSeq", true, &msgSeq, math.MaxInt64),
		o.integer("OperateType", false, &operate),
		o.array("ExtensionList", &extensions),
		o.integer("Seq", false, &seq),
	}
	et, err := o.eventTime()
	if err := firstBadField(append(errs, err)...); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: groupID, Fields: Fields("groupId", groupID, "msgSeq", *msgSeq, "operateType", intOrAbsent(operate),
		"extensionList", extensions, "seq", intOrAbsent(seq))}}, et, nil
}

// exactObject is a JSON object of a webhook body read member by member under the exact
// names Chat documents (encoding/json alone would also take "groupid" for GroupId).
// Null members are absent. Its methods return KindBadRequest *Errors naming the member
// with its path, such as "MemberList[1].Member_Account".
type exactObject struct {
	path    string // "" for the body
	members map[string]json.RawMessage
}

// readExactObject reads raw, already checked by CheckJSON, as an object at path.
func readExactObject(raw json.RawMessage, path string) (exactObject, error) {
	o := exactObject{path: path}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		if err := json.Unmarshal(raw, &o.members); err == nil {
			return o, nil
		}
	}
	if path == "" {
		return o, Errorf(KindBadRequest, "body must be a JSON object")
	}
	return o, Errorf(KindBadRequest, "%s must be an object", path)
}

// name is a member's name for messages.
func (o exactObject) name(n string) string {
	if o.path == "" {
		return n
	}
	return o.path + "." + n
}

// raw returns a member as sent; nil when absent or null.
func (o exactObject) raw(n string) json.RawMessage {
	v := o.members[n]
	if len(v) == 0 || string(v) == "null" {
		return nil
	}
	return v
}

// str reads a string member; required refuses it absent or empty.
func (o exactObject) str(n string, required bool, dst *string) error {
	v := o.raw(n)
	if v == nil {
		if required {
			return Errorf(KindBadRequest, "%s is missing", o.name(n))
		}
		return nil
	}
	if v[0] != '"' || json.Unmarshal(v, dst) != nil {
		return Errorf(KindBadRequest, "%s must be a string", o.name(n))
	}
	if required && *dst == "" {
		return Errorf(KindBadRequest, "%s is empty", o.name(n))
	}
	return nil
}

// changed reads a string member whose presence matters (a changed name, notice...):
// kept as the JSON string sent, so that a value changed to "" is published as "".
func (o exactObject) changed(n string, dst *json.RawMessage) error {
	var s string
	if err := o.str(n, false, &s); err != nil {
		return err
	}
	*dst = o.raw(n)
	return nil
}

// key reads a required string member that becomes a message key (GroupId): not empty,
// without a NUL character.
func (o exactObject) key(n string, dst *string) error {
	if err := o.str(n, true, dst); err != nil {
		return err
	}
	if bytes.IndexByte([]byte(*dst), 0) >= 0 {
		return Errorf(KindBadRequest, "%s contains a NUL character", o.name(n))
	}
	return nil
}

// account reads a UserID member: 1 to MaxAccountBytes bytes without a NUL character.
func (o exactObject) account(n string, required bool, dst *string) error {
	if err := o.str(n, required, dst); err != nil || *dst == "" {
		return err
	}
	switch {
	case len(*dst) > MaxAccountBytes:
		return Errorf(KindBadRequest, "%s is %d bytes; at most %d are allowed", o.name(n), len(*dst), MaxAccountBytes)
	case bytes.IndexByte([]byte(*dst), 0) >= 0:
		return Errorf(KindBadRequest, "%s contains a NUL character", o.name(n))
	}
	return nil
}

// integer reads an integer member; absent leaves dst nil.
func (o exactObject) integer(n string, required bool, dst **int64) error {
	v := o.raw(n)
	if v == nil {
		if required {
			return Errorf(KindBadRequest, "%s is missing", o.name(n))
		}
		return nil
	}
	var i int64
	if v[0] == '"' || unmarshalMember(v, &i) != nil {
		return Errorf(KindBadRequest, "%s must be an integer", o.name(n))
	}
	*dst = &i
	return nil
}

// natural reads an integer member from 0 to max: message sequence numbers and randoms,
// unsigned as in the other routes that carry them.
func (o exactObject) natural(n string, required bool, dst **int64, max int64) error {
	if err := o.integer(n, required, dst); err != nil {
		return err
	}
	if *dst != nil && (**dst < 0 || **dst > max) {
		return Errorf(KindBadRequest, "%s must be an integer from 0 to %d", o.name(n), max)
	}
	return nil
}

// array reads a member that must be an array, kept as sent (compacted by Fields).
func (o exactObject) array(n string, dst *json.RawMessage) error {
	v := o.raw(n)
	if v == nil {
		return nil
	}
	if v[0] != '[' {
		return Errorf(KindBadRequest, "%s must be an array", o.name(n))
	}
	*dst = v
	return nil
}

// list reads an array member element by element; required refuses it absent or
// empty, else absent leaves dst nil.
func (o exactObject) list(n string, required bool, dst *[]json.RawMessage) error {
	v := o.raw(n)
	if v == nil {
		if required {
			return Errorf(KindBadRequest, "%s is missing", o.name(n))
		}
		return nil
	}
	if v[0] != '[' || json.Unmarshal(v, dst) != nil {
		return Errorf(KindBadRequest, "%s must be an array", o.name(n))
	}
	if required && len(*dst) == 0 {
		return Errorf(KindBadRequest, "%s is empty", o.name(n))
	}
	if *dst == nil {
		*dst = []json.RawMessage{}
	}
	return nil
}

// eventTime reads EventTime with EventTime: an integer, or those digits as a string.
func (o exactObject) eventTime() (int64, error) { return EventTime(o.raw("EventTime")) }

// intOrAbsent turns an absent optional value into nil for Fields.
func intOrAbsent(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// firstBadField returns the first non-nil error.
func firstBadField(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
