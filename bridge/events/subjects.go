package events

import "strings"

// Subject is what the version of one event type orders: a consumer keeps one version
// per distinct value of Fields (payload members, by their JSON names) and applies an
// event only if Newer(its version, the one kept). Comparing wider, for example one
// version per group for every group event, drops changes: a message sent in the same
// second after a member's exit stamped by Chat at .900 has the lower version, and is
// not older for that. Every subject lies within its record key (or is the pair of a
// relationship), so imbridge's version rule holds per subject.
type Subject struct {
	// Name says the subject in words ("group and member").
	Name string
	// Fields are the payload members whose values identify one subject.
	Fields []string
	// Note says what else a consumer must know to compare (a member that may be
	// absent, a pair taken in either order); empty when nothing.
	Note string
	// Optional are the members of Fields that an event may lack: a consumer compares
	// with them absent (topicId outside community topics is one, unlisted).
	Optional []string
}

// String is how the event schemas and schema/asyncapi.yaml name the subject:
// Name (Fields; Note).
func (s Subject) String() string {
	t := s.Name + " (" + strings.Join(s.Fields, ", ")
	if s.Note != "" {
		t += "; " + s.Note
	}
	return t + ")"
}

// SubjectOf returns the subject whose versions a consumer compares for events of
// eventType (a ce_type), and whether imbridge publishes that type.
func SubjectOf(eventType string) (Subject, bool) {
	s, ok := subjects[eventType]
	return s, ok
}

// Subjects shared by several event types.
var (
	relationship = Subject{Name: "relationship", Fields: []string{"fromAccount", "toAccount"}}
	follow       = Subject{Name: "follow", Fields: []string{"fromAccount", "toAccount"}, Note: "fromAccount following toAccount"}
	c2cMessage   = Subject{Name: "one-to-one message", Fields: []string{"fromAccount", "toAccount", "msgKey"},
		Note: "msgKey within the conversation of the two accounts, in either direction: events.ConversationKey"}
	group        = Subject{Name: "group", Fields: []string{"groupId"}}
	groupMember  = Subject{Name: "group and member", Fields: []string{"groupId", "memberAccount"}}
	groupTopic   = Subject{Name: "community topic", Fields: []string{"groupId", "topicId"}}
	groupMessage = Subject{Name: "group message", Fields: []string{"groupId", "topicId", "msgSeq"},
		Note: "topicId absent outside community topics, which number their messages apart"}
	official = Subject{Name: "official account", Fields: []string{"officialAccount"}}
	call     = Subject{Name: "call", Fields: []string{"callId"}}
	push     = Subject{Name: "push recipient", Fields: []string{"toAccount"},
		Note: "every stage of every push to the recipient; taskId, or pushId or msgKey, says which push"}
	moderated = Subject{Name: "moderated subject", Fields: []string{"fromAccount", "toAccount", "toGroupId"},
		Note:     "the members the scene names: toAccount in C2C scenes, toGroupId in group scenes; the record key is their conversation, the group, else fromAccount",
		Optional: []string{"toAccount", "toGroupId"}}
)

// subjects maps every event type imbridge publishes to its Subject.
var subjects = map[string]Subject{
	TypeBlocklistAdded:   relationship,
	TypeBlocklistRemoved: relationship,
	TypeFriendAdded:      relationship,
	TypeFriendRemoved:    relationship,
	TypeFollowAdded:      follow,
	TypeFollowRemoved:    follow,

	TypeC2CMessageSent:             c2cMessage,
	TypeC2CMessageRecalled:         c2cMessage,
	TypeC2CMessageModified:         c2cMessage,
	TypeC2CMessageExtensionChanged: c2cMessage,
	TypeBotC2CMessage:              c2cMessage,
	TypeC2CConversationRead: {Name: "reader and conversation", Fields: []string{"reportAccount", "peerAccount"},
		Note: "reportAccount's read state of the conversation with peerAccount"},

	TypeGroupCreated:           group,
	TypeGroupDestroyed:         group,
	TypeGroupInfoChanged:       group,
	TypeGroupFull:              group,
	TypeGroupOwnerChanged:      group,
	TypeGroupAttributesChanged: group,
	TypeGroupMemberJoined:      groupMember,
	TypeGroupMemberExited:      groupMember,
	TypeGroupMemberChanged:     groupMember,
	TypeGroupMemberStateChanged: {Name: "group and member", Fields: []string{"groupId", "memberAccount"},
		Note: "the member's online state in the group, apart from its membership"},
	TypeGroupTopicCreated:   groupTopic,
	TypeGroupTopicDestroyed: groupTopic,
	TypeGroupTopicChanged: {Name: "community topic", Fields: []string{"groupId", "topicId"},
		Note: "Chat documents no TopicId for this command: without one, the group's topics as one"},

	TypeGroupMessageSent:             groupMessage,
	TypeGroupMessageRecalled:         groupMessage,
	TypeGroupMessageModified:         groupMessage,
	TypeGroupMessageExtensionChanged: groupMessage,
	TypeGroupReceipt:                 groupMessage,
	TypeBotGroupMessage:              groupMessage,
	TypeGroupMessageFailed: {Name: "group or community topic", Fields: []string{"groupId", "topicId"},
		Note: "a delivery failure names no MsgSeq: fromAccount and random tell its message"},

	TypeStateChanged:   {Name: "user", Fields: []string{"toAccount"}},
	TypeProfileUpdated: {Name: "user", Fields: []string{"fromAccount"}},

	TypeOfficialInfoChanged: official,
	TypeOfficialCreated:     official,
	TypeOfficialDestroyed:   official,
	TypeOfficialFull:        official,
	TypeOfficialSubscriberAdded: {Name: "official account and subscriber",
		Fields: []string{"officialAccount", "subscriberAccount"}},
	TypeOfficialSubscriberRemoved: {Name: "official account and subscriber",
		Fields: []string{"officialAccount", "subscriberAccount"}},

	TypeGroupQuotaAlarm: {Name: "app", Fields: []string{"sdkAppId"}},
	TypeAPIRateAlarm:    {Name: "app and API", Fields: []string{"sdkAppId", "serviceName", "command"}},

	TypeCallStarted:       call,
	TypeCallMemberChanged: call,
	TypeCallEnded:         call,

	TypePushAllMember:    push,
	TypePushOffline:      push,
	TypeModerationResult: moderated,

	TypeUnrouted: {Name: "command", Fields: []string{"callbackCommand"}},
}
