package events_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/events"
)

// sampleRecords maps a golden callback with the app of Chat's samples (1400187352, the
// SdkAppId the moderation sample's body names) and returns its records, decoded.
func sampleRecords(t *testing.T, name string, requestTime string) []any {
	t.Helper()
	route := routeNamed(t, strings.TrimSuffix(name, "-group"))
	cb := bridge.Callback{Query: bridge.Query{CallbackCommand: route.Command, RequestTime: requestTime}, AppID: 1400187352,
		Body: []byte(goldenBody(t, name)), ReceivedAt: time.Date(2022, 12, 1, 5, 21, 52, 345_000_000, time.UTC)}
	evs, err := bridge.Map(cb, route)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	for _, r := range bridge.Records(evs) {
		var hs []events.Header
		for _, h := range r.Headers {
			hs = append(hs, events.Header{Key: h.Key, Value: h.Value})
		}
		ev, err := events.Decode(r.Key, r.Value, hs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := events.Decode([]byte("another key"), r.Value, hs); err == nil {
			t.Fatalf("a record of %s with another key decoded", name)
		}
		out = append(out, ev)
	}
	return out
}

// The documented samples of the push and moderation routes decode into their types,
// with the keys the types state (Decode checks the record's key against the type's).
func TestDecodePushAndModeration(t *testing.T) {
	const task = "657bf434_537529d8_2000005e80aa873_2780d131_"
	tests := []struct {
		route string
		want  []any
	}{
		{"push-all-member", []any{
			&events.PushAllMember{Envelope: events.Envelope{EventTime: 1557481128000},
				PushResult: events.PushResult{ToAccount: "user2", EventType: i64(1), PushPlatform: i64(1), PushStage: i64(1), ErrCode: i64(0), ErrInfo: "OK"},
				TaskID:     task + "bc614e", TaskTime: i64(1557481127)},
			&events.PushAllMember{Envelope: events.Envelope{EventTime: 1557481129000},
				PushResult: events.PushResult{ToAccount: "user3", EventType: i64(2), PushPlatform: i64(0), PushStage: i64(1), ErrCode: i64(0), ErrInfo: "OK"},
				TaskID:     task + "9", TaskTime: i64(1557481127)}}},
		{"push-offline", []any{&events.PushOffline{Envelope: events.Envelope{EventTime: 1557481127000},
			PushResult:  events.PushResult{ToAccount: "user2", EventType: i64(1), PushPlatform: i64(1), PushStage: i64(1), ErrCode: i64(0), ErrInfo: "OK"},
			FromAccount: "user1", MsgKey: "48374_2837546_1557481126", MsgSeq: u64(48374), MsgRandom: u32(2837546), MsgTime: i64(1557481126),
			PushID: "67120c46_6a4086c0_9bf5fb50_200002d1089b322_2000005d8d46421"}}},
		{"push-offline-group", []any{&events.PushOffline{Envelope: events.Envelope{EventTime: 1557481127000},
			PushResult:  events.PushResult{ToAccount: "user3", EventType: i64(2), PushPlatform: i64(1), PushStage: i64(1)},
			FromAccount: "user2", GroupID: "@TGS#12DEVUDHQ", MsgSeq: u64(48375)}}},
		{"moderation-result", []any{&events.ModerationResult{Scene: "C2C", FromAccount: "jared", ContactType: i64(1), ToAccount: "Jonh",
			ContentType: "Text", TextContent: json.RawMessage(`["aaabbbccc","1234567"]`), MsgID: "1434460578_4137340972_1661154487",
			CtxcbResult: i64(1), CtxcbRequestID: "241ed925-4c56-4357-95dd-1e6e7798f214", CtxcbKeywords: json.RawMessage(`["aaabbbccc","1234567"]`),
			CtxcbSuggestion: "Review", CtxcbLabel: "Sexy", CtxcbSubLabel: "InsinuationPorn", CtxcbSubLabelDesc: "影射XX", CtxcbLibName: "test",
			CloudCustomData: json.RawMessage(`"aaabbbccc"`), ContactItem: json.RawMessage(`{"ContactType":1,"To_Account":"Jonh"}`)}}},
	}
	ignore := cmpopts.IgnoreFields(events.Envelope{}, "EventID", "SDKAppID", "CallbackCommand", "ReceivedAt", "RequestTime", "Version")
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			if d := cmp.Diff(tt.want, sampleRecords(t, tt.route, "1669872112"), ignore); d != "" {
				t.Fatalf("decoded (-want +got):\n%s", d)
			}
		})
	}
}

// A consumer drops Chat's retry of a push batch with a Deduper: the batch sent again,
// at another RequestTime, has the same event IDs.
func TestPushRetryDeduplicated(t *testing.T) {
	d := events.NewDeduper(100)
	for _, ev := range sampleRecords(t, "push-all-member", "1669872112") {
		if d.Seen(ev.(*events.PushAllMember).EventID) {
			t.Fatal("a first delivery seen")
		}
	}
	for _, ev := range sampleRecords(t, "push-all-member", "1669872175") {
		if !d.Seen(ev.(*events.PushAllMember).EventID) {
			t.Fatalf("the retried %s is new to the consumer", ev.(*events.PushAllMember).ToAccount)
		}
	}
}

// The moderation key follows the scene, as bridge keys it.
func TestModerationKeyAgrees(t *testing.T) {
	route := routeNamed(t, "moderation-result")
	for _, body := range []string{
		`{"Scene":"C2CCustom","From_Account":"b","ContactItem":{"To_Account":"a"}}`,
		`{"Scene":"GroupCustom","From_Account":"b","ContactItem":{"ToGroupId":"@TGS#g"}}`,
		`{"Scene":"GroupMemberInfo","From_Account":"b","ContactItem":{"ToGroupId":"@TGS#g"}}`,
		`{"Scene":"GroupInfo","From_Account":"b"}`,
		`{"Scene":"RelationChain","From_Account":"b","ContactItem":{"To_Account":"a"}}`,
	} {
		key, value, headers := asRecord(t, route, route.Command, body)
		if _, err := events.Decode(key, value, headers); err != nil {
			t.Errorf("%s (key %s): %v", body, key, err)
		}
	}
}
