package bridge

import (
	"encoding/json"
	"strconv"
	"strings"
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
)

// groupRoutes are the routes of groups: Group.* webhooks about groups, members and messages, keyed by GroupId.
var groupRoutes = []Route{
	{Name: "group-created", Command: CommandGroupCreated, Topic: TopicGroup, Type: "imbridge.group.created.v1",
		Decode: decodeGroupCreated, Key: "GroupId", Events: "one per callback"},
	{Name: "group-member-joined", Command: CommandGroupMemberJoined, Topic: TopicGroup, Type: "imbridge.group.member.joined.v1",
		Decode: decodeGroupMemberJoined, Key: "GroupId", Events: "one per new member"},
	{Name: "group-member-exited", Command: CommandGroupMemberExited, Topic: TopicGroup, Type: "imbridge.group.member.exited.v1",
		Decode: decodeGroupMemberExited, Key: "GroupId", Events: "one per member who left"},
	{Name: "group-message-sent", Command: CommandGroupMessageSent, Topic: TopicGroup, Type: "imbridge.group.message.sent.v1",
		Decode: decodeGroupMessageSent, Key: "GroupId", Events: "one per callback"},
	{Name: "group-destroyed", Command: CommandGroupDestroyed, Topic: TopicGroup, Type: "imbridge.group.destroyed.v1",
		Decode: decodeGroupDestroyed, Key: "GroupId", Events: "one per callback"},
	{Name: "group-info-changed", Command: CommandGroupInfoChanged, Topic: TopicGroup, Type: "imbridge.group.info.changed.v1",
		Decode: decodeGroupInfoChanged, Key: "GroupId", Events: "one per callback"},
	{Name: "group-message-recalled", Command: CommandGroupMessageRecall, Topic: TopicGroup, Type: "imbridge.group.message.recalled.v1",
		Decode: decodeGroupMessageRecalled, Key: "GroupId", Events: "one per recalled message"},
	{Name: "group-full", Command: CommandGroupFull, Topic: TopicGroup, Type: "imbridge.group.full.v1",
		Decode: decodeGroupFull, Key: "GroupId", Events: "one per callback"},
	{Name: "group-member-changed", Command: CommandGroupMemberChanged, Topic: TopicGroup, Type: "imbridge.group.member.changed.v1",
		Decode: decodeGroupMemberChanged, Key: "GroupId", Events: "one per callback"},
}

// groupObject is a JSON object's members by their exact names: Chat's names are
// case-sensitive, and encoding/json would also take "groupid" for GroupId.
type groupObject map[string]json.RawMessage

// readGroupObject reads raw as a JSON object; what names it in errors.
func readGroupObject(raw json.RawMessage, what string) (groupObject, error) {
	var o groupObject
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, Errorf(KindBadRequest, "%s must be an object", what)
	}
	return o, nil
}

// present reports whether the member name is there and not null.
func (o groupObject) present(name string) bool {
	raw, ok := o[name]
	return ok && string(raw) != "null"
}

// decode reads the member name into v (left as is when absent or null); kind says
// what it must be in the error.
func (o groupObject) decode(name, kind string, v any) error {
	if !o.present(name) {
		return nil
	}
	if err := unmarshalMember(o[name], v); err != nil {
		return Errorf(KindBadRequest, "%s must be %s", name, kind)
	}
	return nil
}

// str reads an optional string member.
func (o groupObject) str(name string) (string, error) {
	var s string
	err := o.decode(name, "a string", &s)
	return s, err
}

// groupID reads the required GroupId: a non-empty string without NUL.
func (o groupObject) groupID() (string, error) {
	id, err := o.str("GroupId")
	switch {
	case err != nil:
		return "", err
	case id == "":
		return "", Errorf(KindBadRequest, "GroupId is missing")
	case strings.ContainsRune(id, 0):
		return "", Errorf(KindBadRequest, "GroupId contains a NUL character")
	}
	return id, nil
}

// account reads an account member (a UserID); required refuses it absent or empty.
func (o groupObject) account(name string, required bool) (string, error) {
	a, err := o.str(name)
	switch {
	case err != nil:
		return "", err
	case a == "":
		if required {
			return "", Errorf(KindBadRequest, "%s is missing", name)
		}
		return "", nil
	case len(a) > MaxAccountBytes:
		return "", Errorf(KindBadRequest, "%s is %d bytes; at most %d are allowed", name, len(a), MaxAccountBytes)
	case strings.ContainsRune(a, 0):
		return "", Errorf(KindBadRequest, "%s contains a NUL character", name)
	}
	return a, nil
}

// text reads an optional string member as the JSON Chat sent, so that a value
// changed to "" is kept.
func (o groupObject) text(name string) (json.RawMessage, error) {
	var s string
	if err := o.decode(name, "a string", &s); err != nil || !o.present(name) {
		return nil, err
	}
	return o[name], nil
}

