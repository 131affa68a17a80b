package bridge

import (
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// form is a value a member of a documented sample is sent as in TestEveryFormArrives:
// the forms that are easy to drop ("", null, an empty list or object, 0) and one no
// reader agrees on (an escaped lone surrogate).
type form struct {
	name string
	// value is the member's new JSON, or "" when the form does not apply to a member
	// whose sample value is v.
	value func(v any) string
}

var sentForms = []form{
	{"empty string", func(v any) string { return ifKind[string](v, `""`) }},
	{"null", func(any) string { return `null` }},
	{"empty list", func(v any) string { return ifKind[[]any](v, `[]`) }},
	{"empty object", func(v any) string { return ifKind[map[string]any](v, `{}`) }},
	{"zero", func(v any) string { return ifKind[json.Number](v, `0`) }},
	{"lone surrogate", func(v any) string { return ifKind[string](v, `"x\udc00y"`) }},
}

// sentForm is a route's documented sample with the member at path sent as value.
type sentForm struct {
	path  []any
	value string
	cb    Callback
}

// sentFormsOf yields route's documented sample with each member, at every depth, sent
// in each of sentForms that applies to it.
func sentFormsOf(t *testing.T, route Route) iter.Seq[sentForm] {
	cb := readCallback(t, goldenFile(route))
	return func(yield func(sentForm) bool) {
		for _, path := range memberPaths(tree(t, cb.Body), nil) {
			for _, f := range sentForms {
				body := tree(t, cb.Body)
				value := f.value(at(body, path))
				if value == "" {
					continue
				}
				set(body, path, json.RawMessage(value))
				if !yield(sentForm{path: path, value: value, cb: withBody(t, cb, body)}) {
					return
				}
			}
		}
	}
}

func ifKind[T any](v any, s string) string {
	if _, ok := v.(T); ok {
		return s
	}
	return ""
}

// needed are the members a route needs to make its events: the subject's key or
// identity, what the event is about, the list whose entries become events. In a form
// that cannot be used, the callback is refused whole, which the handler keeps on the
// quarantine topic. Any other member, in any form, reaches the consumer as sent. A
// name is a member's path, with [] for every list entry, after "*/" (any route) or
// the route's name.
var needed = []string{
	// Subject keys and identities.
	"*/GroupId", "*/From_Account", "*/To_Account", "*/To_Account[]", "*/Official_Account", "*/Member_Account",
	"*/Peer_Account", "*/Report_Account", "*/MsgKey", "*/CallId", "*/CallInfo", "*/CallInfo.CallId",
	"*/CallRecord", "*/CallRecord.CallId", "*/Info", "*/Info.To_Account", "*/ContactItem", "*/ContactItem.To_Account",
	"group-topic-created/TopicId", "*/TopicIdList", "*/TopicIdList[]", "*/NewOwner_Account",
	// Members that name the subject with others (SubjectStr): none when "" or null; a
	// lone surrogate would name another subject (a topic's message as its group's).
	"*/TopicId", "*/ContactItem.ToGroupId",
	// What the event is about.
	"*/Info.Action", "*/Scene", "*/EventType", "*/MsgSeq", "*/OperateType",
	"*/Limit", "*/Quota", "*/QuotaUsed", "*/Request", "*/ServiceName", "*/Command",
	// Lists whose entries become events, their entries, and each entry's subject.
	"*/PairList", "*/PairList[]", "*/PairList[].From_Account", "*/PairList[].To_Account",
	"*/NewMemberList", "*/NewMemberList[]", "*/NewMemberList[].Member_Account",
	"*/ExitMemberList", "*/ExitMemberList[]", "*/ExitMemberList[].Member_Account",
	"*/MemberList", "*/MemberList[]", "*/MemberList[].Member_Account",
	"*/FollowList", "*/FollowList[]", "*/FollowList[].To_Account",
	"*/SubscribeAccountList", "*/SubscribeAccountList[]", "*/SubscribeAccountList[].Subscriber_Account",
	"*/MsgSeqList", "*/MsgSeqList[]", "*/MsgSeqList[].MsgSeq",
	"*/GroupMsgReceiptList", "*/GroupMsgReceiptList[]", "*/GroupMsgReceiptList[].MsgSeq",
	"*/Events", "*/Events[]", "*/Events[].CallbackCommand", "*/Events[].TaskId", "*/Events[].To_Account",
}

// A member of any documented sample, at any depth, sent as "", null, an empty list or
// object, 0, or a string with an escaped lone surrogate, reaches the consumer as sent:
// under its own event member, or its Chat name (extra, entryExtra, or an object or
// list the event carries as sent). Only a member a route needs (needed) refuses the
// callback, which the handler keeps whole on the quarantine topic.
func TestEveryFormArrives(t *testing.T) {
	checked := 0
	for _, route := range DefaultRoutes {
		for sf := range sentFormsOf(t, route) {
			path, value, name := sf.path, sf.value, pathName(sf.path)
			if len(path) == 1 && (path[0] == "CallbackCommand" || path[0] == "EventTime" || path[0] == "SdkAppId") {
				continue // the envelope's: checked apart
			}
			events, err := Map(sf.cb, route)
			if err != nil {
				if !slices.Contains(needed, "*/"+name) && !slices.Contains(needed, route.Name+"/"+name) {
					t.Errorf("%s: %s sent as %s refuses the callback: %v", route.Name, name, value, err)
				} else if ErrorKind(err) != KindBadRequest && ErrorKind(err) != KindTooLarge {
					t.Errorf("%s: %s sent as %s: %v, not kept on the quarantine topic", route.Name, name, value, err)
				}
				continue
			}
			checked++
			member := path[len(path)-1]
			var want []string
			if s, ok := member.(string); ok {
				want = []string{`"` + s + `":` + value, `"` + camel(s) + `":` + value}
				if s == "Type" {
					want = append(want, `"groupType":`+value)
				}
			} else { // an entry of a list of strings: the list as sent
				want = []string{value + `]`, value + `,`}
			}
			carried := 0
			for _, e := range events {
				v := string(e.AppendJSON(nil))
				if slices.ContainsFunc(want, func(w string) bool { return strings.Contains(v, w) }) {
					carried++
				}
			}
			if carried == 0 || (len(path) == 1 && carried != len(events)) {
				t.Errorf("%s: %s sent as %s reaches %d of %d events", route.Name, name, value, carried, len(events))
			}
		}
	}
	if checked < 750 {
		t.Errorf("only %d forms checked", checked)
	}
	t.Logf("%d forms of sample members carried", checked)
}

// memberPaths lists the paths of every member of v and its lists' entries, depth
// first, in a fixed order: strings name members, ints list entries.
func memberPaths(v any, prefix []any) [][]any {
	var out [][]any
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := append(slices.Clip(prefix), k)
			out = append(out, p)
			out = append(out, memberPaths(x[k], p)...)
		}
	case []any:
		for i, e := range x {
			p := append(slices.Clip(prefix), i)
			out = append(out, p)
			out = append(out, memberPaths(e, p)...)
		}
	}
	return out
}

