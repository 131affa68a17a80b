package bridge

import "testing"

// The documented after-event commands without a route are counted by name, have no
// route, and, their bodies having no top-level CallbackCommand, are refused by the
// unrouted route as bad requests (so quarantined whole, to replay once routed).
func TestDocumentedCommandsWithoutRoute(t *testing.T) {
	routes := NewRoutes(append(DefaultRoutes, UnroutedRoute)...)
	bodies := map[string]string{
		"Push.AllMemberPush":           `{"Events":[{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"u1","EventTime":1557481127}]}`,
		"Push.OfflinePush":             `{"Events":[{"CallbackCommand":"Push.OfflinePush","PushID":"p","From_Account":"u1","To_Account":"u2","EventTime":1557481127}]}`,
		"ContentCallback.ResultNotify": `{"Scene":"C2C","From_Account":"jared","ContactItem":{"ContactType":1,"To_Account":"Jonh"},"CtxcbResult":1}`,
	}
	for cmd, body := range bodies {
		route, ok := routes.Lookup(cmd)
		if !KnownCommand(cmd) || !ok || route.Command != "" {
			t.Fatalf("%s: known %v, route %+v", cmd, KnownCommand(cmd), route)
		}
		_, err := Map(Callback{Query: Query{CallbackCommand: cmd}, AppID: 1, Body: []byte(body)}, route)
		if ErrorKind(err) != KindBadRequest || err.Error() != "CallbackCommand is missing from the body" {
			t.Errorf("%s: %v", cmd, err)
		}
	}
	for _, cmd := range []string{"OfficialAccount.CallbackAfterSendMsg", "OfficialAccount.CallbackAfterMsgWithDraw"} {
		if route, _ := routes.Lookup(cmd); !KnownCommand(cmd) || route.Command != "" {
			t.Errorf("%s: known %v, route %+v", cmd, KnownCommand(cmd), route)
		}
	}
}
