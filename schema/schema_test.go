package schema_test

import (
	"strings"
	"testing"

	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// The callback request body of schema/openapi.yaml takes the bodies of Chat's
// documentation for every routed command and any body of another command, and
// refuses the bodies the handler refuses.
func TestCallbackRequestBody(t *testing.T) {
	pairs := func(command string) string {
		return `{"CallbackCommand":"` + command + `","PairList":[{"From_Account":"id","To_Account":"id1"},{"From_Account":"id","To_Account":"id2"}]}`
	}
	tests := []struct {
		name string
		give string
		ok   bool
	}{
		{"blocklist delete", pairs("Sns.CallbackBlackListDelete"), true},
		{"blocklist add", pairs("Sns.CallbackBlackListAdd"), true},
		{"friend delete", pairs("Sns.CallbackFriendDelete"), true},
		{"friend add", `{"CallbackCommand":"Sns.CallbackFriendAdd","ClientCmd":"friend_add","Admin_Account":"admin","ForceFlag":1,` +
			`"PairList":[{"From_Account":"id","To_Account":"id1","Initiator_Account":"id"},{"From_Account":"id1","To_Account":"id","Initiator_Account":"id"}]}`, true},
		{"friend add, empty and null fields", `{"CallbackCommand":"Sns.CallbackFriendAdd","ClientCmd":null,"Admin_Account":"","ForceFlag":null,` +
			`"PairList":[{"From_Account":"a","To_Account":"b","Initiator_Account":""}]}`, true},
		{"extra fields allowed", `{"CallbackCommand":"Sns.CallbackBlackListDelete","EventTime":1669872112000,"New":1,"PairList":[{"From_Account":"a","To_Account":"b","Note":1}]}`, true},
		{"EventTime null", `{"CallbackCommand":"Sns.CallbackBlackListAdd","EventTime":null,"PairList":[{"From_Account":"a","To_Account":"b"}]}`, true},
		{"another command, any body", `{"CallbackCommand":"Group.CallbackBeforeSendMsg","GroupId":"g"}`, true},
		{"group member joined", `{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g","EventTime":"1670574414123","NewMemberList":[{"Member_Account":"a"}]}`, true},
		{"group member joined, no members", `{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g"}`, false},
		{"empty PairList", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[]}`, false},
		{"PairList missing", `{"CallbackCommand":"Sns.CallbackFriendDelete"}`, false},
		{"missing To_Account", `{"CallbackCommand":"Sns.CallbackBlackListAdd","PairList":[{"From_Account":"a"}]}`, false},
		{"account too long", `{"CallbackCommand":"Sns.CallbackFriendDelete","PairList":[{"From_Account":"` + strings.Repeat("a", 33) + `","To_Account":"b"}]}`, false},
		{"account not a string", `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":1,"To_Account":"b"}]}`, false},
		{"negative EventTime", `{"CallbackCommand":"Sns.CallbackBlackListDelete","EventTime":-1,"PairList":[{"From_Account":"a","To_Account":"b"}]}`, false},
		{"friend add, ForceFlag not an integer", `{"CallbackCommand":"Sns.CallbackFriendAdd","ForceFlag":"1.0","PairList":[{"From_Account":"a","To_Account":"b"}]}`, false},
		{"friend add, Initiator_Account a number", `{"CallbackCommand":"Sns.CallbackFriendAdd","PairList":[{"From_Account":"a","To_Account":"b","Initiator_Account":1}]}`, false},
		{"CallbackCommand missing", `{"PairList":[{"From_Account":"a","To_Account":"b"}]}`, false},
		{"push results, no top-level command", `{"Events":[{"CallbackCommand":"Push.AllMemberPush","EventType":1,"TaskId":"t","TaskTime":1557481127,"EventTime":1557481128,"To_Account":"u","PushPlatform":1,"PushStage":1,"ErrCode":0,"ErrInfo":"OK"}]}`, true},
		{"push results, top-level command agreeing", `{"CallbackCommand":"Push.OfflinePush","Events":[{"CallbackCommand":"Push.OfflinePush","To_Account":"u","MsgKey":"k","EventTime":"1557481128"}]}`, true},
		{"push results, entries of two commands", `{"Events":[{"CallbackCommand":"Push.OfflinePush","To_Account":"u","MsgKey":"k"},{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"u"}]}`, false},
		{"push results, entry without its command", `{"Events":[{"TaskId":"t","To_Account":"u"}]}`, false},
		{"push results, EventTime in milliseconds", `{"Events":[{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"u","EventTime":1557481128000}]}`, false},
		{"offline push naming no push", `{"Events":[{"CallbackCommand":"Push.OfflinePush","To_Account":"u"}]}`, false},
		{"push results, empty batch", `{"Events":[]}`, false},
		{"moderation verdict", `{"Scene":"C2C","SdkAppId":1400187352,"From_Account":"jared","ContactItem":{"ContactType":1,"To_Account":"Jonh"},"ContentType":"Text","TextContent":["a"],"CtxcbResult":1}`, true},
		{"moderation verdict of a group's profile", `{"Scene":"GroupInfo","From_Account":"jared","CtxcbResult":0}`, true},
		{"moderation verdict of a group message without its group", `{"Scene":"Group","From_Account":"jared","ContactItem":{"ContactType":2}}`, false},
		{"moderation verdict without its scene", `{"From_Account":"jared","CtxcbResult":1}`, false},
		{"CallbackCommand empty", `{"CallbackCommand":""}`, false},
		{"not an object", `[]`, false},
	}
	s := schematest.CompileRequestBody(t, "/callback", "post")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := schematest.Validate(s, []byte(tt.give))
			if (err == nil) != tt.ok {
				t.Fatalf("valid = %v, want %v (err: %v)", err == nil, tt.ok, err)
			}
		})
	}
}

// Each command's body schema takes only its own command.
func TestCallbackSchemasOwnCommand(t *testing.T) {
	files := map[string]string{
		schema.BlocklistDeleteCallback: "Sns.CallbackBlackListDelete", schema.BlocklistAddCallback: "Sns.CallbackBlackListAdd",
		schema.FriendAddCallback: "Sns.CallbackFriendAdd", schema.FriendDeleteCallback: "Sns.CallbackFriendDelete",
	}
	for file, own := range files {
		s := schematest.Compile(t, file)
		for _, command := range files {
			body := `{"CallbackCommand":"` + command + `","PairList":[{"From_Account":"a","To_Account":"b"}]}`
			if err := schematest.Validate(s, []byte(body)); (err == nil) != (command == own) {
				t.Errorf("%s with %s: valid = %v, want %v", file, command, err == nil, command == own)
			}
		}
	}
}
