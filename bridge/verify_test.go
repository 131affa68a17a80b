package bridge

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSignTestVector(t *testing.T) {
	// From Tencent's callback authentication page (PROTOCOL.md).
	got := Sign("xxxxyyyy", "1669872112")
	want := "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	const (
		appID = "1400187352"
		rt    = "1669872112"
		good  = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
	)
	at := time.Unix(1669872112, 0)
	signed := &Verifier{AppID: 1400187352, Tokens: []Secret{"xxxxyyyy"}, MaxSkew: time.Minute}
	rotating := &Verifier{AppID: 1400187352, Tokens: []Secret{"old-token", "xxxxyyyy"}, MaxSkew: time.Minute}
	unsigned := &Verifier{AppID: 1400187352}

	tests := []struct {
		name     string
		v        *Verifier
		appID    string
		sign, rt string
		now      time.Time
		wantKind Kind // KindInternal means: no error
		wantMsg  string
	}{
		{name: "test vector", v: signed, appID: appID, sign: good, rt: rt, now: at},
		{name: "rotation: second token", v: rotating, appID: appID, sign: good, rt: rt, now: at},
		{name: "rotation: first token", v: rotating, appID: appID, sign: Sign("old-token", rt), rt: rt, now: at},
		{name: "rotation: unknown token", v: rotating, appID: appID, sign: Sign("other", rt), rt: rt, now: at,
			wantKind: KindUnauthorized, wantMsg: "Sign does not match: check the callback token"},
		{name: "wrong sign", v: signed, appID: appID, sign: Sign("wrong", rt), rt: rt, now: at,
			wantKind: KindUnauthorized, wantMsg: "Sign does not match: check the callback token"},
		{name: "upper-case hex", v: signed, appID: appID, sign: strings.ToUpper(good), rt: rt, now: at,
			wantKind: KindUnauthorized, wantMsg: "Sign must be 64 lowercase hexadecimal digits"},
		{name: "short sign", v: signed, appID: appID, sign: good[:63], rt: rt, now: at,
			wantKind: KindUnauthorized, wantMsg: "Sign must be 64 lowercase hexadecimal digits"},
		{name: "stale at the bound", v: signed, appID: appID, sign: good, rt: rt, now: at.Add(time.Minute)},
		{name: "stale past the bound", v: signed, appID: appID, sign: good, rt: rt, now: at.Add(time.Minute + time.Second),
			wantKind: KindUnauthorized, wantMsg: "RequestTime is 1m1s ago; at most 1m0s is accepted"},
		{name: "future at the bound", v: signed, appID: appID, sign: good, rt: rt, now: at.Add(-time.Minute)},
		{name: "future past the bound", v: signed, appID: appID, sign: good, rt: rt, now: at.Add(-time.Minute - time.Second),
			wantKind: KindUnauthorized, wantMsg: "RequestTime is 1m1s from now; at most 1m0s is accepted (check the clocks)"},
		{name: "sign missing", v: signed, appID: appID, rt: rt, now: at,
			wantKind: KindUnauthorized, wantMsg: "Sign and RequestTime are required: callback authentication is on"},
		{name: "request time missing", v: signed, appID: appID, sign: good, now: at,
			wantKind: KindUnauthorized, wantMsg: "Sign and RequestTime are required: callback authentication is on"},
		{name: "request time with sign", v: signed, appID: appID, sign: good, rt: "+1669872112", now: at,
			wantKind: KindUnauthorized, wantMsg: "RequestTime must be Unix seconds in decimal digits without sign or leading zeros"},
		{name: "request time with leading zero", v: signed, appID: appID, sign: Sign("xxxxyyyy", "01669872112"), rt: "01669872112", now: at,
			wantKind: KindUnauthorized, wantMsg: "RequestTime must be Unix seconds in decimal digits without sign or leading zeros"},
		{name: "request time fractional", v: signed, appID: appID, sign: good, rt: "1669872112.0", now: at,
			wantKind: KindUnauthorized, wantMsg: "RequestTime must be Unix seconds in decimal digits without sign or leading zeros"},
		{name: "request time 20 digits", v: signed, appID: appID, sign: good, rt: "16698721120000000000", now: at,
			wantKind: KindUnauthorized, wantMsg: "RequestTime must be Unix seconds in decimal digits without sign or leading zeros"},
		{name: "app id missing", v: signed, sign: good, rt: rt, now: at,
			wantKind: KindForbidden, wantMsg: "SdkAppid is missing"},
		{name: "other app", v: signed, appID: "1400000000", sign: good, rt: rt, now: at,
			wantKind: KindForbidden, wantMsg: `SdkAppid "1400000000" is not this app's`},
		{name: "app id not a number", v: signed, appID: "14001873520000000000000000000000", sign: good, rt: rt, now: at,
			wantKind: KindForbidden, wantMsg: `SdkAppid "140018735200000000000000..." is not this app's`},
		{name: "unsigned accepted without tokens", v: unsigned, appID: appID, now: at},
		{name: "unsigned checks the app", v: unsigned, appID: "1", now: at,
			wantKind: KindForbidden, wantMsg: `SdkAppid "1" is not this app's`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := tt.v.Verify(tt.appID, tt.sign, tt.rt, tt.now)
			if tt.wantMsg == "" {
				if err != nil || id != 1400187352 {
					t.Fatalf("Verify = %d, %v; want 1400187352, nil", id, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify accepted; want %s %q", tt.wantKind, tt.wantMsg)
			}
			if k := ErrorKind(err); k != tt.wantKind || err.Error() != tt.wantMsg {
				t.Fatalf("Verify error = %s %q; want %s %q", k, err.Error(), tt.wantKind, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "xxxxyyyy") || strings.Contains(err.Error(), "old-token") {
				t.Fatalf("error reveals a token: %q", err)
			}
		})
	}
}

func TestVerifyDefaultSkew(t *testing.T) {
	v := &Verifier{AppID: 1, Tokens: []Secret{"t"}}
	at := time.Unix(1669872112, 0)
	if _, err := v.Verify("1", Sign("t", "1669872112"), "1669872112", at.Add(DefaultMaxSkew)); err != nil {
		t.Fatalf("at the default skew: %v", err)
	}
	if _, err := v.Verify("1", Sign("t", "1669872112"), "1669872112", at.Add(DefaultMaxSkew+time.Second)); ErrorKind(err) != KindUnauthorized {
		t.Fatalf("past the default skew: err = %v, want unauthorized", err)
	}
}

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery(map[string][]string{
		"SdkAppid": {"1400187352"}, "CallbackCommand": {"Sns.CallbackBlackListDelete"}, "contenttype": {"json"},
		"ClientIP": {"127.0.0.1"}, "OptPlatform": {"NewPlatform"}, "Sign": {"s"}, "RequestTime": {"1"}, "Other": {"x", "y"},
	})
	want := Query{SDKAppID: "1400187352", CallbackCommand: "Sns.CallbackBlackListDelete", ContentType: "json",
		ClientIP: "127.0.0.1", OptPlatform: "NewPlatform", Sign: "s", RequestTime: "1"}
	if err != nil || q != want {
		t.Fatalf("ParseQuery = %+v, %v; want %+v", q, err, want)
	}
	_, err = ParseQuery(map[string][]string{"SdkAppid": {"1", "2"}})
	if ErrorKind(err) != KindBadRequest || err.Error() != "query parameter SdkAppid appears 2 times; it must appear once" {
		t.Fatalf("duplicate SdkAppid: %v", err)
	}
}

