package bridge

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// allMemberBatch is a Push.AllMemberPush body of n events for the recipients u0 to
// u(k-1) in turn, with the i-th event's TaskId and EventTime telling them apart.
func allMemberBatch(n, k int, sep string) []byte {
	var entries []string
	for i := range n {
		entries = append(entries, fmt.Sprintf(`{"CallbackCommand":"Push.AllMemberPush","EventType":1,"TaskId":"task-%d",`+
			`"TaskTime":1557481127,"EventTime":%d,"To_Account":"u%d","PushPlatform":1,"PushStage":1,"ErrCode":0,"ErrInfo":"OK"}`,
			i, 1557481128+i, i%k))
	}
	return []byte(`{"Events":[` + strings.Join(entries, ","+sep) + `]}`)
}

// A batch of 100 push events (Chat's largest) becomes 100 events, then 100 records,
// each keyed by its recipient, and one recipient's events keep the batch's order.
func TestPushBatchOfHundred(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandAllMemberPush)
	events, err := Map(Callback{Query: Query{CallbackCommand: CommandAllMemberPush, RequestTime: "1669872112"}, AppID: 1,
		Body: allMemberBatch(100, 7, ""), ReceivedAt: time.Unix(1669872112, 0)}, route)
	if err != nil {
		t.Fatal(err)
	}
	records := Records(events)
	if len(events) != 100 || len(records) != 100 {
		t.Fatalf("%d events, %d records, want 100", len(events), len(records))
	}
	perKey := map[string][]string{}
	for _, r := range records {
		if r.Topic != TopicPush {
			t.Fatalf("topic %s", r.Topic)
		}
		perKey[string(r.Key)] = append(perKey[string(r.Key)], string(r.Value))
	}
	for u := range 7 {
		var want []string
		for i := u; i < 100; i += 7 {
			want = append(want, fmt.Sprintf(`"toAccount":"u%d","taskId":"task-%d"`, u, i))
		}
		got := perKey[fmt.Sprintf("u%d", u)]
		if len(got) != len(want) {
			t.Fatalf("u%d: %d records, want %d", u, len(got), len(want))
		}
		for j := range want {
			if !strings.Contains(got[j], want[j]) || !strings.Contains(got[j], fmt.Sprintf(`"eventTime":%d000`, 1557481128+u+7*j)) {
				t.Fatalf("u%d record %d: %s, want %s", u, j, got[j], want[j])
			}
		}
	}
}

