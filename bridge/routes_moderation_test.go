package bridge

import (
	"strings"
	"testing"
)

// A moderation verdict is keyed by the subject its Scene names.
func TestModerationKeys(t *testing.T) {
	body := func(scene, item string) string {
		b := `{"Scene":"` + scene + `","From_Account":"jared","CtxcbResult":1`
		if item != "" {
			b += `,"ContactItem":{` + item + `}`
		}
		return b + `}`
	}
	tests := []struct{ give, key string }{
		{body("C2C", `"ContactType":1,"To_Account":"Jonh"`), `["Jonh","jared"]`},
		{body("C2CCustom", `"ContactType":1,"To_Account":"amy"`), `["amy","jared"]`},
		{body("Group", `"ContactType":2,"ToGroupId":"@TGS#g"`), "@TGS#g"},
		{body("GroupCustom", `"ContactType":2,"ToGroupId":"@TGS#g"`), "@TGS#g"},
		{body("GroupInfo", `"ToGroupId":"@TGS#g"`), "@TGS#g"},
		{body("GroupInfo", ""), "jared"},
		{body("GroupMemberInfo", `"ToGroupId":"@TGS#h"`), "@TGS#h"},
		{body("GroupMemberInfo", ""), "jared"},
		{body("RelationChain", ""), "jared"},
		{body("UserInfo", `"To_Account":"other"`), "jared"},
		{body("Future", `"ToGroupId":"@TGS#g"`), "jared"},
	}
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandModerationResult)
	for _, tt := range tests {
		events, err := Map(Callback{Query: Query{CallbackCommand: CommandModerationResult}, AppID: 1, Body: []byte(tt.give)}, route)
		if err != nil || len(events) != 1 || events[0].key() != tt.key || events[0].Topic != TopicModeration {
			t.Errorf("%s: %v, %d events, key %q, want %q", tt.give, err, len(events), keyOf(events), tt.key)
		}
	}
}

func keyOf(events []Event) string {
	if len(events) == 0 {
		return ""
	}
	return events[0].key()
}

func TestModerationReject(t *testing.T) {
	checkRefusals(t, []refusal{
		{CommandModerationResult, `{"From_Account":"a"}`, "Scene is missing"},
		{CommandModerationResult, `{"Scene":"","From_Account":"a"}`, "Scene is empty"},
		{CommandModerationResult, `{"Scene":"UserInfo"}`, "From_Account is missing"},
		{CommandModerationResult, `{"Scene":"UserInfo","From_Account":"` + strings.Repeat("a", 33) + `"}`, "From_Account is 33 bytes; at most 32 are allowed"},
		{CommandModerationResult, `{"Scene":"C2C","From_Account":"a"}`, "ContactItem.To_Account is missing"},
		{CommandModerationResult, `{"Scene":"C2C","From_Account":"a","ContactItem":{"To_Account":""}}`, "ContactItem.To_Account is empty"},
		{CommandModerationResult, `{"Scene":"C2C","From_Account":"a","ContactItem":[]}`, "ContactItem must be an object"},
		{CommandModerationResult, `{"Scene":"Group","From_Account":"a","ContactItem":{"ContactType":2}}`, "ContactItem.ToGroupId is missing"},
		{CommandModerationResult, `{"Scene":"Group","From_Account":"a","ContactItem":{"ToGroupId":7}}`, "ContactItem.ToGroupId must be a string"},
		{CommandModerationResult, `{"Scene":"Group","From_Account":"a","ContactItem":{"ContactType":"two","ToGroupId":"g"}}`, "ContactItem.ContactType must be an integer"},
		{CommandModerationResult, `{"Scene":"UserInfo","From_Account":"a","CtxcbResult":true}`, "CtxcbResult must be an integer"},
		{CommandModerationResult, `{"Scene":"UserInfo","From_Account":"a","CtxcbLabel":["x"]}`, "CtxcbLabel must be a string"},
		{CommandModerationResult, `{"Scene":"UserInfo","From_Account":"a","SdkAppId":1400187353}`, "SdkAppId in the body (1400187353) differs from the query's SdkAppid (1)"},
		{CommandModerationResult, `{"Scene":"UserInfo","From_Account":"a","SdkAppId":"x"}`, "SdkAppId must be a non-negative integer"},
		{CommandModerationResult, `{"CallbackCommand":"C2C.CallbackAfterSendMsg","Scene":"UserInfo","From_Account":"a"}`,
			`CallbackCommand in the body ("C2C.CallbackAfterSendMsg") differs from the query's ("ContentCallback.ResultNotify")`},
	})
}