func at(v any, path []any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func set(v any, path []any, value any) {
	parent := at(v, path[:len(path)-1])
	switch k := path[len(path)-1].(type) {
	case string:
		parent.(map[string]any)[k] = value
	case int:
		parent.([]any)[k] = value
	}
}

// pathName writes a path as refusable names it: Info.To_Account, PairList[].From_Account.
func pathName(path []any) string {
	var b strings.Builder
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			fmt.Fprint(&b, "[]")
		}
	}
	return b.String()
}

// A flattened copy of a list (memberAccounts, readReceiptMembers, calleeAccounts,
// atRobotsAccount) is never a reason to refuse a callback: when an element is not a
// usable account, the copy is left out and the list reaches the consumer as sent.
func TestFlattenedCopiesNeverRefuse(t *testing.T) {
	for _, tt := range []struct{ command, body, copy, sent string }{
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c","CalleeList_Account":"u2"}}`,
			`"calleeAccounts"`, `"CalleeList_Account":"u2"`},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c","CalleeList_Account":["u2",""]}}`,
			`"calleeAccounts"`, `"CalleeList_Account":["u2",""]`},
		{CommandCallEnded, `{"CallbackCommand":"Call.CallbackAfterEndCall","CallRecord":{"CallId":"c","CalleeList_Account":[2]}}`,
			`"calleeAccounts"`, `"CalleeList_Account":[2]`},
		{CommandAfterReadReceipt, `{"CallbackCommand":"Group.CallbackAfterReadReceipt","GroupId":"g","GroupMsgReceiptList":[{"MsgSeq":1,"ReadReceiptMembers":[{}]}]}`,
			`"readReceiptMembers"`, `"readReceiptMemberList":[{}]`},
		{CommandGroupCreated, `{"CallbackCommand":"Group.CallbackAfterCreateGroup","GroupId":"g","MemberList":[{"Member_Account":""}]}`,
			`"memberAccounts"`, `"memberList":[{"Member_Account":""}]`},
		{CommandBotOnGroupMessage, `{"CallbackCommand":"Bot.OnGroupMessage","GroupId":"g","AtRobots_Account":"@RBT#1"}`,
			`"atRobotsAccount"`, `"extra":{"AtRobots_Account":"@RBT#1"}`},
		{CommandBotOnGroupMessage, `{"CallbackCommand":"Bot.OnGroupMessage","GroupId":"g","AtRobots_Account":["@RBT#1","x\udc00"]}`,
			`"atRobotsAccount"`, `"extra":{"AtRobots_Account":["@RBT#1","x\udc00"]}`},
	} {
		route, _ := NewRoutes(DefaultRoutes...).Lookup(tt.command)
		events, err := Map(Callback{Query: Query{CallbackCommand: tt.command}, AppID: 1, Body: []byte(tt.body)}, route)
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		v := string(events[0].AppendJSON(nil))
		if strings.Contains(v, tt.copy) || !strings.Contains(v, tt.sent) {
			t.Errorf("%s: want no %s and %s as sent: %s", tt.body, tt.copy, tt.sent, v)
		}
	}
}