// Chat retries a push batch after a delay: the same batch, sent again at another
// RequestTime, received later, formatted otherwise and with its entries in another
// order, gives every entry the event ID it had; entries that differ in what they report
// (stage, platform, type, time, recipient, task) have IDs of their own.
func TestPushRetriesKeepEventIDs(t *testing.T) {
	ids := func(cmd, requestTime string, body []byte) map[string]string { // entry's taskId and key -> eventId
		t.Helper()
		route, _ := NewRoutes(DefaultRoutes...).Lookup(cmd)
		events, err := Map(Callback{Query: Query{CallbackCommand: cmd, RequestTime: requestTime}, AppID: 1400187352, Body: body,
			ReceivedAt: time.Unix(1669872112, 0)}, route)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, e := range events {
			out[string(e.Subject.Fields)+" "+e.key()] = e.ID
		}
		return out
	}
	first := ids(CommandAllMemberPush, "1669872112", allMemberBatch(100, 7, ""))
	again := ids(CommandAllMemberPush, "1669872175", allMemberBatch(100, 7, "\n  "))
	if len(first) != 100 {
		t.Fatalf("%d distinct events, want 100", len(first))
	}
	if d := cmp.Diff(first, again); d != "" {
		t.Fatalf("the batch sent again has other IDs (-first +again):\n%s", d)
	}
	seen := map[string]bool{}
	for _, id := range first {
		if seen[id] {
			t.Fatalf("ID %s given twice", id)
		}
		seen[id] = true
	}

	// One entry alone, reordered members, then variants of it.
	const entry = `"EventType":1,"TaskId":"t","TaskTime":1557481127,"EventTime":1557481128,"To_Account":"u","PushPlatform":1,"PushStage":1,"ErrCode":0`
	one := func(cmd, e string) string {
		for _, id := range ids(cmd, "1669872112", []byte(`{"Events":[{"CallbackCommand":"`+cmd+`",`+e+`}]}`)) {
			return id
		}
		return ""
	}
	base := one(CommandAllMemberPush, entry)
	if got := one(CommandAllMemberPush, `"ErrCode":0,"To_Account":"u","PushStage":1,"PushPlatform":1,"EventTime":1557481128,"TaskTime":1557481127,"TaskId":"t","EventType":1`); got != base {
		t.Fatalf("reordered members: %s, want %s", got, base)
	}
	for _, change := range [][2]string{{`"TaskId":"t"`, `"TaskId":"t2"`}, {`"To_Account":"u"`, `"To_Account":"v"`},
		{`"PushStage":1`, `"PushStage":2`}, {`"PushPlatform":1`, `"PushPlatform":2`}, {`"EventType":1`, `"EventType":2`},
		{`"EventTime":1557481128`, `"EventTime":1557481129`}, {`"ErrCode":0`, `"ErrCode":70001,"ErrInfo":"token invalid"`},
		{`"TaskTime":1557481127`, `"TaskTime":1557481126`}, {`"ErrCode":0`, `"ErrCode":0,"Device":"b"`}} {
		if got := one(CommandAllMemberPush, strings.Replace(entry, change[0], change[1], 1)); got == base || seen[got] {
			t.Errorf("%s: the ID of another event", change[1])
		}
	}
	// A member of the body no route reads makes another batch: its events' IDs differ
	// (the members are the events' extra).
	withBodyMember := ""
	for _, id := range ids(CommandAllMemberPush, "1669872112", []byte(`{"Events":[{"CallbackCommand":"`+CommandAllMemberPush+`",`+entry+`}],"BatchNote":"b"}`)) {
		withBodyMember = id
	}
	if withBodyMember == base || withBodyMember == "" {
		t.Errorf("a batch with a body member of its own: the ID %q of the batch without", withBodyMember)
	}

	// One batch: a success and a failure of the same push to the same recipient (two
	// devices) are two events, and so are twins, identical entries; the batch retried
	// repeats every ID.
	batch := func(ws string) []byte {
		e := `{"CallbackCommand":"` + CommandAllMemberPush + `",` + entry + `}`
		failed := strings.Replace(e, `"ErrCode":0`, `"ErrCode":70001,"ErrInfo":"token invalid"`, 1)
		return []byte(`{"Events":[` + e + `,` + ws + failed + `,` + ws + e + `]}`)
	}
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandAllMemberPush)
	mapIDs := func(requestTime string, body []byte) []string {
		events, err := Map(Callback{Query: Query{CallbackCommand: CommandAllMemberPush, RequestTime: requestTime}, AppID: 1400187352, Body: body,
			ReceivedAt: time.Unix(1669872112, 0)}, route)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range events {
			out = append(out, e.ID)
		}
		return out
	}
	b1, b2 := mapIDs("1669872112", batch("")), mapIDs("1669872175", batch("\n "))
	if len(b1) != 3 || b1[0] == b1[1] || b1[0] == b1[2] || b1[1] == b1[2] || !slices.Equal(b1, b2) {
		t.Fatalf("a success, a failure and a twin: IDs %v, retried %v; want three distinct IDs, the same again", b1, b2)
	}

	// Push.OfflinePush: from PushID, or from the message without one.
	const off = `"EventType":1,"EventTime":1557481127,"From_Account":"a","To_Account":"b","PushPlatform":1,"PushStage":1,"MsgKey":"k","MsgSeq":1`
	withID := one(CommandOfflinePush, off+`,"PushID":"p"`)
	if withID != ids(CommandOfflinePush, "1669872999", []byte(` {"Events": [{"PushID":"p","CallbackCommand":"Push.OfflinePush",`+off+`}]}`))[`"fromAccount":"a","toAccount":"b","eventType":1,"pushPlatform":1,"pushStage":1,"msgKey":"k","msgSeq":1,"pushId":"p" b`] {
		t.Fatal("Push.OfflinePush sent again has another ID")
	}
	if one(CommandOfflinePush, off+`,"PushID":"p2"`) == withID || one(CommandOfflinePush, off) == withID ||
		one(CommandOfflinePush, off) == one(CommandOfflinePush, strings.Replace(off, `"MsgKey":"k"`, `"MsgKey":"k2"`, 1)) {
		t.Fatal("different pushes share an ID")
	}
	// Both commands' IDs are apart, and apart from a callback's.
	if one(CommandAllMemberPush, entry) == one(CommandOfflinePush, `"TaskId":"t",`+off) {
		t.Fatal("two commands share an ID")
	}
}

