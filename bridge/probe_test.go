package bridge

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/imbridge/imbridge/schema"
)

// goldenFile is the golden callback of a route under testdata/map.
func goldenFile(route Route) string { return SampleFile(route) }

// eventLists are the lists whose entries become one event each.
var eventLists = []string{"PairList", "NewMemberList", "ExitMemberList", "MemberList", "MsgSeqList", "GroupMsgReceiptList", "SubscribeAccountList", "FollowList", "Events"}

// probed adds to a golden body a member no route reads at the top level and in every
// entry of its lists of objects, and a TopicId to a group body without one (or with
// "", as Chat sends it outside topics), and a Type (the group's) to one without.
func probed(t *testing.T, body []byte, group bool) []byte {
	t.Helper()
	var top map[string]any
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatal(err)
	}
	top["ImbridgeProbe"] = map[string]any{"a": []any{1, "<&>"}}
	for _, name := range eventLists {
		if list, ok := top[name].([]any); ok {
			for _, e := range list {
				if m, ok := e.(map[string]any); ok {
					m["ProbeInEntry"] = 1
				}
			}
		}
	}
	// (A topic deletion names its topics in TopicIdList.)
	if id, _ := top["TopicId"].(string); group && id == "" && top["TopicIdList"] == nil {
		top["TopicId"] = "@TGS#_g@TOPIC#_t"
	}
	if _, ok := top["Type"]; group && !ok {
		top["Type"] = "Community"
	}
	out, err := json.Marshal(top)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Nothing Chat sends is dropped: a member no route reads, at the top level of any
// routed body and in the entries of its lists, arrives in every event as sent ("extra",
// "entryExtra", or the list kept as sent), and every group event carries TopicId and
// the group's Type (groupType).
// Every member an event has is a property of its event schema.
func TestProbesArrive(t *testing.T) {
	for _, route := range DefaultRoutes {
		t.Run(route.Name, func(t *testing.T) {
			cb := readCallback(t, goldenFile(route))
			group := route.Topic == TopicGroup || route.Topic == TopicGroupMessage
			cb.Body = probed(t, cb.Body, group)
			events, err := Map(cb, route)
			if err != nil {
				t.Fatalf("Map: %v\n%s", err, cb.Body)
			}
			var props struct {
				Properties map[string]json.RawMessage `json:"properties"`
			}
			raw, err := schema.Files.ReadFile(schema.EventSchema(route.Type))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &props); err != nil {
				t.Fatal(err)
			}
			for i := range events {
				value := string(events[i].AppendJSON(nil))
				if !strings.Contains(value, `"extra":{"ImbridgeProbe":{"a":[1,"\u003c\u0026\u003e"]}}`) {
					t.Errorf("event %d lacks the top-level probe: %s", i, value)
				}
				if strings.Contains(string(cb.Body), "ProbeInEntry") && !strings.Contains(value, `"ProbeInEntry":1`) {
					t.Errorf("event %d lacks the probe of its list entry: %s", i, value)
				}
				if group && route.Command != CommandAfterTopicDestroyed && !strings.Contains(value, `"topicId":"@TGS#_`) {
					t.Errorf("event %d lacks the TopicId: %s", i, value)
				}
				if group && !strings.Contains(value, `"groupType":"`) {
					t.Errorf("event %d lacks the group's Type as groupType: %s", i, value)
				}
				var members map[string]json.RawMessage
				if err := json.Unmarshal([]byte(value), &members); err != nil {
					t.Fatal(err)
				}
				for name := range members {
					if _, ok := props.Properties[name]; !ok {
						t.Errorf("event %d has %q, which schema/%s does not state", i, name, route.Type)
					}
				}
			}
		})
	}
}