// The body's own EventTime sent as no time (0, "0", null) is not the envelope's
// eventTime, which is left out (a push entry's own time is its event's): it reaches every event under extra, as sent; and a
// query-only command's body CallbackCommand sent as null does too.
func TestEnvelopeFormsArrive(t *testing.T) {
	for _, route := range DefaultRoutes {
		cb := readCallback(t, goldenFile(route))
		forms := []string{`0`, `"0"`, `null`}
		for _, value := range forms {
			body := tree(t, cb.Body)
			body["EventTime"] = json.RawMessage(value)
			events, err := Map(withBody(t, cb, body), route)
			if err != nil {
				t.Errorf("%s: EventTime sent as %s: %v", route.Name, value, err)
				continue
			}
			for _, e := range events {
				if v := string(e.AppendJSON(nil)); !strings.Contains(v, `"extra":{`) || !strings.Contains(v, `"EventTime":`+value) || (e.Subject.EventTime == 0 && strings.Contains(v, `"eventTime"`)) {
					t.Errorf("%s: EventTime sent as %s: %s", route.Name, value, v)
				}
			}
		}
		if !slices.Contains(QueryOnlyCommands, route.Command) {
			continue
		}
		body := tree(t, cb.Body)
		body["CallbackCommand"] = json.RawMessage(`null`)
		events, err := Map(withBody(t, cb, body), route)
		if err != nil {
			t.Errorf("%s: CallbackCommand sent as null: %v", route.Name, err)
			continue
		}
		for _, e := range events {
			if v := string(e.AppendJSON(nil)); !strings.Contains(v, `"extra":{"CallbackCommand":null`) {
				t.Errorf("%s: CallbackCommand sent as null: %s", route.Name, v)
			}
		}
	}
}