// Each entry's EventTime is in seconds: the event carries it in milliseconds, as every
// event's eventTime, and its own (ce_time, version), not the batch's first.
func TestPushEventTimes(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandAllMemberPush)
	events, err := Map(Callback{Query: Query{CallbackCommand: CommandAllMemberPush, RequestTime: "1669872112"}, AppID: 1,
		Body: []byte(`{"Events":[{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"a","EventTime":1557481128},` +
			`{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"b","EventTime":"1557481130"},` +
			`{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"c"},` +
			// One recipient's later and earlier reports in one batch: each its own version.
			`{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"a","EventTime":1557481150},` +
			`{"CallbackCommand":"Push.AllMemberPush","TaskId":"t","To_Account":"a","EventTime":1557481100}]}`), ReceivedAt: time.Unix(1669872113, 0)}, route)
	if err != nil {
		t.Fatal(err)
	}
	v := NewVersioner(time.Minute)
	v.Assign(events, true, time.Unix(1669872113, 0))
	type times struct {
		EventTime, Version int64
		Time               time.Time
	}
	var got []times
	for _, e := range events {
		got = append(got, times{e.EventTime, e.Version(), e.Time})
	}
	want := []times{
		{1557481128000, 1557481128000, time.UnixMilli(1557481128000).UTC()},
		{1557481130000, 1557481130000, time.UnixMilli(1557481130000).UTC()},
		{0, 1669872113000, time.Unix(1669872113, 0).UTC()}, // none: the request's time, and the clock
		{1557481150000, 1557481150000, time.UnixMilli(1557481150000).UTC()},
		{1557481100000, 1557481100000, time.UnixMilli(1557481100000).UTC()}, // Chat's own times order them
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
}