// Message content reaches the consumer as the bytes Chat sent: HTML characters,
// U+2028, spaces and number forms (1.50, 1e2, a 24-digit integer) are not re-encoded.
func TestContentAsSent(t *testing.T) {
	const content = `[ {"MsgType": "TIMTextElem", "MsgContent": {"Text": "<b>x</b> & y` + "\u2028" + `", "N": [1.50, 1e2, 123456789012345678901234, -0.0]}} ]`
	const text = `"<b>x</b> & y` + "\u2028" + ` \u00e9"`
	tests := []struct{ route, member, event, value string }{
		{"group-message-sent", "MsgBody", "msgBody", content},
		{"group-message-sent", "CloudCustomData", "cloudCustomData", text},
		{"group-message-sent", "GroupAtInfo", "groupAtInfo", `[{"GroupAt_Account": "@All", "N": 1.50}]`},
		{"group-message-failed", "MsgBody", "msgBody", content},
		{"group-message-modified", "MsgBody", "msgBody", content},
		{"group-message-modified", "CloudCustomData", "cloudCustomData", text},
		{"c2c-message-sent", "MsgBody", "msgBody", content},
		{"c2c-message-sent", "CloudCustomData", "cloudCustomData", `{"k": 1e2, "t": "<&>"}`},
		{"c2c-message-modified", "MsgBody", "msgBody", content},
		{"c2c-message-modified", "CloudCustomData", "cloudCustomData", text},
		{"c2c-message-extension-changed", "ExtensionList", "extensionList", `[{"Key": "<k>", "Value": "v & w", "Seq": 1.0}]`},
		{"group-message-extension-changed", "ExtensionList", "extensionList", `[{"Key": "<k>", "Value": "v & w", "Seq": 1.0}]`},
		{"profile-updated", "ProfileItem", "profileItem", `[{"Tag": "Tag_Profile_IM_Nick", "Value": "<nick> & co"}]`},
		{"group-attributes-changed", "GroupAttr", "groupAttr", `[{"key": "a", "value": "<v>\u2028"}]`},
		{"group-created", "UserDefinedDataList", "userDefinedDataList", `[{"Key": "k", "Value": "<v> & 1.50"}]`},
		{"bot-group-message", "MsgBody", "msgBody", content},
		{"bot-c2c-message", "MsgBody", "msgBody", content},
		{"bot-c2c-message", "CloudCustomData", "cloudCustomData", `{"k": 1e2, "t": "<&>"}`},
		{"group-info-changed", "Notification", "notification", text},
		{"call-started", "UserList", "userList", `[{"User_Account": "<u>", "Status": "Calling", "N": 1.50}]`},
		{"call-ended", "CallRecord", "callRecord", `{"CallId": "055662e1-bc8a-469c-a334-1126c8c17d58", "CallResult": "<x> & y", "N": 1.50}`},
		{"call-member-changed", "ChangedUserList", "changedUserList", `[{"User_Account": "u\u00e9", "ActionType": "Accept", "N": 1e2}]`},
		{"moderation-result", "TextContent", "textContent", `["<b>x</b> & y` + "\u2028" + `", "1.50"]`},
		{"moderation-result", "CtxcbKeywords", "ctxcbKeywords", `["<b>", "\u00e9"]`},
		{"moderation-result", "CloudCustomData", "cloudCustomData", `{"k": 1e2, "t": "<&>"}`},
		{"moderation-result", "ContactItem", "contactItem", `{"ContactType": 1, "To_Account": "Jonh", "N": 1.50}`},
		// An escaped lone surrogate is valid JSON, though no character: carried as sent.
		{"group-message-sent", "MsgBody", "msgBody", `[{"MsgType":"TIMTextElem","MsgContent":{"Text":"a\ud800b\udc00"}}]`},
		{"c2c-message-sent", "CloudCustomData", "cloudCustomData", `"\ud83d alone"`},
		{"group-info-changed", "Name", "name", `"\udfff"`},
	}
	for _, tt := range tests {
		t.Run(tt.route+"/"+tt.member, func(t *testing.T) {
			var route Route
			for _, r := range DefaultRoutes {
				if r.Name == tt.route {
					route = r
				}
			}
			cb := readCallback(t, goldenFile(route))
			var top map[string]json.RawMessage
			if err := json.Unmarshal(cb.Body, &top); err != nil {
				t.Fatal(err)
			}
			top[tt.member] = json.RawMessage(tt.value)
			var b strings.Builder
			b.WriteString("{")
			for k, v := range top {
				if b.Len() > 1 {
					b.WriteString(",")
				}
				b.WriteString(`"` + k + `":` + string(v))
			}
			cb.Body = []byte(b.String() + "}")
			events, err := Map(cb, route)
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			want := `"` + tt.event + `":` + tt.value
			for i := range events {
				if v := events[i].AppendJSON(nil); !strings.Contains(string(v), want) {
					t.Errorf("event %d does not carry %s as sent:\n%s", i, want, v)
				}
			}
		})
	}
}