// A member that names the event's subject with others (TopicId, a moderated message's
// ContactItem.ToGroupId and To_Account) is refused holding an escaped lone surrogate:
// left out, a topic's message would be published as its group's, and a group's
// moderation verdict keyed by its sender. Sent as "" (none), it reaches extra.
func TestSubjectMembersRefuseLoneSurrogates(t *testing.T) {
	routes := NewRoutes(DefaultRoutes...)
	n := 0
	for _, route := range DefaultRoutes {
		if route.Topic != TopicGroup && route.Topic != TopicGroupMessage || route.Name == "group-topic-destroyed" {
			continue
		}
		cb := readCallback(t, goldenFile(route))
		body := tree(t, cb.Body)
		body["TopicId"] = json.RawMessage(`"@TGS#_g@TOPIC#\udc00"`)
		if _, err := Map(withBody(t, cb, body), route); err == nil || !strings.Contains(err.Error(), "TopicId "+errLone) {
			t.Errorf("%s: a lone surrogate in TopicId: %v", route.Name, err)
		}
		if route.Name == "group-topic-created" {
			continue // its TopicId is required
		}
		body["TopicId"] = json.RawMessage(`""`)
		events, err := Map(withBody(t, cb, body), route)
		if err != nil {
			t.Errorf("%s: TopicId \"\": %v", route.Name, err)
			continue
		}
		for _, e := range events {
			if v := string(e.AppendJSON(nil)); !strings.Contains(v, `"TopicId":""`) || strings.Contains(v, `"topicId"`) {
				t.Errorf("%s: TopicId \"\": %s", route.Name, v)
			}
		}
		n++
	}
	if n < 15 {
		t.Errorf("only %d group routes", n)
	}
	route, _ := routes.Lookup(CommandModerationResult)
	for _, body := range []string{
		`{"Scene":"GroupInfo","From_Account":"u","ContactItem":{"ToGroupId":"g\udc00"}}`,
		`{"Scene":"GroupMemberInfo","From_Account":"u","ContactItem":{"ToGroupId":"g","To_Account":"m\udc00"}}`,
	} {
		_, err := Map(Callback{Query: Query{CallbackCommand: CommandModerationResult}, AppID: 1, Body: []byte(body)}, route)
		if err == nil || !strings.Contains(err.Error(), errLone) {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// The schemas tell the truth about every form TestEveryFormArrives sends: a body Map
// accepts is one the OpenAPI request body (and so its command's callback schema)
// takes, and each of its events validates against its route's event schema.
func TestEveryFormValidates(t *testing.T) {
	requestBody := schematest.CompileRequestBody(t, "/callback", "post")
	checked := 0
	for _, route := range DefaultRoutes {
		eventSchema := schematest.Compile(t, schema.EventSchema(route.Type))
		for sf := range sentFormsOf(t, route) {
			path, value, changed := sf.path, sf.value, sf.cb
			events, err := Map(changed, route)
			if err != nil {
				continue
			}
			checked++
			if err := schematest.Validate(requestBody, changed.Body); err != nil {
				t.Errorf("%s: %s sent as %s is accepted, but the request body schema refuses it: %v", route.Name, pathName(path), value, err)
			}
			for _, e := range events {
				if err := schematest.Validate(eventSchema, e.AppendJSON(nil)); err != nil {
					t.Errorf("%s: %s sent as %s: the event does not validate: %v", route.Name, pathName(path), value, err)
					break
				}
			}
		}
	}
	if checked < 750 {
		t.Errorf("only %d forms checked", checked)
	}
}