// content reads an optional member of any JSON type (message bodies, custom data),
// kept as Chat sent it.
func (o groupObject) content(name string) json.RawMessage {
	if !o.present(name) {
		return nil
	}
	return o[name]
}

// array reads an optional array member (nil when absent) as its elements.
func (o groupObject) array(name string) ([]json.RawMessage, error) {
	var a []json.RawMessage
	err := o.decode(name, "an array", &a)
	return a, err
}

// members reads a list of {"Member_Account": ...} objects: their accounts, in order.
// A required list must be there and not empty.
func (o groupObject) members(name string, required bool) ([]string, error) {
	list, err := o.array(name)
	if err != nil {
		return nil, err
	}
	if required && len(list) == 0 {
		if !o.present(name) {
			return nil, Errorf(KindBadRequest, "%s is missing", name)
		}
		return nil, Errorf(KindBadRequest, "%s is empty", name)
	}
	accounts := make([]string, len(list))
	for i, raw := range list {
		what := name + "[" + strconv.Itoa(i) + "]"
		m, err := readGroupObject(raw, what)
		if err != nil {
			return nil, err
		}
		if accounts[i], err = m.account("Member_Account", true); err != nil {
			return nil, groupEntryError(what, err)
		}
	}
	return accounts, nil
}

// groupHead is what every group webhook's body has: the group, its type, and EventTime.
type groupHead struct {
	GroupID   string
	Type      string
	EventTime int64
}

// readGroupHead reads the body's GroupId, Type and EventTime (mapWebhook has checked
// its CallbackCommand).
func readGroupHead(body WebhookBody) (groupObject, groupHead, error) {
	o := groupObject(body.Members)
	var h groupHead
	var err error
	if h.GroupID, err = o.groupID(); err != nil {
		return nil, h, err
	}
	if h.Type, err = o.str("Type"); err != nil {
		return nil, h, err
	}
	if h.EventTime, err = EventTime(o["EventTime"]); err != nil {
		return nil, h, err
	}
	return o, h, nil
}

// groupCreated is the body of Group.CallbackAfterCreateGroup.
type groupCreated struct {
	groupHead
	Operator, Owner string
	Name            json.RawMessage
	Members         []string
	// UserDefinedDataList is the app's custom group fields, [{"Key","Value"}], as sent.
	UserDefinedDataList json.RawMessage
}

func decodeGroupCreated(body WebhookBody) ([]Subject, int64, error) {
	o, h, err := readGroupHead(body)
	if err != nil {
		return nil, 0, err
	}
	b := groupCreated{groupHead: h, UserDefinedDataList: o.content("UserDefinedDataList")}
	if b.Operator, err = o.account("Operator_Account", false); err != nil {
		return nil, 0, err
	}
	if b.Owner, err = o.account("Owner_Account", false); err != nil {
		return nil, 0, err
	}
	if b.Name, err = o.text("Name"); err != nil {
		return nil, 0, err
	}
	if b.Members, err = o.members("MemberList", false); err != nil {
		return nil, 0, err
	}
	if _, err := o.array("UserDefinedDataList"); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
		"operatorAccount", b.Operator, "ownerAccount", b.Owner, "name", b.Name,
		"memberAccounts", groupAccounts(b.Members), "userDefinedDataList", b.UserDefinedDataList)}}, b.EventTime, nil
}

// groupMembership is the body of Group.CallbackAfterNewMemberJoin and
// Group.CallbackAfterMemberExit: how members joined or left, who did it, and the
// members.
type groupMembership struct {
	groupHead
	// How is JoinType (Apply, Invited) or ExitType (Kicked, Quit).
	How      string
	Operator string
	Members  []string
}

func decodeGroupMembership(body WebhookBody, howName, listName string) (groupMembership, error) {
	o, h, err := readGroupHead(body)
	if err != nil {
		return groupMembership{}, err
	}
	b := groupMembership{groupHead: h}
	if b.How, err = o.str(howName); err != nil {
		return b, err
	}
	if b.Operator, err = o.account("Operator_Account", false); err != nil {
		return b, err
	}
	b.Members, err = o.members(listName, true)
	return b, err
}

func decodeGroupMemberJoined(body WebhookBody) ([]Subject, int64, error) {
	b, err := decodeGroupMembership(body, "JoinType", "NewMemberList")
	if err != nil {
		return nil, 0, err
	}
	subjects := make([]Subject, len(b.Members))
	for i, m := range b.Members {
		subjects[i] = Subject{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
			"joinType", b.How, "operatorAccount", b.Operator, "memberAccount", m)}
	}
	return subjects, b.EventTime, nil
}

