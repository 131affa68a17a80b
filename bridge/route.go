package bridge

// Command names of the callbacks imbridge routes.
const (
	CommandBlackListDelete = "Sns.CallbackBlackListDelete"
)

// Route says where the events of one callback command go and what they are called.
type Route struct {
	// Command is the CallbackCommand this route handles.
	Command string
	// Topic is the Kafka topic its events are published to.
	Topic string
	// Type is the events' CloudEvents type (ce_type).
	Type string
}

// DefaultRoutes is the routing table with its default topics. Configuration may change
// a route's topic; the command and the event type are fixed.
var DefaultRoutes = []Route{
	{Command: CommandBlackListDelete, Topic: "imbridge.blocklist.removed", Type: "imbridge.blocklist.removed.v1"},
}

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
