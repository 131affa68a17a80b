package bridge

import (
	"bytes"
	"encoding/json"
	"slices"
)

// Command names of the callbacks imbridge routes. Each has the PairList shape of
// Sns.CallbackBlackListDelete: {"CallbackCommand": ..., "PairList": [{"From_Account",
// "To_Account"}, ...]}.
const (
	CommandBlackListDelete = "Sns.CallbackBlackListDelete"
	CommandBlackListAdd    = "Sns.CallbackBlackListAdd"
	CommandFriendDelete    = "Sns.CallbackFriendDelete"
	// CommandFriendAdd has the same shape plus Initiator_Account in each pair and
	// ClientCmd, Admin_Account and ForceFlag in the body.
	CommandFriendAdd = "Sns.CallbackFriendAdd"
)

// Route says where the events of one callback command go and what they are called.
type Route struct {
	// Name identifies the route in settings: IMBRIDGE_ROUTES lists names, and the
	// topic setting is IMBRIDGE_TOPIC_ followed by the name in upper case with _ for -.
	Name string
	// Command is the CallbackCommand this route handles.
	Command string
	// Topic is the Kafka topic its events are published to.
	Topic string
	// Type is the events' CloudEvents type (ce_type).
	Type string
	// Decode reads the command's body into subjects, one event each (see Decoder).
	Decode Decoder `json:"-"`
	// Key and Events document the route for --help and the README: what the message
	// key is, and when a callback gives more than one event. A Key of KeySDKAppID also
	// keys every event by the callback's SDKAppID, in decimal, whatever the decoder
	// gave.
	Key, Events string
}

// DefaultRoutes is the routing table with its default topics. Adding a PairList-shaped
// command is a row here, a JSON Schema of its body and of its event in schema/, the body
// in schema/openapi.yaml, a channel in schema/asyncapi.yaml, and a golden test
// (schema.TestRoutesHaveContracts fails until the documents state it). Configuration
// may switch a route off or change its topic; the command and the event type are fixed.
// Both blocklist routes share one topic and both friend routes another, so that a
// consumer reads one user's additions and removals in order from one partition.
//
// Beyond the relationship chain, a route is a Decoder (one event per subject), its
// payload, an event and a body schema, and a row in one of the area tables below
// (routes_<area>.go).
var DefaultRoutes = slices.Concat(relationshipRoutes, followRoutes, c2cRoutes, groupRoutes, groupCommunityRoutes, userRoutes, officialRoutes, opsRoutes, callRoutes, pushRoutes, moderationRoutes)

// KnownCommand reports whether command is one of Chat's documented webhook commands:
// a route's (switched on or not) or one imbridge has no route for yet. Metrics label
// callbacks with such a command by it, and every other command as "other", so that
// clients cannot add series.
func KnownCommand(command string) bool { return knownCommands[command] }

// knownCommands are the routes' commands and the documented webhook commands without a
// route: the official account's messages (their samples are cut off in the stored
// documentation).
var knownCommands = func() map[string]bool {
	m := map[string]bool{"OfficialAccount.CallbackAfterSendMsg": true, "OfficialAccount.CallbackAfterMsgWithDraw": true}
	for _, r := range DefaultRoutes {
		m[r.Command] = true
	}
	return m
}()

// UnroutedRoute takes every verified callback whose command has no route, when its
// topic is configured (IMBRIDGE_TOPIC_UNROUTED, TopicUnrouted by default): one event per
// callback, keyed by the command, carrying the body as Chat sent it under "body", so
// that a command Chat adds tomorrow is kept.
var UnroutedRoute = Route{Name: "unrouted", Command: "", Type: "imbridge.unrouted.v1", Decode: decodeUnrouted,
	Key: "CallbackCommand", Events: "one per callback"}

// decodeUnrouted reads a callback without a route: one subject keyed by the command
// (Map refuses a command that no key may carry), with the body compacted under "body".
// An EventTime in a form imbridge does not know is kept in the body, not refused: the
// command is unknown.
func decodeUnrouted(top Object) ([]Subject, int64) {
	var compact bytes.Buffer
	_ = json.Compact(&compact, top.Bytes()) // ParseBody has checked it
	et, _ := eventTime(top.get("EventTime"))
	return []Subject{{Key: top.Str("CallbackCommand"), Fields: Fields("body", json.RawMessage(compact.Bytes()))}}, et
}

// Default topics: one per relationship, shared by its additions and removals, and one
// per area, shared by all of the area's events, so that a consumer reads one subject's
// history (a group, a user, a conversation) in order from one partition. Groups have
// two: their messages (TopicGroupMessage) apart from membership and group state
// (TopicGroup), so that a consumer of membership does not read every message of a
// busy group; both are keyed by GroupId, and there is no order across them.
const (
	TopicBlocklist = "imbridge.blocklist"
	TopicFriend    = "imbridge.friend"
	// TopicFollow holds follows and unfollows, keyed by the follower (From_Account),
	// one event per account followed or unfollowed.
	TopicFollow = "imbridge.follow"
	// TopicC2C holds one-to-one message events, keyed by conversation.
	TopicC2C = "imbridge.c2c"
	// TopicGroup holds group state and membership (groups created, changed, full and
	// destroyed, members joined, exited, changed and their online state, community
	// topics, attributes, owner), keyed by GroupId.
	TopicGroup = "imbridge.group"
	// TopicGroupMessage holds group messages: sent, recalled, modified, failed to
	// deliver, their extensions and read receipts, and bots mentioned in groups, keyed
	// by GroupId, so that a message's later events follow it in one partition.
	TopicGroupMessage = "imbridge.group.message"
	// TopicState holds online state changes, keyed by user.
	TopicState = "imbridge.state"
	// TopicProfile holds profile changes, keyed by user.
	TopicProfile = "imbridge.profile"
	// TopicOfficialAccount holds official account events, keyed by the account.
	TopicOfficialAccount = "imbridge.official"
	// TopicCall holds the Call product's call events, keyed by CallId.
	TopicCall = "imbridge.call"
	// TopicUnrouted holds verified callbacks without a route (UnroutedRoute), keyed
	// by the command.
	TopicUnrouted = "imbridge.unrouted"
	// TopicQuarantine holds authenticated callbacks that could not be mapped, as
	// received (QuarantineEvent), keyed by the command. Its max.message.bytes must
	// hold the body limit plus the headers: QuarantineMaxMessageBytes.
	TopicQuarantine = "imbridge.quarantine"
)

// QuarantineMaxMessageBytes is the max.message.bytes the quarantine topic is created
// with: a body of the default limit (1 MiB) and its headers, with room to spare.
const QuarantineMaxMessageBytes = 2 << 20

// Routes looks routes up by command. The zero value routes nothing.
type Routes map[string]Route

// NewRoutes indexes routes by command; a later route for the same command wins. A
// route without a Command (UnroutedRoute) takes every command without a route of its
// own.
func NewRoutes(routes ...Route) Routes {
	r := make(Routes, len(routes))
	for _, rt := range routes {
		r[rt.Command] = rt
	}
	return r
}

// Lookup returns the route for command and whether there is one.
func (r Routes) Lookup(command string) (Route, bool) {
	if rt, ok := r[command]; ok {
		return rt, true
	}
	rt, ok := r[""]
	return rt, ok && command != ""
}