func decodeGroupMemberExited(body WebhookBody) ([]Subject, int64, error) {
	b, err := decodeGroupMembership(body, "ExitType", "ExitMemberList")
	if err != nil {
		return nil, 0, err
	}
	subjects := make([]Subject, len(b.Members))
	for i, m := range b.Members {
		subjects[i] = Subject{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
			"exitType", b.How, "operatorAccount", b.Operator, "memberAccount", m)}
	}
	return subjects, b.EventTime, nil
}

// groupMessage is the body of Group.CallbackAfterSendMsg.
type groupMessage struct {
	groupHead
	From, Operator string
	Random         uint32
	MsgSeq         uint64
	MsgID          string
	MsgTime        int64
	OnlineOnlyFlag int64
	// MsgBody, CloudCustomData and GroupAtInfo are kept as Chat sent them.
	MsgBody, CloudCustomData, GroupAtInfo json.RawMessage
}

func decodeGroupMessageSent(body WebhookBody) ([]Subject, int64, error) {
	o, h, err := readGroupHead(body)
	if err != nil {
		return nil, 0, err
	}
	b := groupMessage{groupHead: h, MsgBody: o.content("MsgBody"), CloudCustomData: o.content("CloudCustomData"),
		GroupAtInfo: o.content("GroupAtInfo")}
	if b.From, err = o.account("From_Account", false); err != nil {
		return nil, 0, err
	}
	if b.Operator, err = o.account("Operator_Account", false); err != nil {
		return nil, 0, err
	}
	if !o.present("MsgSeq") {
		return nil, 0, Errorf(KindBadRequest, "MsgSeq is missing")
	}
	for _, f := range []struct {
		name, kind string
		v          any
	}{
		{"MsgSeq", "a non-negative integer", &b.MsgSeq},
		{"Random", "an integer from 0 to 4294967295", &b.Random},
		{"MsgId", "a string", &b.MsgID},
		{"MsgTime", "an integer of Unix seconds", &b.MsgTime},
		{"OnlineOnlyFlag", "an integer", &b.OnlineOnlyFlag},
	} {
		if err := o.decode(f.name, f.kind, f.v); err != nil {
			return nil, 0, err
		}
	}
	if _, err := o.array("MsgBody"); err != nil {
		return nil, 0, err
	}
	if _, err := o.array("GroupAtInfo"); err != nil {
		return nil, 0, err
	}
	// CloudCustomData is a string in Chat's documentation; any JSON is carried as
	// sent, as in the other message routes.
	var random, msgTime, online any
	if o.present("Random") {
		random = b.Random
	}
	if o.present("MsgTime") {
		msgTime = b.MsgTime
	}
	if o.present("OnlineOnlyFlag") {
		online = b.OnlineOnlyFlag
	}
	return []Subject{{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
		"fromAccount", b.From, "operatorAccount", b.Operator, "msgSeq", b.MsgSeq, "msgId", b.MsgID,
		"random", random, "msgTime", msgTime, "onlineOnlyFlag", online,
		"msgBody", b.MsgBody, "cloudCustomData", b.CloudCustomData, "groupAtInfo", b.GroupAtInfo)}}, b.EventTime, nil
}

// groupDestroyed is the body of Group.CallbackAfterGroupDestroyed.
type groupDestroyed struct {
	groupHead
	Owner string
	Name  json.RawMessage
	// Members is the group's members when it was disbanded; communities send none.
	Members []string
}

func decodeGroupDestroyed(body WebhookBody) ([]Subject, int64, error) {
	o, h, err := readGroupHead(body)
	if err != nil {
		return nil, 0, err
	}
	b := groupDestroyed{groupHead: h}
	if b.Owner, err = o.account("Owner_Account", false); err != nil {
		return nil, 0, err
	}
	if b.Name, err = o.text("Name"); err != nil {
		return nil, 0, err
	}
	if b.Members, err = o.members("MemberList", false); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
		"ownerAccount", b.Owner, "name", b.Name, "memberAccounts", groupAccounts(b.Members))}}, b.EventTime, nil
}

// groupInfoChanged is the body of Group.CallbackAfterGroupInfoChanged: the fields that
// changed, with their new values (possibly "").
type groupInfoChanged struct {
	groupHead
	Operator                                  string
	Name, Introduction, Notification, FaceURL json.RawMessage
}

func decodeGroupInfoChanged(body WebhookBody) ([]Subject, int64, error) {
	o, h, err := readGroupHead(body)
	if err != nil {
		return nil, 0, err
	}
	b := groupInfoChanged{groupHead: h}
	if b.Operator, err = o.account("Operator_Account", false); err != nil {
		return nil, 0, err
	}
	for _, f := range []struct {
		name string
		v    *json.RawMessage
	}{{"Name", &b.Name}, {"Introduction", &b.Introduction}, {"Notification", &b.Notification}, {"FaceUrl", &b.FaceURL}} {
		if *f.v, err = o.text(f.name); err != nil {
			return nil, 0, err
		}
	}
	return []Subject{{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
		"operatorAccount", b.Operator, "name", b.Name, "introduction", b.Introduction,
		"notification", b.Notification, "faceUrl", b.FaceURL)}}, b.EventTime, nil
}

