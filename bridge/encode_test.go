package bridge

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendJSON holds Event.AppendJSON to json.Marshal, byte for byte: the envelope,
// a relationship's subject (its Fields after callbackCommand, its Trailer after
// eventTime), then "version".
func FuzzAppendJSON(f *testing.F) {
	f.Add("id", "a<b>&\"\\\n\r\t\x00\x1f", "\u2028\u2029é😀", "\xff\xfe", int64(0), int64(1669872112), uint64(1400187352), "", int64(0))
	f.Add("", "", "", "", int64(-1), int64(0), uint64(0), "friend_add", int64(1))
	f.Fuzz(func(t *testing.T, id, from, to, ip string, rt, et int64, app uint64, cmd string, force int64) {
		var forceFlag any
		if force != 0 {
			forceFlag = force
		}
		e := Event{Time: time.UnixMilli(rt ^ et), ID: id, SDKAppID: app, CallbackCommand: CommandBlackListDelete,
			ReceivedAt: "2022-12-01T05:21:52.345Z", ClientIP: ip, OptPlatform: to, RequestTime: rt, EventTime: et,
			Subject: pairSubject(from, to, Fields("initiatorAccount", from, "clientCmd", cmd, "adminAccount", ip, "forceFlag", forceFlag))}
		want, err := json.Marshal(struct {
			ID               string `json:"eventId"`
			SDKAppID         uint64 `json:"sdkAppId"`
			CallbackCommand  string `json:"callbackCommand"`
			FromAccount      string `json:"fromAccount"`
			ToAccount        string `json:"toAccount"`
			ReceivedAt       string `json:"receivedAt"`
			ClientIP         string `json:"clientIp,omitempty"`
			OptPlatform      string `json:"optPlatform,omitempty"`
			RequestTime      int64  `json:"requestTime,omitempty"`
			EventTime        int64  `json:"eventTime,omitempty"`
			InitiatorAccount string `json:"initiatorAccount,omitempty"`
			ClientCmd        string `json:"clientCmd,omitempty"`
			AdminAccount     string `json:"adminAccount,omitempty"`
			ForceFlag        int64  `json:"forceFlag,omitempty"`
			Version          int64  `json:"version"`
		}{e.ID, e.SDKAppID, e.CallbackCommand, from, to, e.ReceivedAt, e.ClientIP, e.OptPlatform, e.RequestTime, e.EventTime,
			from, cmd, ip, force, e.Version()})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON:\n%s\njson.Marshal:\n%s", got, want)
		}
	})
}
