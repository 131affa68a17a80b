package bridge

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

func TestEventTime(t *testing.T) {
	for _, tt := range []struct {
		give string
		want int64
		err  bool
	}{
		{``, 0, false}, {`null`, 0, false}, {`1670574414123`, 1670574414123, false}, {`"1670574414123"`, 1670574414123, false},
		{`12.0`, 12, false}, {`1.2e3`, 1200, false}, {`-1`, 0, true}, {`"-1"`, 0, true}, {`1.5`, 0, true}, {`"12.0"`, 0, true}, {`"x"`, 0, true}, {`true`, 0, true}, {`"1e3"`, 0, true},
		{`"+5"`, 0, true}, {`"-0"`, 0, true}, {`""`, 0, true}, {`" 5"`, 0, true},
		{`"00"`, 0, true}, {`"0"`, 0, false}, {`"9223372036854775807"`, 9223372036854775807, false}, {`"9223372036854775808"`, 0, true},
	} {
		body := `{"EventTime":` + tt.give + `}`
		if tt.give == "" {
			body = `{}`
		}
		b, err := ParseBody([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		got := b.Top().EventTime()
		err = b.Err()
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("EventTime(%s) = %d, %v; want %d, error %v", tt.give, got, err, tt.want, tt.err)
		}
	}
}

func TestFields(t *testing.T) {
	got := string(Fields("groupId", "g<1>", "empty", "", "n", 3, "raw", json.RawMessage(` [ {"a": 1} ] `), "none", nil))
	want := `"groupId":"g\u003c1\u003e","n":3,"raw":[ {"a": 1} ]`
	if got != want {
		t.Fatalf("Fields = %s, want %s", got, want)
	}
}

// A command without a route of its own goes to the unrouted route when it is
// configured: one event keyed by the command, the body as Chat sent it.
func TestUnroutedRoute(t *testing.T) {
	r := UnroutedRoute
	r.Topic = "imbridge.unrouted"
	routes := NewRoutes(append([]Route{r}, DefaultRoutes...)...)
	if got, ok := routes.Lookup(CommandBlackListDelete); !ok || got.Name != "blocklist-delete" {
		t.Fatalf("a routed command went to %q", got.Name)
	}
	route, ok := routes.Lookup("Some.NewCommand")
	if !ok || route.Name != "unrouted" {
		t.Fatalf("an unknown command: %+v %v", route, ok)
	}
	if _, ok := NewRoutes(DefaultRoutes...).Lookup("Some.NewCommand"); ok {
		t.Fatal("without the unrouted route, an unknown command has a route")
	}
	body := `{"CallbackCommand":"Some.NewCommand", "EventTime":"1670574414123","X":{"y":[1,2]}}`
	cb := Callback{Query: Query{CallbackCommand: "Some.NewCommand", RequestTime: "1669872112"}, AppID: 7, Body: []byte(body),
		ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC)}
	events, err := Map(cb, route)
	if err != nil || len(events) != 1 {
		t.Fatalf("Map: %v, %d events", err, len(events))
	}
	rec := events[0].AppendRecord(nil)[0]
	wantValue := `{"eventId":"` + events[0].ID + `","sdkAppId":7,"callbackCommand":"Some.NewCommand",` +
		`"body":{"CallbackCommand":"Some.NewCommand","EventTime":"1670574414123","X":{"y":[1,2]}},` +
		`"receivedAt":"2022-12-01T05:21:52.345Z","requestTime":1669872112,"eventTime":1670574414123,"version":1670574414123}`
	if d := cmp.Diff(wantValue, string(rec.Value)); d != "" || rec.Topic != "imbridge.unrouted" || string(rec.Key) != "Some.NewCommand" ||
		string(rec.HeaderValue(HeaderType)) != "imbridge.unrouted.v1" {
		t.Fatalf("record: topic %s key %s type %s, value (-want +got):\n%s", rec.Topic, rec.Key, rec.HeaderValue(HeaderType), d)
	}
	if err := schematest.Validate(schematest.Compile(t, schema.EventSchema(UnroutedRoute.Type)), rec.Value); err != nil {
		t.Fatalf("the unrouted event does not match its schema: %v", err)
	}
	for _, bad := range []struct{ body, want string }{
		{`{"CallbackCommand":"Other"}`, "differs from the query's"},
		{`{"callbackcommand":"Some.NewCommand"}`, "CallbackCommand is missing"},
		{`{"a":1}`, "CallbackCommand is missing"},
		{`{"CallbackCommand":"Some.NewCommand","a":1,"a":2}`, "twice"},
		{`[1]`, "must be a JSON object"},
	} {
		cb.Body = []byte(bad.body)
		if _, err := Map(cb, route); ErrorKind(err) != KindBadRequest || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Map(%s): %v, want a bad request saying %q", bad.body, err, bad.want)
		}
	}
}

