package bridge

import (
	"strings"
	"testing"
	"time"
)

// The envelope's names are the body's own: a list entry's member called EventTime or
// CallbackCommand is no envelope and arrives in its entry's event, as sent, like any
// other member no route reads (before: dropped from entryExtra, and so lost).
func TestEntryMembersWithEnvelopeNamesArrive(t *testing.T) {
	bodies := map[string]string{
		CommandBlackListDelete:   `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b","EventTime":1670574414999,"CallbackCommand":"x"}]}`,
		CommandGroupMemberJoined: `{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g","NewMemberList":[{"Member_Account":"m","EventTime":1670574414999,"CallbackCommand":"x"}]}`,
	}
	routes := NewRoutes(DefaultRoutes...)
	for command, body := range bodies {
		route, _ := routes.Lookup(command)
		events, err := Map(Callback{Query: Query{CallbackCommand: command}, AppID: 1, Body: []byte(body), ReceivedAt: time.Unix(1, 0)}, route)
		if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		v := string(events[0].AppendJSON(nil))
		if !strings.Contains(v, `"entryExtra":{"EventTime":1670574414999,"CallbackCommand":"x"}`) {
			t.Errorf("%s: an entry's EventTime and CallbackCommand are not in its event: %s", command, v)
		}
	}
}
