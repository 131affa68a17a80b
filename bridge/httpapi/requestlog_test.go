package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/imbridge/imbridge/bridge"
)

// Each request makes one log line with what an operator needs to find a wrong
// callback URL, a wrong token or a slow Kafka: method, path without the query (it holds
// the signature), client address, status, command, outcome and latency in ms.
// X-Forwarded-For counts only from trusted proxies.
func TestRequestLog(t *testing.T) {
	del := bridge.CommandBlackListDelete
	trusted := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")} // httptest's peer is 192.0.2.1
	tests := []struct {
		name    string
		trusted []netip.Prefix
		req     func() *http.Request
		level   zapcore.Level
		want    map[string]any
	}{
		{"signed callback", nil, func() *http.Request { return post("/callback?"+signedQuery(del), seedBody) }, zap.InfoLevel,
			map[string]any{"method": "POST", "path": "/callback", "client": "192.0.2.1", "status": int64(200), "command": del, "outcome": "ok", "events": int64(3)}},
		{"X-Forwarded-For without trusted proxies", nil, func() *http.Request {
			r := post("/callback?"+signedQuery("OfficialAccount.CallbackAfterSendMsg"), `{"CallbackCommand":"OfficialAccount.CallbackAfterSendMsg"}`)
			r.Header.Set("X-Forwarded-For", "203.0.113.9")
			return r
		}, zap.InfoLevel,
			map[string]any{"method": "POST", "path": "/callback", "client": "192.0.2.1", "status": int64(200), "command": "OfficialAccount.CallbackAfterSendMsg", "outcome": "unrouted"}},
		{"X-Forwarded-For from a trusted proxy", trusted, func() *http.Request {
			r := post("/callback?"+signedQuery(del), seedBody)
			r.Header.Set("X-Forwarded-For", "10.1.1.1, 198.51.100.7, 192.0.2.50")
			return r
		}, zap.InfoLevel,
			map[string]any{"method": "POST", "path": "/callback", "client": "198.51.100.7", "status": int64(200), "command": del, "outcome": "ok", "events": int64(3)}},
		{"wrong path", nil, func() *http.Request { return post("/callbacks?"+signedQuery(del), seedBody) }, zap.InfoLevel,
			map[string]any{"method": "POST", "path": "/callbacks", "client": "192.0.2.1", "status": int64(404), "outcome": "not_found",
				"err": `nothing is served at "/callbacks": the callback URL in Chat's console must point at /callback`}},
		{"wrong method", nil, func() *http.Request { return httptest.NewRequest(http.MethodGet, "/callback?"+signedQuery(del), nil) }, zap.InfoLevel,
			map[string]any{"method": "GET", "path": "/callback", "client": "192.0.2.1", "status": int64(405), "outcome": "method_not_allowed",
				"err": `method "GET" is not allowed: Chat posts callbacks with POST`}},
		{"wrong token", nil, func() *http.Request {
			return post("/callback?"+strings.Replace(signedQuery(del), bridge.Sign(testToken, "1669872112"), bridge.Sign("wrong", "1669872112"), 1), seedBody)
		}, zap.InfoLevel,
			map[string]any{"method": "POST", "path": "/callback", "client": "192.0.2.1", "status": int64(401), "command": del, "outcome": "unauthorized",
				"err": "Sign does not match: check the callback token"}},
		{"a parameter twice", nil, func() *http.Request { return post("/callback?"+signedQuery(del)+"&RequestTime=1", seedBody) }, zap.InfoLevel,
			map[string]any{"method": "POST", "path": "/callback", "client": "192.0.2.1", "status": int64(400), "command": del, "outcome": "bad_request",
				"err": "query parameter RequestTime appears 2 times; it must appear once"}},
		{"not our SdkAppid", nil, func() *http.Request {
			return post("/callback?"+strings.Replace(signedQuery(del), testAppID, "1400000001", 1), seedBody)
		}, zap.InfoLevel,
			map[string]any{"method": "POST", "path": "/callback", "client": "192.0.2.1", "status": int64(403), "command": del, "outcome": "forbidden",
				"err": `SdkAppid "1400000001" is not this app's`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core, logs := observer.New(zap.DebugLevel)
			h := NewCallbackServer(Config{BodyLimit: 4096, MaxPairs: 10, TrustedProxies: tt.trusted}, Deps{
				Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
				Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: &recorder{}, Log: zap.New(core),
				Now: func() time.Time { return testNow },
			})
			h.ServeHTTP(httptest.NewRecorder(), tt.req())
			entries := logs.FilterMessage("request").All()
			if len(entries) != 1 {
				t.Fatalf("%d request lines, want 1: %v", len(entries), logs.All())
			}
			e := entries[0]
			if e.Level != tt.level {
				t.Errorf("level %s, want %s", e.Level, tt.level)
			}
			got := e.ContextMap()
			if ms, ok := got["latency_ms"].(float64); !ok || ms < 0 {
				t.Errorf("latency_ms %v, want milliseconds", got["latency_ms"])
			}
			delete(got, "latency_ms")
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
			for k, v := range got {
				if s, ok := v.(string); ok && (strings.Contains(s, "Sign") && k != "err" || strings.Contains(s, "RequestTime=")) {
					t.Errorf("field %s carries the query: %q", k, s)
				}
			}
		})
	}
}

