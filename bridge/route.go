package bridge

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
}

// DefaultRoutes is the routing table with its default topics. Adding a PairList-shaped
// command is a row here, a JSON Schema of its body and of its event in schema/, the body
// in schema/openapi.yaml, a channel in schema/asyncapi.yaml, and a golden test
// (schema.TestRoutesHaveContracts fails until the documents state it). Configuration
// may switch a route off or change its topic; the command and the event type are fixed.
// Both blocklist routes share one topic and both friend routes another, so that a
// consumer reads one user's additions and removals in order from one partition.
var DefaultRoutes = []Route{
	{Name: "blocklist-delete", Command: CommandBlackListDelete, Topic: TopicBlocklist, Type: "imbridge.blocklist.removed.v1"},
	{Name: "blocklist-add", Command: CommandBlackListAdd, Topic: TopicBlocklist, Type: "imbridge.blocklist.added.v1"},
	{Name: "friend-add", Command: CommandFriendAdd, Topic: TopicFriend, Type: "imbridge.friend.added.v1"},
	{Name: "friend-delete", Command: CommandFriendDelete, Topic: TopicFriend, Type: "imbridge.friend.removed.v1"},
}

// Default topics: one per relationship, shared by its additions and removals.
const (
	TopicBlocklist = "imbridge.blocklist"
	TopicFriend    = "imbridge.friend"
)

// Routes looks routes up by command. The zero value routes nothing.
type Routes map[string]Route

// NewRoutes indexes routes by command; a later route for the same command wins.
func NewRoutes(routes ...Route) Routes {
	r := make(Routes, len(routes))
	for _, rt := range routes {
		r[rt.Command] = rt
	}
	return r
}

// Lookup returns the route for command and whether there is one.
func (r Routes) Lookup(command string) (Route, bool) {
	rt, ok := r[command]
	return rt, ok
}