// A callback that lists subjects cannot make records many times its size: the members
// every event copies are bounded, and so is the number of events (the pair limit).
func TestWebhookAmplificationBounded(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandGroupMemberJoined)
	members := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"Member_Account":"m` + string(rune('a'+i%26)) + `"}`)
		}
		return b.String()
	}
	cb := Callback{Query: Query{CallbackCommand: CommandGroupMemberJoined}, AppID: 1, MaxPairs: 5}
	cb.Body = []byte(`{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"` + strings.Repeat("G", 400<<10) + `","NewMemberList":[` + members(2) + `]}`)
	if _, err := Map(cb, route); ErrorKind(err) != KindBadRequest || !strings.Contains(err.Error(), "GroupId is 409600 bytes once encoded; at most 128") {
		t.Fatalf("a 400 KiB GroupId: %v", err)
	}
	// Counted encoded: 100 < are 600 bytes in every event (before: 100, under the bound).
	cb.Body = []byte(`{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"` + strings.Repeat("<", 100) + `","NewMemberList":[` + members(2) + `]}`)
	if _, err := Map(cb, route); ErrorKind(err) != KindBadRequest || !strings.Contains(err.Error(), "GroupId is 600 bytes once encoded; at most 128") {
		t.Fatalf("a GroupId of 100 <: %v", err)
	}
	cb.Body = []byte(`{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g","NewMemberList":[` + members(6) + `]}`)
	if _, err := Map(cb, route); ErrorKind(err) != KindTooLarge || !strings.Contains(err.Error(), "NewMemberList has 6 entries; at most 5") {
		t.Fatalf("6 members with a limit of 5: %v", err)
	}
	cb.Body = []byte(`{"CallbackCommand":"Group.CallbackAfterNewMemberJoin","GroupId":"g","NewMemberList":[` + members(5) + `]}`)
	if events, err := Map(cb, route); err != nil || len(events) != 5 {
		t.Fatalf("5 members: %d events, %v", len(events), err)
	}
}

// One budget per callback: for every route, a signed callback at the list bound
// (10,000 entries) with the largest members every event copies, written with
// characters JSON escapes, makes records within the cap (8 MiB, and 64 times its body)
// or is refused whole (quarantined by default); before, 230 KB of body made 11.5 MB of
// records, and 127 KiB made 31 MB.
func TestRecordBudget(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/map/*.input.json")
	refused := 0
	for _, in := range inputs {
		cb := readCallback(t, in)
		route, ok := NewRoutes(DefaultRoutes...).Lookup(cb.Query.CallbackCommand)
		if !ok || route.Command == "" {
			continue
		}
		// Every list in the body grown to 10,000 copies of its first entry, and the
		// shared members at their bound, in escaped characters.
		var body map[string]any
		if err := json.Unmarshal(cb.Body, &body); err != nil {
			t.Fatal(err)
		}
		grown := false
		for k, v := range body {
			if list, ok := v.([]any); ok && len(list) > 0 {
				big := make([]any, 10000)
				for i := range big {
					big[i] = list[0]
				}
				body[k], grown = big, true
			}
		}
		for _, name := range SharedMembers {
			if _, ok := body[name]; ok {
				body[name] = strings.Repeat("x", MaxSharedMemberBytes)
			}
		}
		if !grown {
			continue
		}
		raw, _ := json.Marshal(body)
		cb.Body, cb.MaxPairs = raw, 10000
		events, err := Map(cb, route)
		if err != nil {
			if ErrorKind(err) == KindTooLarge && strings.Contains(err.Error(), "bytes of records") {
				refused++
			}
			continue // refused whole, or for another reason (entries that repeat a key)
		}
		total := 0
		for _, r := range Records(events) {
			total += r.Size()
		}
		if limit := min(DefaultMaxRecordBytes, len(raw)*RecordBytesPerBodyByte); total > limit {
			t.Errorf("%s: %d bytes of body made %d bytes of records, over the cap %d", filepath.Base(in), len(raw), total, limit)
		}
	}
	if refused == 0 {
		t.Fatal("no callback reached the cap: the test shows nothing")
	}
	t.Logf("%d routes' callbacks at the list bound refused whole by the cap", refused)
}