// groupRecall is the body of Group.CallbackAfterRecallMsg.
type groupRecall struct {
	groupHead
	Operator string
	// TopicID is set when the messages were in a community topic.
	TopicID string
	MsgSeqs []uint64
}

func decodeGroupMessageRecalled(body WebhookBody) ([]Subject, int64, error) {
	o, h, err := readGroupHead(body)
	if err != nil {
		return nil, 0, err
	}
	b := groupRecall{groupHead: h}
	if b.Operator, err = o.account("Operator_Account", false); err != nil {
		return nil, 0, err
	}
	if b.TopicID, err = o.str("TopicId"); err != nil {
		return nil, 0, err
	}
	list, err := o.array("MsgSeqList")
	switch {
	case err != nil:
		return nil, 0, err
	case !o.present("MsgSeqList"):
		return nil, 0, Errorf(KindBadRequest, "MsgSeqList is missing")
	case len(list) == 0:
		return nil, 0, Errorf(KindBadRequest, "MsgSeqList is empty")
	}
	b.MsgSeqs = make([]uint64, len(list))
	for i, raw := range list {
		what := "MsgSeqList[" + strconv.Itoa(i) + "]"
		m, err := readGroupObject(raw, what)
		if err != nil {
			return nil, 0, err
		}
		if !m.present("MsgSeq") {
			return nil, 0, Errorf(KindBadRequest, "%s.MsgSeq is missing", what)
		}
		if err := m.decode("MsgSeq", "a non-negative integer", &b.MsgSeqs[i]); err != nil {
			return nil, 0, groupEntryError(what, err)
		}
	}
	subjects := make([]Subject, len(b.MsgSeqs))
	for i, seq := range b.MsgSeqs {
		subjects[i] = Subject{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
			"topicId", b.TopicID, "operatorAccount", b.Operator, "msgSeq", seq)}
	}
	return subjects, b.EventTime, nil
}

// groupFull is the body of Group.CallbackAfterGroupFull.
type groupFull struct {
	groupHead
	// TopicID is set for a private community topic that is full.
	TopicID string
}

func decodeGroupFull(body WebhookBody) ([]Subject, int64, error) {
	o, h, err := readGroupHead(body)
	if err != nil {
		return nil, 0, err
	}
	b := groupFull{groupHead: h}
	if b.TopicID, err = o.str("TopicId"); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
		"topicId", b.TopicID)}}, b.EventTime, nil
}

// groupMemberChanged is the body of Group.CallbackAfterMemberFieldChanged.
type groupMemberChanged struct {
	groupHead
	Operator string
	// Member is Member_Account, which one copy of the documentation names
	// Modified_Account; either is read.
	Member string
	// Role is the member's role after the change (Admin, Member); NameCard the name
	// card after it, as sent (possibly "").
	Role     string
	NameCard json.RawMessage
}

func decodeGroupMemberChanged(body WebhookBody) ([]Subject, int64, error) {
	o, h, err := readGroupHead(body)
	if err != nil {
		return nil, 0, err
	}
	b := groupMemberChanged{groupHead: h}
	if b.Operator, err = o.account("Operator_Account", false); err != nil {
		return nil, 0, err
	}
	member, err := o.account("Member_Account", false)
	if err != nil {
		return nil, 0, err
	}
	modified, err := o.account("Modified_Account", false)
	// Member_Account, the name of the newer copy of the documentation, wins when a body
	// carries both.
	switch {
	case err != nil:
		return nil, 0, err
	case member == "" && modified == "":
		return nil, 0, Errorf(KindBadRequest, "Member_Account is missing")
	case member == "":
		member = modified
	}
	b.Member = member
	if b.Role, err = o.str("Role"); err != nil {
		return nil, 0, err
	}
	if b.NameCard, err = o.text("NameCard"); err != nil {
		return nil, 0, err
	}
	return []Subject{{Key: b.GroupID, Fields: Fields("groupId", b.GroupID, "groupType", b.Type,
		"operatorAccount", b.Operator, "memberAccount", b.Member, "role", b.Role, "nameCard", b.NameCard)}}, b.EventTime, nil
}

// groupAccounts is nil for an empty list, so that Fields leaves it out.
func groupAccounts(s []string) any {
	if len(s) == 0 {
		return nil
	}
	return s
}

// groupEntryError names the list entry what in an error about one of its members.
func groupEntryError(what string, err error) error {
	return Errorf(KindBadRequest, "%s.%s", what, ErrorMessage(err))
}