// FuzzMemberArrives adds any member to any route's documented sample: the callback is
// either kept whole (an error Map reports, which the handler quarantines) or every
// event carries the member as sent, byte for byte, under "extra" (or, for a member a
// route reads, as the route's own field).
func FuzzMemberArrives(f *testing.F) {
	f.Add(uint8(0), "NewField", []byte(`{"a":[1,"<&>"]}`))
	f.Add(uint8(11), "Zeta", []byte(`1.50`))
	f.Add(uint8(20), "\u00e9\"q", []byte(`"x\u2028y"`))
	f.Add(uint8(29), "X", []byte(`[ 1 , 2 ]`))
	f.Fuzz(func(t *testing.T, which uint8, name string, value []byte) {
		route := DefaultRoutes[int(which)%len(DefaultRoutes)]
		if !json.Valid(value) || !utf8.ValidString(name) {
			return
		}
		cb := readCallback(t, goldenFile(route))
		var top map[string]json.RawMessage
		if err := json.Unmarshal(cb.Body, &top); err != nil {
			t.Fatal(err)
		}
		if _, ok := top[name]; ok || name == "CallbackCommand" || name == "EventTime" {
			return // a member the sample has: not an addition
		}
		key := appendJSONString(nil, name)
		with := func(v []byte) []byte {
			body := append(append([]byte(`{`), key...), ':')
			body = append(append(body, bytes.TrimSpace(v)...), ',')
			return append(body, bytes.TrimSpace(cb.Body)[1:]...)
		}
		// A name the route reads is its own field, not an addition: a sentinel string
		// under that name does not reach "extra".
		probe := cb
		probe.Body = with([]byte(`"sentinel"`))
		if evs, err := Map(probe, route); err != nil || !strings.Contains(string(evs[0].AppendJSON(nil)), `"extra":{`+string(key)+`:"sentinel"`) {
			return
		}
		cb.Body = with(value)
		events, err := Map(cb, route)
		if err != nil {
			return // refused whole: quarantined by the handler
		}
		want := string(key) + ":" + string(bytes.TrimSpace(value))
		for i := range events {
			v := events[i].AppendJSON(nil)
			if !json.Valid(v) {
				t.Fatalf("event %d is not JSON: %s", i, v)
			}
			if !strings.Contains(string(v), `"extra":{`+want) {
				t.Fatalf("event %d of %s lacks %s as sent: %s", i, route.Name, want, v)
			}
		}
	})
}

// An escaped lone UTF-16 surrogate is kept as sent where the value is carried as sent
// or is optional text (then under extra), and refused (so quarantined) where the
// string is required: a key, or what the event is about. Readers disagree on what it
// is.
func TestLoneSurrogates(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"g","Notification":"x\udc00"}`, ""},
		{`{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"g","Unknown":["\ud800"]}`, ""},
		{`{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"g","Operator_Account":"x\udc00"}`, ""},
		{`{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"g\ud800"}`, "GroupId contains an escaped lone UTF-16 surrogate, which is not a character"},
		{`{"CallbackCommand":"Group.CallbackAfterGroupInfoChanged","GroupId":"g","k\ud800":1}`, "body contains an escaped lone UTF-16 surrogate, which is not a character"},
	} {
		route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandGroupInfoChanged)
		cb := Callback{Query: Query{CallbackCommand: CommandGroupInfoChanged}, AppID: 1, Body: []byte(tt.body)}
		events, err := Map(cb, route)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.body, err)
				continue
			}
			if v := events[0].AppendJSON(nil); !json.Valid(v) || (!strings.Contains(string(v), `"x\udc00"`) && !strings.Contains(string(v), `"extra":{"Unknown":["\ud800"]}`)) {
				t.Errorf("%s: not carried as sent: %s", tt.body, v)
			}
			continue
		}
		if ErrorKind(err) != KindBadRequest || !strings.HasPrefix(ErrorMessage(err), tt.want) {
			t.Errorf("%s: %v, want %q", tt.body, err, tt.want)
		}
	}
}