func TestPushRoutesReject(t *testing.T) {
	const (
		all = `{"Events":[{"CallbackCommand":"Push.AllMemberPush",`
		off = `{"Events":[{"CallbackCommand":"Push.OfflinePush",`
	)
	checkRefusals(t, []refusal{
		{CommandAllMemberPush, `{}`, "Events is missing"},
		{CommandAllMemberPush, `{"Events":[]}`, "Events is empty"},
		{CommandAllMemberPush, `{"Events":{}}`, "Events must be an array"},
		{CommandAllMemberPush, `{"Events":["u1"]}`, "Events[0] must be an object"},
		{CommandAllMemberPush, `{"Events":[{"TaskId":"t","To_Account":"u"}]}`, "Events[0].CallbackCommand is missing"},
		{CommandAllMemberPush, `{"Events":[{"CallbackCommand":"Push.OfflinePush","TaskId":"t","To_Account":"u"}]}`,
			`Events[0].CallbackCommand is "Push.OfflinePush", not Push.AllMemberPush`},
		{CommandAllMemberPush, all + `"To_Account":"u"}]}`, "Events[0].TaskId is missing"},
		{CommandAllMemberPush, all + `"TaskId":"t"}]}`, "Events[0].To_Account is missing"},
		{CommandAllMemberPush, all + `"TaskId":"t","To_Account":""}]}`, "Events[0].To_Account is empty"},
		{CommandAllMemberPush, all + `"TaskId":"t","To_Account":"` + strings.Repeat("u", 33) + `"}]}`, "Events[0].To_Account is 33 bytes; at most 32 are allowed"},
		{CommandAllMemberPush, all + `"TaskId":"t","To_Account":"u","EventTime":1557481128000000}]}`, "Events[0].EventTime must be an integer from 0 to 253402300799"},
		{CommandAllMemberPush, all + `"TaskId":"t","To_Account":"u","EventTime":-1}]}`, "Events[0].EventTime must be an integer from 0 to 253402300799"},
		{CommandAllMemberPush, all + `"TaskId":"t","To_Account":"u","PushStage":1.5}]}`, "Events[0].PushStage must be an integer"},
		{CommandAllMemberPush, all + `"TaskId":"t","To_Account":"u","ErrInfo":0}]}`, "Events[0].ErrInfo must be a string"},
		{CommandAllMemberPush, all + `"TaskId":"t","To_Account":"u"},{"CallbackCommand":"Push.AllMemberPush","TaskId":"t"}]}`, "Events[1].To_Account is missing"},
		{CommandAllMemberPush, `{"CallbackCommand":"Push.OfflinePush","Events":[]}`, `CallbackCommand in the body ("Push.OfflinePush") differs from the query's ("Push.AllMemberPush")`},
		{CommandOfflinePush, off + `"From_Account":"a","MsgKey":"k"}]}`, "Events[0].To_Account is missing"},
		{CommandOfflinePush, off + `"From_Account":"a","To_Account":"b"}]}`, "Events[0].PushID is missing, and so are MsgKey and GroupID: the entry names no push"},
		{CommandOfflinePush, off + `"From_Account":"a","To_Account":"b","PushID":""}]}`, "Events[0].PushID is missing, and so are MsgKey and GroupID: the entry names no push"},
		{CommandOfflinePush, off + `"From_Account":1,"To_Account":"b","MsgKey":"k"}]}`, "Events[0].From_Account must be a string"},
		{CommandOfflinePush, off + `"To_Account":"b","GroupID":"g","MsgSeq":-1}]}`, "Events[0].MsgSeq must be a non-negative integer"},
		{CommandOfflinePush, off + `"To_Account":"b","MsgKey":"k","MsgRandom":4294967296}]}`, "Events[0].MsgRandom must be an integer from 0 to 4294967295"},
		{CommandOfflinePush, off + `"To_Account":"b","MsgKey":"k","EventTime":"x"}]}`, "Events[0].EventTime must be an integer from 0 to 253402300799"},
		{CommandOfflinePush, `{"Events":[{"CallbackCommand":"Push.AllMemberPush","To_Account":"b","MsgKey":"k"}]}`,
			`Events[0].CallbackCommand is "Push.AllMemberPush", not Push.OfflinePush`},
	})
}

// A batch longer than IMBRIDGE_MAX_PAIRS is refused before it is read.
func TestPushBatchBound(t *testing.T) {
	route, _ := NewRoutes(DefaultRoutes...).Lookup(CommandAllMemberPush)
	_, err := Map(Callback{Query: Query{CallbackCommand: CommandAllMemberPush}, AppID: 1, Body: allMemberBatch(101, 3, ""), MaxPairs: 100}, route)
	if ErrorKind(err) != KindTooLarge || err.Error() != "Events has 101 entries; at most 100 are accepted" {
		t.Fatalf("%v", err)
	}
}
