package events_test

import (
	"fmt"

	"github.com/imbridge/imbridge/bridge/events"
)

// A consumer of imbridge.push keeps each user's delivery reports: one record per entry
// of Chat's batch, keyed by the recipient. Chat retries a batch when the app is over
// its callback rate; the entries sent again carry the same eventIds, which a Deduper
// drops.
func ExampleDecode_push() {
	const batch = `{"Events":[` +
		`{"CallbackCommand":"Push.AllMemberPush","EventType":1,"TaskId":"task-1","TaskTime":1557481127,"EventTime":1557481128,"To_Account":"user2","PushPlatform":1,"PushStage":1,"ErrCode":0,"ErrInfo":"OK"},` +
		`{"CallbackCommand":"Push.AllMemberPush","EventType":2,"TaskId":"task-1","TaskTime":1557481127,"EventTime":1557481129,"To_Account":"user3","PushPlatform":0,"PushStage":1,"ErrCode":0,"ErrInfo":"OK"}]}`
	seen := events.NewDeduper(10_000)
	// The batch, then Chat's retry of it (published the same way: the eventIds do not
	// depend on the request).
	for _, r := range append(published("Push.AllMemberPush", batch), published("Push.AllMemberPush", batch)...) {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		if e, ok := ev.(*events.PushAllMember); ok && !seen.Seen(e.EventID) {
			fmt.Println(e.ToAccount, e.TaskID, "type", *e.EventType, "stage", *e.PushStage, "err", *e.ErrCode, "at", e.EventTime)
		}
	}
	// Output:
	// user2 task-1 type 1 stage 1 err 0 at 1557481128000
	// user3 task-1 type 2 stage 1 err 0 at 1557481129000
}

// A consumer of imbridge.moderation acts on the verdicts that block content; each is
// keyed by what its scene names (here the conversation of a one-to-one message).
func ExampleDecode_moderation() {
	records := published("ContentCallback.ResultNotify", `{"Scene":"C2C","From_Account":"jared","ContactItem":{"ContactType":1,"To_Account":"Jonh"},`+
		`"ContentType":"Text","TextContent":["aaabbbccc"],"MsgID":"1434460578_4137340972_1661154487","CtxcbResult":1,"CtxcbLabel":"Sexy"}`)
	for _, r := range records {
		ev, err := events.Decode(r[0].([]byte), r[1].([]byte), r[2].([]events.Header))
		if err != nil {
			panic(err)
		}
		if e, ok := ev.(*events.ModerationResult); ok && e.CtxcbResult != nil && *e.CtxcbResult == 1 {
			fmt.Println(string(r[0].([]byte)), e.Scene, e.FromAccount, "->", e.ToAccount, e.CtxcbLabel, string(e.TextContent))
		}
	}
	// Output:
	// ["Jonh","jared"] C2C jared -> Jonh Sexy ["aaabbbccc"]
}
