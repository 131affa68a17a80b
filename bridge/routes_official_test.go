package bridge

import (
	"strings"
	"testing"
)

// Every official account route publishes on the official account's topic, keyed by
// Official_Account; a subscriber list gives one event per subscriber, in order.
func TestOfficialRoutesKeys(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	tests := []struct {
		cmd, body   string
		subscribers []string
	}{
		{CommandOfficialAccountCreated, `{"CallbackCommand":"OfficialAccount.CallbackAfterCreateOfficialAccount","Official_Account":"@TOA#oa","Name":""}`, nil},
		{CommandOfficialAccountDestroyed, `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountDestroyed","Official_Account":"@TOA#oa"}`, nil},
		{CommandOfficialSubscriberAdded, `{"CallbackCommand":"OfficialAccount.CallbackAfterAddSubscriber","Official_Account":"@TOA#oa","SubscribeAccountList":[{"Subscriber_Account":"a"},{"Subscriber_Account":"b"},{"Subscriber_Account":"c"}]}`, []string{"a", "b", "c"}},
		{CommandOfficialSubscriberRemoved, `{"CallbackCommand":"OfficialAccount.CallbackAfterDeleteSubscriber","Official_Account":"@TOA#oa","SubscribeAccountList":[{"Subscriber_Account":"b"}],"EventTime":"1670574414123"}`, []string{"b"}},
		{CommandOfficialAccountFull, `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountFull","Official_Account":"@TOA#oa"}`, nil},
	}
	for _, tt := range tests {
		route, ok := routes.Lookup(tt.cmd)
		if !ok || route.Topic != TopicOfficialAccount || route.Command != tt.cmd {
			t.Fatalf("%s: route %+v", tt.cmd, route)
		}
		evs, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(tt.body)}, route)
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		want := max(len(tt.subscribers), 1)
		if len(evs) != want {
			t.Fatalf("%s: %d events, want %d", tt.body, len(evs), want)
		}
		for i, e := range evs {
			if string(e.Key()) != "@TOA#oa" {
				t.Errorf("%s: event %d keyed %q", tt.cmd, i, e.Key())
			}
			if tt.subscribers != nil && !strings.Contains(string(e.Subject.Fields), `"subscriberAccount":"`+tt.subscribers[i]+`"`) {
				t.Errorf("%s: event %d is %s, want subscriber %s", tt.cmd, i, e.Subject.Fields, tt.subscribers[i])
			}
		}
	}
}

