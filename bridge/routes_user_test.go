package bridge

import (
	"testing"
)

func TestUserRoutesKeys(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	tests := []struct {
		cmd, body, topic, key string
	}{
		{CommandStateChange, `{"CallbackCommand":"State.StateChange","Info":{"Action":"Logout","To_Account":"u1"}}`, TopicState, "u1"},
		{CommandPortraitSet, `{"CallbackCommand":"Profile.CallbackPortraitSet","Operator_Account":"admin","From_Account":"u1","ProfileItem":[{"Tag":"Tag_Profile_IM_Level","Value":3}]}`, TopicProfile, "u1"},
		{CommandOfficialAccountInfoChanged, `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountInfoChanged","Official_Account":"@TOA#oa","Name":""}`, TopicOfficialAccount, "@TOA#oa"},
		{CommandBotOnGroupMessage, `{"CallbackCommand":"Bot.OnGroupMessage","GroupId":"@TGS#g","AtRobots_Account":["@RBT#1","@RBT#2"],"EventTime":"1670574414123"}`, TopicGroupMessage, "@TGS#g"},
	}
	for _, tt := range tests {
		route, ok := routes.Lookup(tt.cmd)
		if !ok || route.Topic != tt.topic {
			t.Fatalf("%s: route %+v", tt.cmd, route)
		}
		evs, err := Map(Callback{Query: Query{CallbackCommand: tt.cmd}, AppID: 1, Body: []byte(tt.body)}, route)
		if err != nil {
			t.Fatalf("%s: %v", tt.body, err)
		}
		if len(evs) != 1 || string(evs[0].Key()) != tt.key {
			t.Fatalf("%s: %d events, key %s", tt.body, len(evs), evs[0].Key())
		}
	}
}

// An official account field set to "" is published as "", one left out is absent.
func TestOfficialInfoChangedEmptyField(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandOfficialAccountInfoChanged)
	body := `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountInfoChanged","Official_Account":"@TOA#oa","Introduction":""}`
	evs, err := Map(Callback{Query: Query{CallbackCommand: CommandOfficialAccountInfoChanged}, AppID: 1, Body: []byte(body)}, route)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(evs[0].Subject.Fields), `"officialAccount":"@TOA#oa","introduction":""`; got != want {
		t.Fatalf("fields %s, want %s", got, want)
	}
}

func TestUserRoutesReject(t *testing.T) {
	tests := []struct {
		cmd, give, want string
	}{
		{CommandStateChange, `{"CallbackCommand":"State.StateChange"}`, "Info is missing"},
		{CommandStateChange, `{"CallbackCommand":"State.StateChange","Info":[]}`, "Info must be an object"},
		{CommandStateChange, `{"CallbackCommand":"State.StateChange","Info":{"Action":"Login"}}`, "Info.To_Account is missing"},
		{CommandStateChange, `{"CallbackCommand":"State.StateChange","Info":{"To_Account":"u"}}`, "Info.Action is missing"},
		{CommandStateChange, `{"CallbackCommand":"State.StateChange","Info":{"Action":1,"To_Account":"u"}}`, "Info.Action must be a string"},
		{CommandStateChange, `{"CallbackCommand":"State.StateChange","Info":{"Action":"Login","To_Account":"u"},"KickedDevice":{}}`, "KickedDevice must be an array"},
		{CommandPortraitSet, `{"CallbackCommand":"Profile.CallbackPortraitSet","Operator_Account":"a"}`, "From_Account is missing"},
		{CommandPortraitSet, `{"CallbackCommand":"Profile.CallbackPortraitSet","From_Account":"u","ProfileItem":{}}`, "ProfileItem must be an array"},
		{CommandOfficialAccountInfoChanged, `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountInfoChanged","Name":"n"}`, "Official_Account is missing"},
		{CommandOfficialAccountInfoChanged, `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountInfoChanged","Official_Account":"o\u0000"}`, "Official_Account contains a NUL character"},
		{CommandOfficialAccountInfoChanged, `{"CallbackCommand":"OfficialAccount.CallbackAfterOfficialAccountInfoChanged","Official_Account":"o","Name":1}`, "Name must be a string"},
		{CommandBotOnGroupMessage, `{"CallbackCommand":"Bot.OnGroupMessage","AtRobots_Account":["@RBT#1"]}`, "GroupId is missing"},
		{CommandBotOnGroupMessage, `{"CallbackCommand":"Bot.OnGroupMessage","GroupId":"g","Random":-1}`, "Random must be an integer from 0 to 4294967295"},
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