// Scrapes and probes of the admin listener log at debug only; its 404 says what it serves.
func TestAdminRequestLog(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	h := NewAdminServer(&recorder{}, AdminConfig{}, zap.New(core))
	for _, path := range []string{"/healthz", "/nothing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	var got []string
	for _, e := range logs.FilterMessage("request").All() {
		m := e.ContextMap()
		got = append(got, e.Level.String()+" "+m["path"].(string)+" "+m["outcome"].(string)+" "+m["client"].(string))
	}
	want := []string{"debug /healthz other 192.0.2.1", "info /nothing not_found 192.0.2.1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("admin request lines (-want +got):\n%s", d)
	}
}

// countingObserver records the command label and outcome of every callback.
type countingObserver struct{ got []string }

func (o *countingObserver) Callback(command, outcome string, _ time.Duration) {
	o.got = append(o.got, command+" "+outcome)
}
func (o *countingObserver) SignatureFailure(string)       {}
func (o *countingObserver) RequestTimeSkew(time.Duration) {}
func (o *countingObserver) Quarantined(string)            {}

// A before-callback sent to imbridge is answered OK, which Chat reads as "allow": it is
// counted under the command label "before" (not lost among "other") and a WARN says
// so, once per minute with the count, so that an operator finds it in the log.
func TestBeforeCallbackIsWarnedAbout(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	obs := &countingObserver{}
	h := NewCallbackServer(Config{BodyLimit: 4096, MaxPairs: 10}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: &recorder{}, Log: zap.New(core), Observer: obs,
		Now: func() time.Time { return testNow },
	})
	for _, cmd := range []string{"C2C.CallbackBeforeSendMsg", "Group.CallbackBeforeSendMsg", "C2C.CallbackBeforeSendMsg", "Sns.CallbackPrevFriendAdd"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, post("/callback?"+signedQuery(cmd), `{"CallbackCommand":"`+cmd+`"}`))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d, want 200", cmd, rec.Code)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, post("/callback?"+signedQuery("Some.Other"), `{"CallbackCommand":"Some.Other"}`))
	want := []string{"before unrouted", "before unrouted", "before unrouted", "before unrouted", "other unrouted"}
	if d := cmp.Diff(want, obs.got); d != "" {
		t.Errorf("metrics (-want +got):\n%s", d)
	}
	// One WARN per command in the minute, each naming its command: the second
	// C2C.CallbackBeforeSendMsg is only counted.
	warns := logs.FilterLevelExact(zap.WarnLevel).All()
	var named []string
	for _, w := range warns {
		if got := w.ContextMap(); got["count"] != int64(1) || !strings.Contains(w.Message, "reads as allow") {
			t.Errorf("WARN line %q %v", w.Message, got)
		}
		named = append(named, w.ContextMap()["command"].(string))
	}
	if d := cmp.Diff([]string{"C2C.CallbackBeforeSendMsg", "Group.CallbackBeforeSendMsg", "Sns.CallbackPrevFriendAdd"}, named); d != "" {
		t.Errorf("WARN lines' commands (-want +got):\n%s", d)
	}
}
