package bridge

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A follow callback gives one event per account followed or unfollowed, in the list's
// order, on the follow topic, keyed by the follower and ordered by the pair, with the
// members a relationship's events have.
func TestFollowRoutesOneEventPerAccount(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	tests := []struct {
		cmd, body string
		want      []string // the events' members
		to        []string // the accounts followed or unfollowed
	}{
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"u1","FollowList":[{"To_Account":"u2"},{"To_Account":"u3","Note":"<&>"}],"EventTime":1702018343678}`,
			[]string{`"fromAccount":"u1","toAccount":"u2"`, `"fromAccount":"u1","toAccount":"u3","entryExtra":{"Note":"<&>"}`}, []string{"u2", "u3"}},
		{CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"u1","To_Account":["u3","u2"],"EventTime":"1702018343678"}`,
			[]string{`"fromAccount":"u1","toAccount":"u3"`, `"fromAccount":"u1","toAccount":"u2"`}, []string{"u3", "u2"}},
	}
	for _, tt := range tests {
		route, ok := routes.Lookup(tt.cmd)
		if !ok || route.Topic != TopicFollow {
			t.Fatalf("%s: route %+v", tt.cmd, route)
		}
		evs, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(tt.body)}, route)
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		var got []string
		for i, e := range evs {
			got = append(got, string(e.Subject.Fields))
			if e.Topic != TopicFollow || e.Subject.Key != "u1" || e.Subject.Order != "u1\x00"+tt.to[i] || e.EventTime != 1702018343678 {
				t.Errorf("%s: event %d %+v", tt.cmd, i, e)
			}
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("%s: members (-want +got):\n%s", tt.cmd, d)
		}
	}
}

// The version of a follow is the pair's, as a relationship's: an unfollow of u1/u3 that
// Chat made earlier than a follow of u1/u2 keeps its EventTime (one key, two subjects),
// and an unfollow of u1/u2 after its follow, by the replica's clock alone, is never
// below it.
func TestFollowVersionsPerPair(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	v := NewVersioner(time.Minute)
	now := time.UnixMilli(1702018343678)
	mapped := func(cmd, body string, at time.Time) []Event {
		route, _ := routes.Lookup(cmd)
		evs, err := Map(Callback{Query: Query{CallbackCommand: cmd}, AppID: 1, Body: []byte(body), ReceivedAt: at}, route)
		if err != nil {
			t.Fatal(err)
		}
		v.Assign(evs, false, at)
		return evs
	}
	follow := mapped(CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"u1","FollowList":[{"To_Account":"u2"}],"EventTime":1702018343678}`, now)
	early := mapped(CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"u1","To_Account":["u3"],"EventTime":1702018343000}`, now)
	// Received by a replica whose clock is behind Chat's, without EventTime.
	late := mapped(CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"u1","To_Account":["u2"]}`, now.Add(-time.Second))
	if follow[0].Version() != 1702018343678 || early[0].Version() != 1702018343000 || late[0].Version() != 1702018343678 {
		t.Fatalf("versions %d, %d, %d; want 1702018343678, 1702018343000, 1702018343678",
			follow[0].Version(), early[0].Version(), late[0].Version())
	}
}

func TestFollowRoutesReject(t *testing.T) {
	long := strings.Repeat("a", MaxAccountBytes+1)
	tests := []struct {
		cmd, give, want string
		kind            Kind
	}{
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","FollowList":[{"To_Account":"b"}]}`, "From_Account is missing", KindBadRequest},
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"` + long + `","FollowList":[{"To_Account":"b"}]}`, "From_Account is 33 bytes; at most 32 are allowed", KindBadRequest},
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"a"}`, "FollowList is missing", KindBadRequest},
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"a","FollowList":[]}`, "FollowList is empty", KindBadRequest},
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"a","FollowList":["b"]}`, "FollowList[0] must be an object", KindBadRequest},
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"a","FollowList":[{"To_Account":"b"},{}]}`, "FollowList[1].To_Account is missing", KindBadRequest},
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"a","FollowList":[{"To_Account":"b\u0000"}]}`, "FollowList[0].To_Account contains a NUL character", KindBadRequest},
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"a","FollowList":[{"To_Account":"b"}],"EventTime":1.5}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string", KindBadRequest},
		{CommandFollowAdd, `{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"a","FollowList":[{"To_Account":"b"},{"To_Account":"c"},{"To_Account":"d"}]}`, "FollowList has 3 entries; at most 2 are accepted", KindTooLarge},
		{CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","To_Account":["b"]}`, "From_Account is missing", KindBadRequest},
		{CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"a","To_Account":"b"}`, "To_Account must be an array", KindBadRequest},
		{CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"a","To_Account":[]}`, "To_Account is empty", KindBadRequest},
		{CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"a","To_Account":["b",{"To_Account":"c"}]}`, "To_Account[1] must be a string", KindBadRequest},
		{CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"a","To_Account":["b",""]}`, "To_Account[1] is empty", KindBadRequest},
		{CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"a","To_Account":["` + long + `"]}`, "To_Account[0] is 33 bytes; at most 32 are allowed", KindBadRequest},
		{CommandFollowDelete, `{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"a","To_Account":["b","c","d"]}`, "To_Account has 3 entries; at most 2 are accepted", KindTooLarge},
	}
	routes := NewRoutes(DefaultRoutes...)
	for _, tt := range tests {
		route, _ := routes.Lookup(tt.cmd)
		_, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(tt.give), MaxPairs: 2}, route)
		if ErrorKind(err) != tt.kind || err.Error() != tt.want {
			t.Errorf("%s: %v, want %s %q", tt.give, err, tt.kind, tt.want)
		}
	}
}
