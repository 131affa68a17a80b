package httpapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// With a quarantine topic, every authenticated callback that cannot be mapped is
// answered OK and kept as one record: the body exactly as received, the reason, its
// kind and the query's fields in headers, counted by kind. What fails authentication,
// and a body over the limit, are still refused, and nothing is kept of them.
func TestQuarantine(t *testing.T) {
	del := bridge.CommandBlackListDelete
	tests := []struct {
		name       string
		target     string
		body       string
		header     string // "Name: value"
		wantStatus int
		wantKind   string // the quarantine kind; "" when nothing is kept
		wantReason string // a part of the reason
		wantKey    string
	}{
		{name: "not JSON", target: "/callback?" + signedQuery(del), body: "PairList=1",
			wantStatus: 200, wantKind: "bad_request", wantReason: "JSON", wantKey: del},
		{name: "a To_Account missing", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"` + del + `","PairList":[{"From_Account":"a"}]}`,
			wantStatus: 200, wantKind: "bad_request", wantReason: "To_Account", wantKey: del},
		{name: "a key twice", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"` + del + `","CallbackCommand":"` + del + `","PairList":[]}`,
			wantStatus: 200, wantKind: "bad_request", wantReason: "twice", wantKey: del},
		{name: "bodies' commands differ", target: "/callback?" + signedQuery(del), body: strings.Replace(seedBody, del, bridge.CommandBlackListAdd, 1),
			wantStatus: 200, wantKind: "bad_request", wantReason: "differs", wantKey: del},
		{name: "more pairs than MaxPairs", target: "/callback?" + signedQuery(del),
			body:       `{"CallbackCommand":"` + del + `","PairList":[` + strings.Repeat(`{"From_Account":"a","To_Account":"b"},`, 10) + `{"From_Account":"a","To_Account":"b"}]}`,
			wantStatus: 200, wantKind: "too_large", wantReason: "10", wantKey: del},
		{name: "gzip", target: "/callback?" + signedQuery(del), body: "\x1f\x8b\x08\x00", header: "Content-Encoding: gzip",
			wantStatus: 200, wantKind: "unsupported", wantReason: "Content-Encoding", wantKey: del},
		{name: "no CallbackCommand in the query", target: "/callback?" + strings.Replace(signedQuery(del), "&CallbackCommand="+del, "", 1), body: seedBody,
			wantStatus: 200, wantKind: "bad_request", wantReason: "CallbackCommand is missing from the query"},
		{name: "invalid UTF-8 and direction overrides in the query", target: "/callback?" + strings.Replace(signedQuery(del), "ClientIP=127.0.0.1&OptPlatform=RESTAPI", "ClientIP=%FF%FE&OptPlatform=%E2%80%AEx%C2%9B", 1),
			body: "PairList=1", wantStatus: 200, wantKind: "bad_request", wantReason: "JSON", wantKey: del},
		{name: "an unrouted command that is not a name", target: "/callback?" + strings.Replace(signedQuery(del), del, "Evil%0D%0AX-Injected:%201", 1),
			body: `{"CallbackCommand":"Evil\r\nX-Injected: 1"}`, wantStatus: 200, wantKind: "bad_request", wantReason: "not a command name"},
		{name: "wrong signature: refused, not kept", target: "/callback?" + strings.Replace(signedQuery(del), "Sign=", "Sign=0", 1), body: "PairList=1",
			wantStatus: 401},
		{name: "not our SdkAppid: refused, not kept", target: "/callback?" + strings.Replace(signedQuery(del), testAppID, "1400000001", 1), body: "x",
			wantStatus: 403},
		{name: "over the body limit: refused, not kept", target: "/callback?" + signedQuery(del), body: strings.Repeat("x", 4097),
			wantStatus: 413},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			obs := &observed{}
			srv := NewCallbackServer(Config{BodyLimit: 4096, MaxPairs: 10, QuarantineTopic: "q"}, Deps{
				Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
				Routes:   bridge.NewRoutes(append(bridge.DefaultRoutes, withTopic(bridge.UnroutedRoute, "u"))...),
				Delivery: rec, Log: zap.NewNop(), Observer: obs,
				Now: func() time.Time { return testNow },
			})
			req := httptest.NewRequest(http.MethodPost, tc.target, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if k, v, ok := strings.Cut(tc.header, ": "); ok {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			if w.Code != tc.wantStatus {
				t.Fatalf("answered %d %s, want %d", w.Code, w.Body.String(), tc.wantStatus)
			}
			if tc.wantKind == "" {
				if len(rec.events) != 0 || len(obs.quarantined) != 0 {
					t.Fatalf("%d events kept, %v counted: nothing of a refused callback may be kept", len(rec.events), obs.quarantined)
				}
				return
			}
			if w.Body.String() != okJSON || len(rec.events) != 1 || len(obs.quarantined) != 1 || obs.quarantined[0] != tc.wantKind {
				t.Fatalf("answer %s, %d events, counted %v; want OK, one record, kind %s", w.Body.String(), len(rec.events), obs.quarantined, tc.wantKind)
			}
			r := bridge.Records(rec.events)[0]
			if r.Topic != "q" || string(r.Value) != tc.body || string(r.Key) != tc.wantKey ||
				string(r.HeaderValue(bridge.HeaderType)) != bridge.TypeQuarantined ||
				string(r.HeaderValue(bridge.HeaderQuarantineKind)) != tc.wantKind ||
				!strings.Contains(string(r.HeaderValue(bridge.HeaderQuarantineReason)), tc.wantReason) ||
				string(r.HeaderValue(bridge.HeaderRequestTime)) != "1669872112" ||
				string(r.HeaderValue(bridge.HeaderReceivedAt)) != "2022-12-01T05:21:52.000Z" ||
				string(r.HeaderValue(bridge.HeaderContentType)) != "application/json" {
				t.Fatalf("record: topic %s key %q value %q headers %s", r.Topic, r.Key, r.Value, headersOf(r))
			}
			for _, h := range r.Headers {
				if !utf8.Valid(h.Value) || strings.ContainsFunc(string(h.Value), func(r rune) bool { return !strconv.IsPrint(r) }) {
					t.Fatalf("header %s carries a character that is not printable: %q", h.Key, h.Value)
				}
			}
		})
	}
}

