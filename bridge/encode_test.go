package bridge

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendJSON holds Event.AppendJSON to json.Marshal, byte for byte: the Event's
// fields, then "version".
func FuzzAppendJSON(f *testing.F) {
	f.Add("id", "a<b>&\"\\\n\r\t\x00\x1f", "\u2028\u2029é😀", "\xff\xfe", int64(0), int64(1669872112), uint64(1400187352), "", int64(0))
	f.Add("", "", "", "", int64(-1), int64(0), uint64(0), "friend_add", int64(1))
	f.Fuzz(func(t *testing.T, id, from, to, ip string, rt, et int64, app uint64, cmd string, force int64) {
		e := Event{Time: time.UnixMilli(rt ^ et), ID: id, SDKAppID: app, CallbackCommand: CommandBlackListDelete, FromAccount: from, ToAccount: to,
			ReceivedAt: "2022-12-01T05:21:52.345Z", ClientIP: ip, OptPlatform: to, RequestTime: rt, EventTime: et,
			InitiatorAccount: from, ClientCmd: cmd, AdminAccount: ip, ForceFlag: force}
		want, err := json.Marshal(struct {
			*Event
			Version int64 `json:"version"`
		}{&e, e.Version()})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON:\n%s\njson.Marshal:\n%s", got, want)
		}
	})
}