func TestSecretRedacts(t *testing.T) {
	s := Secret("hunter2")
	for _, got := range []string{s.String(), s.GoString()} {
		if got != "<secret>" {
			t.Fatalf("got %q", got)
		}
	}
	j, _ := s.MarshalJSON()
	if string(j) != `"<secret>"` || s.Reveal() != "hunter2" {
		t.Fatalf("MarshalJSON = %s, Reveal = %s", j, s.Reveal())
	}
}

// checkRawQuery fails t unless ParseRawQuery(raw) gives what url.ParseQuery and
// ParseQuery give: the same Query, or an error with the same kind and message.
func checkRawQuery(t *testing.T, raw string) {
	t.Helper()
	got, gotErr := ParseRawQuery(raw)
	var want Query
	values, wantErr := url.ParseQuery(raw)
	if wantErr != nil {
		wantErr = Errorf(KindBadRequest, "query string is malformed: %.120s", wantErr)
	} else {
		want, wantErr = ParseQuery(values)
	}
	if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || ErrorKind(gotErr) != ErrorKind(wantErr) {
		t.Fatalf("ParseRawQuery(%q) = %+v, %v; url.ParseQuery and ParseQuery give %+v, %v", raw, got, gotErr, want, wantErr)
	}
}

// TestParseRawQuery holds the parser without url.Values to url.ParseQuery and
// ParseQuery, on each way it can differ: a parameter twice, escapes, '+', semicolons,
// empty segments and keys, a key without '=', many parameters.
func TestParseRawQuery(t *testing.T) {
	signed := "SdkAppid=1400187352&CallbackCommand=Sns.CallbackBlackListDelete&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&RequestTime=1669872112&Sign=17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
	for _, raw := range []string{
		"",
		signed,
		signed + "&Sign=x",
		signed + "&CallbackCommand=",
		"Sign&Sign",
		"Sign=a&Sign",
		"SdkAppid=1&SdkAppid=2&SdkAppid=3&Sign=1&Sign=2",
		"&&SdkAppid=1&&=2&=&x=y&",
		"SdkAppid==1&Sign=a=b",
		"ClientIP=%3A%3A1&OptPlatform=Web+SDK",
		"ClientIP=::1&OptPlatform=Web SDK",
		"Sign=%zz",
		"Sign=%zz&SdkAppid=%",
		"Sign=a;b",
		"a;b=1&Sign=%zz&c;=2",
		"sdkappid=1&SDKAPPID=2&SdkAppid=3",
		"CallbackCommand=C2C.CallbackAfterSendMsg\u0000&Sign=\x00",
		strings.Repeat("x=1&", 63) + "Sign=a",
		strings.Repeat("x=1&", 64) + "Sign=a",
		strings.Repeat("&", 10001) + "Sign=a",
	} {
		checkRawQuery(t, raw)
	}
	// Values read without unescaping are the raw query's own bytes.
	q, err := ParseRawQuery(signed)
	want := Query{SDKAppID: "1400187352", CallbackCommand: "Sns.CallbackBlackListDelete", ContentType: "json", ClientIP: "127.0.0.1",
		OptPlatform: "RESTAPI", RequestTime: "1669872112", Sign: "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"}
	if q != want || err != nil {
		t.Fatalf("ParseRawQuery = %+v, %v; want %+v", q, err, want)
	}
}