func TestOfficialRoutesReject(t *testing.T) {
	const (
		created   = `{"CallbackCommand":"OfficialAccount.CallbackAfterCreateOfficialAccount",`
		destroyed = `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountDestroyed",`
		added     = `{"CallbackCommand":"OfficialAccount.CallbackAfterAddSubscriber",`
		removed   = `{"CallbackCommand":"OfficialAccount.CallbackAfterDeleteSubscriber",`
		full      = `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountFull",`
	)
	tests := []struct {
		cmd, give, want string
	}{
		{CommandOfficialAccountCreated, created + `"Name":"n"}`, "Official_Account is missing"},
		{CommandOfficialAccountCreated, created + `"Official_Account":""}`, "Official_Account is empty"},
		{CommandOfficialAccountCreated, created + `"Official_Account":1}`, "Official_Account must be a string"},
		{CommandOfficialAccountCreated, created + `"Official_Account":"o\u0000"}`, "Official_Account contains a NUL character"},
		{CommandOfficialAccountCreated, created + `"Official_Account":"o","Operator_Account":7}`, "Operator_Account must be a string"},
		{CommandOfficialAccountCreated, created + `"Official_Account":"o","Owner_Account":"` + strings.Repeat("x", 33) + `"}`, "Owner_Account is 33 bytes; at most 32 are allowed"},
		{CommandOfficialAccountCreated, created + `"Official_Account":"o","Name":{}}`, "Name must be a string"},
		{CommandOfficialAccountCreated, created + `"Official_Account":"o","EventTime":"soon"}`, "EventTime must be a non-negative integer of Unix milliseconds, or those digits as a string"},
		{CommandOfficialAccountDestroyed, destroyed + `"Owner_Account":"u"}`, "Official_Account is missing"},
		{CommandOfficialAccountDestroyed, destroyed + `"Official_Account":"o","Owner_Account":["u"]}`, "Owner_Account must be a string"},
		{CommandOfficialAccountDestroyed, destroyed + `"Official_Account":"o","Name":false}`, "Name must be a string"},
		{CommandOfficialSubscriberAdded, added + `"SubscribeAccountList":[{"Subscriber_Account":"a"}]}`, "Official_Account is missing"},
		{CommandOfficialSubscriberAdded, added + `"Official_Account":"o"}`, "SubscribeAccountList is missing"},
		{CommandOfficialSubscriberAdded, added + `"Official_Account":"o","SubscribeAccountList":[]}`, "SubscribeAccountList is empty"},
		{CommandOfficialSubscriberAdded, added + `"Official_Account":"o","SubscribeAccountList":{}}`, "SubscribeAccountList must be an array"},
		{CommandOfficialSubscriberAdded, added + `"Official_Account":"o","SubscribeAccountList":["a"]}`, "SubscribeAccountList[0] must be an object"},
		{CommandOfficialSubscriberAdded, added + `"Official_Account":"o","SubscribeAccountList":[{"Subscriber_Account":"a"},{}]}`, "SubscribeAccountList[1].Subscriber_Account is missing"},
		{CommandOfficialSubscriberAdded, added + `"Official_Account":"o","Operator_Account":"","SubscribeAccountList":[{"Subscriber_Account":""}]}`, "SubscribeAccountList[0].Subscriber_Account is empty"},
		{CommandOfficialSubscriberRemoved, removed + `"Official_Account":"o","SubscribeAccountList":[{"Subscriber_Account":1}]}`, "SubscribeAccountList[0].Subscriber_Account must be a string"},
		{CommandOfficialSubscriberRemoved, removed + `"Official_Account":"o","Operator_Account":1,"SubscribeAccountList":[{"Subscriber_Account":"a"}]}`, "Operator_Account must be a string"},
		{CommandOfficialSubscriberRemoved, removed + `"Official_Account":"` + strings.Repeat("o", 129) + `","SubscribeAccountList":[{"Subscriber_Account":"a"}]}`, "Official_Account is 129 bytes once encoded; at most 128 are accepted"},
		{CommandOfficialAccountFull, full + `"EventTime":1670574414123}`, "Official_Account is missing"},
		{CommandOfficialAccountFull, full + `"Official_Account":null}`, "Official_Account is missing"},
	}
	routes := NewRoutes(DefaultRoutes...)
	for _, tt := range tests {
		route, _ := routes.Lookup(tt.cmd)
		_, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(tt.give)}, route)
		if ErrorKind(err) != KindBadRequest || err.Error() != tt.want {
			t.Errorf("%s: %v, want bad_request %q", tt.give, err, tt.want)
		}
	}
}

// A subscriber list longer than the callback's bound is refused whole before it is
// read, as the other lists that become one event per entry are.
func TestOfficialSubscriberListBound(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandOfficialSubscriberAdded)
	body := `{"CallbackCommand":"OfficialAccount.CallbackAfterAddSubscriber","Official_Account":"@TOA#oa","SubscribeAccountList":[` +
		strings.Repeat(`{"Subscriber_Account":"a"},`, 3) + `{"Subscriber_Account":"b"}]}`
	_, err := Map(Callback{Query: Query{CallbackCommand: CommandOfficialSubscriberAdded}, AppID: 1, Body: []byte(body), MaxPairs: 3}, route)
	if ErrorKind(err) != KindTooLarge || err.Error() != "SubscribeAccountList has 4 entries; at most 3 are accepted" {
		t.Fatalf("%v, want too_large for 4 entries", err)
	}
}