// The same callback kept twice has one eventId, which no mapped event of it has.
func TestQuarantineEventID(t *testing.T) {
	cb := bridge.Callback{Query: bridge.Query{CallbackCommand: bridge.CommandBlackListDelete, RequestTime: "1669872112"}, AppID: 1400187352,
		Body: []byte(seedBody), ReceivedAt: testNow}
	a := bridge.QuarantineEvent(cb, "q", "", bridge.Errorf(bridge.KindBadRequest, "x"))
	cb.ReceivedAt = testNow.Add(time.Hour)
	b := bridge.QuarantineEvent(cb, "q", "", bridge.Errorf(bridge.KindBadRequest, "y"))
	events, err := bridge.Map(cb, bridge.DefaultRoutes[0])
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.ID == events[0].ID || a.ContentType != "application/octet-stream" {
		t.Fatalf("IDs %s %s, the first mapped %s; content type %q", a.ID, b.ID, events[0].ID, a.ContentType)
	}
}

func withTopic(r bridge.Route, topic string) bridge.Route {
	r.Topic = topic
	return r
}

func headersOf(r bridge.Record) string {
	var b strings.Builder
	for _, h := range r.Headers {
		b.WriteString(h.Key + "=" + string(h.Value) + " ")
	}
	return b.String()
}

// A callback whose records could never fit in the bytes in flight, even alone, is kept
// in quarantine at once (before: it waited a second and was answered 503, and lost).
func TestRecordsThatNeverFitAreQuarantined(t *testing.T) {
	pairs := make([]string, 100)
	for i := range pairs {
		pairs[i] = fmt.Sprintf(`{"From_Account":"user-%03d","To_Account":"target-%03d"}`, i, i)
	}
	body := `{"CallbackCommand":"` + bridge.CommandBlackListDelete + `","PairList":[` + strings.Join(pairs, ",") + `]}`
	rec := &recorder{}
	obs := &observed{}
	srv := NewCallbackServer(Config{BodyLimit: 16 << 10, MaxInFlightBytes: 32 << 10, MaxPairs: 100, QuarantineTopic: "q"}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: rec, Log: zap.NewNop(), Observer: obs,
		Now: func() time.Time { return testNow },
	})
	start := time.Now()
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, post("/callback?"+signedQuery(bridge.CommandBlackListDelete), body))
	if w.Code != 200 || w.Body.String() != okJSON || len(rec.events) != 1 || len(obs.quarantined) != 1 || obs.quarantined[0] != "too_large" {
		t.Fatalf("answered %d %s in %s, %d events, quarantined %v; want OK and the body kept", w.Code, w.Body.String(), time.Since(start), len(rec.events), obs.quarantined)
	}
	if r := bridge.Records(rec.events)[0]; r.Topic != "q" || string(r.Value) != body ||
		!strings.Contains(string(r.HeaderValue(bridge.HeaderQuarantineReason)), "do not fit in IMBRIDGE_MAX_IN_FLIGHT_BYTES") {
		t.Fatalf("record: topic %s reason %s", r.Topic, r.HeaderValue(bridge.HeaderQuarantineReason))
	}
}

// A command without a route, kept whole on the unrouted topic, is counted with outcome
// unrouted, as when that topic is off (the metric tells the two apart from mapped
// callbacks either way).
func TestUnroutedCountedAsUnrouted(t *testing.T) {
	for _, topic := range []string{"u", ""} {
		rec, obs := &recorder{}, &observed{}
		routes := bridge.DefaultRoutes
		if topic != "" {
			routes = append(routes[:len(routes):len(routes)], withTopic(bridge.UnroutedRoute, topic))
		}
		srv := NewCallbackServer(Config{}, Deps{
			Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
			Routes:   bridge.NewRoutes(routes...), Delivery: rec, Log: zap.NewNop(), Observer: obs,
			Now: func() time.Time { return testNow },
		})
		const cmd = "OfficialAccount.CallbackAfterSendMsg"
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, post("/callback?"+strings.Replace(signedQuery(bridge.CommandBlackListDelete), bridge.CommandBlackListDelete, cmd, 1),
			`{"CallbackCommand":"`+cmd+`"}`))
		wantEvents := 0
		if topic != "" {
			wantEvents = 1
		}
		if w.Code != 200 || len(rec.events) != wantEvents || len(obs.outcomes) != 1 || obs.outcomes[0] != "unrouted" {
			t.Fatalf("unrouted topic %q: answered %d, %d events, outcomes %v", topic, w.Code, len(rec.events), obs.outcomes)
		}
	}
}
