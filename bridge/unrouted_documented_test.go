package bridge

import (
	"testing"
)

// The documented after-event commands still without a route (the official account's
// messages, whose documented samples are cut off) are counted by name and have no
// route; every other documented command has one.
func TestDocumentedCommandsWithoutRoute(t *testing.T) {
	routes := NewRoutes(append(DefaultRoutes, UnroutedRoute)...)
	for _, cmd := range []string{"OfficialAccount.CallbackAfterSendMsg", "OfficialAccount.CallbackAfterMsgWithDraw"} {
		if route, _ := routes.Lookup(cmd); !KnownCommand(cmd) || route.Command != "" {
			t.Errorf("%s: known %v, route %+v", cmd, KnownCommand(cmd), route)
		}
	}
	for _, cmd := range QueryOnlyCommands {
		if route, _ := routes.Lookup(cmd); !KnownCommand(cmd) || route.Command != cmd {
			t.Errorf("%s: known %v, route %+v", cmd, KnownCommand(cmd), route)
		}
	}
}

// A body without a top-level CallbackCommand is taken for the query's command only
// where Chat documents such bodies (the push results and moderation verdicts); there a
// CallbackCommand that is sent must still agree. Every other command's body must name
// the query's command. With the route switched off, such a body goes to the unrouted
// topic, keyed by the query's command.
func TestQueryOnlyCommands(t *testing.T) {
	bodies := map[string]string{
		CommandAllMemberPush:    `{"Events":[{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"u1","EventTime":1557481127}]}`,
		CommandOfflinePush:      `{"Events":[{"CallbackCommand":"Push.OfflinePush","PushID":"p","From_Account":"u1","To_Account":"u2","EventTime":1557481127}]}`,
		CommandModerationResult: `{"Scene":"C2C","From_Account":"jared","ContactItem":{"ContactType":1,"To_Account":"Jonh"},"CtxcbResult":1}`,
	}
	routes := NewRoutes(DefaultRoutes...)
	for cmd, body := range bodies {
		route, _ := routes.Lookup(cmd)
		withCommand := `{"CallbackCommand":"` + cmd + `",` + body[1:]
		for _, b := range []string{body, withCommand} {
			if events, err := Map(Callback{Query: Query{CallbackCommand: cmd}, AppID: 1, Body: []byte(b)}, route); err != nil || len(events) != 1 {
				t.Errorf("%s: %s: %d events, %v", cmd, b, len(events), err)
			}
		}
		// The unrouted route (the route switched off) keeps it, keyed by the command.
		events, err := Map(Callback{Query: Query{CallbackCommand: cmd}, AppID: 1, Body: []byte(body)}, UnroutedRoute)
		if err != nil || len(events) != 1 || events[0].key() != cmd || string(events[0].Subject.Fields) != `"body":`+body {
			t.Errorf("%s, unrouted: %v %+v", cmd, err, events)
		}
		// Another route does not take it for its own.
		other, _ := routes.Lookup(CommandC2CAfterSendMsg)
		if _, err := Map(Callback{Query: Query{CallbackCommand: cmd}, AppID: 1, Body: []byte(body)}, other); ErrorKind(err) != KindBadRequest ||
			err.Error() != `CallbackCommand "`+cmd+`" is not C2C.CallbackAfterSendMsg` {
			t.Errorf("%s with the route of C2C.CallbackAfterSendMsg: %v", cmd, err)
		}
	}
	// Elsewhere, the body must name its command, routed or not.
	for _, cmd := range []string{CommandC2CAfterSendMsg, CommandGroupQuotaAlarm, "Future.CallbackAfterSomething"} {
		route, _ := NewRoutes(append(DefaultRoutes, UnroutedRoute)...).Lookup(cmd)
		_, err := Map(Callback{Query: Query{CallbackCommand: cmd}, AppID: 1, Body: []byte(bodies[CommandModerationResult])}, route)
		if ErrorKind(err) != KindBadRequest || err.Error() != "CallbackCommand is missing from the body" {
			t.Errorf("%s without CallbackCommand in the body: %v", cmd, err)
		}
	}
}
