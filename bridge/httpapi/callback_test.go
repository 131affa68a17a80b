package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

const (
	testAppID = "1400187352"
	testToken = "xxxxyyyy"
	seedBody  = `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"id","To_Account":"id1"},{"From_Account":"id","To_Account":"id2"},{"From_Account":"id","To_Account":"id3"}]}`
)

var testNow = time.Unix(1669872112, 0)

// recorder is a bridge.Delivery that records what it accepted, or fails.
type recorder struct {
	mu     sync.Mutex
	events []bridge.Event
	calls  int
	err    error
}

func (r *recorder) Accept(_ context.Context, events []bridge.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.err != nil {
		return r.err
	}
	r.events = append(r.events, events...)
	return nil
}

func (r *recorder) Ready(context.Context) error { return r.err }

func newTestServer(t *testing.T, d bridge.Delivery, tokens ...bridge.Secret) http.Handler {
	t.Helper()
	return NewCallbackServer(Config{BodyLimit: 4096, MaxPairs: 10}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: tokens, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...),
		Delivery: d,
		Log:      zap.NewNop(),
		Now:      func() time.Time { return testNow },
	})
}

func signedQuery(command string) string {
	rt := "1669872112"
	return "SdkAppid=" + testAppID + "&CallbackCommand=" + command + "&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI" +
		"&RequestTime=" + rt + "&Sign=" + bridge.Sign(testToken, rt)
}

func failBody(info string) string {
	b, _ := json.Marshal(Answer{ActionStatus: "FAIL", ErrorCode: 1, ErrorInfo: info})
	return string(b)
}

const okJSON = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`

func TestCallbackContract(t *testing.T) {
	del := bridge.CommandBlackListDelete
	tests := []struct {
		name       string
		method     string
		target     string
		body       string
		header     string // "Name: value"
		tokens     []bridge.Secret
		deliverErr error
		wantStatus int
		wantBody   string
		wantEvents int // events handed to delivery
	}{
		{name: "verified, routed, delivered", target: "/callback?" + signedQuery(del), body: seedBody,
			wantStatus: 200, wantBody: okJSON, wantEvents: 3},
		{name: "unsigned mode: no Sign needed", tokens: []bridge.Secret{}, target: "/callback?SdkAppid=" + testAppID + "&CallbackCommand=" + del, body: seedBody,
			wantStatus: 200, wantBody: okJSON, wantEvents: 3},
		{name: "verified, no route", target: "/callback?" + signedQuery("OfficialAccount.CallbackAfterSendMsg"), body: `{"CallbackCommand":"OfficialAccount.CallbackAfterSendMsg"}`,
			wantStatus: 200, wantBody: okJSON},
		{name: "GET", method: http.MethodGet, target: "/callback?" + signedQuery(del),
			wantStatus: 405, wantBody: failBody(`method "GET" is not allowed: Chat posts callbacks with POST`)},
		{name: "PUT", method: http.MethodPut, target: "/callback?" + signedQuery(del), body: seedBody,
			wantStatus: 405, wantBody: failBody(`method "PUT" is not allowed: Chat posts callbacks with POST`)},
		{name: "OPTIONS", method: http.MethodOptions, target: "/callback?" + signedQuery(del),
			wantStatus: 405, wantBody: failBody(`method "OPTIONS" is not allowed: Chat posts callbacks with POST`)},
		{name: "custom method", method: "PURGE", target: "/callback?" + signedQuery(del),
			wantStatus: 405, wantBody: failBody(`method "PURGE" is not allowed: Chat posts callbacks with POST`)},
		{name: "unknown path", target: "/other?" + signedQuery(del), body: seedBody,
			wantStatus: 404, wantBody: failBody(`nothing is served at "/other": the callback URL in Chat's console must point at /callback`)},
		{name: "SdkAppid missing", target: "/callback?CallbackCommand=" + del, body: seedBody,
			wantStatus: 403, wantBody: failBody("SdkAppid is missing")},
		{name: "SdkAppid not ours", target: "/callback?" + strings.Replace(signedQuery(del), testAppID, "1400000001", 1), body: seedBody,
			wantStatus: 403, wantBody: failBody(`SdkAppid "1400000001" is not this app's`)},
		{name: "Sign missing", target: "/callback?SdkAppid=" + testAppID + "&CallbackCommand=" + del + "&RequestTime=1669872112", body: seedBody,
			wantStatus: 401, wantBody: failBody("Sign and RequestTime are required: callback authentication is on")},
		{name: "Sign wrong", target: "/callback?" + strings.Replace(signedQuery(del), "RequestTime=1669872112", "RequestTime=1669872113", 1), body: seedBody,
			wantStatus: 401, wantBody: failBody("Sign does not match: check the callback token")},
		{name: "Sign malformed", target: "/callback?SdkAppid=" + testAppID + "&CallbackCommand=" + del + "&RequestTime=1669872112&Sign=xyz", body: seedBody,
			wantStatus: 401, wantBody: failBody("Sign must be 64 lowercase hexadecimal digits")},
		{name: "RequestTime outside the skew", target: "/callback?SdkAppid=" + testAppID + "&CallbackCommand=" + del + "&RequestTime=1669871000&Sign=" + bridge.Sign(testToken, "1669871000"), body: seedBody,
			wantStatus: 401, wantBody: failBody("RequestTime is 18m32s ago; at most 1m0s is accepted")},
		{name: "CallbackCommand missing", target: "/callback?" + signedQuery(""), body: seedBody,
			wantStatus: 400, wantBody: failBody("CallbackCommand is missing from the query")},
		{name: "query and body disagree", target: "/callback?" + signedQuery(del), body: strings.Replace(seedBody, "BlackListDelete", "BlackListAdd", 1),
			wantStatus: 400, wantBody: failBody(`CallbackCommand in the body ("Sns.CallbackBlackListAdd") differs from the query's ("Sns.CallbackBlackListDelete")`)},
		{name: "duplicate SdkAppid", target: "/callback?" + signedQuery(del) + "&SdkAppid=1", body: seedBody,
			wantStatus: 400, wantBody: failBody("query parameter SdkAppid appears 2 times; it must appear once")},
		{name: "body not JSON", target: "/callback?" + signedQuery(del), body: `CallbackCommand=x`,
			wantStatus: 400, wantBody: failBody("body must be a JSON object")},
		{name: "PairList missing", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete"}`,
			wantStatus: 400, wantBody: failBody("PairList is missing")},
		{name: "PairList empty", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[]}`,
			wantStatus: 400, wantBody: failBody("PairList is empty")},
		{name: "PairList not an array", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":"id"}`,
			wantStatus: 400, wantBody: failBody("PairList must be an array")},
		{name: "account missing", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a"}]}`,
			wantStatus: 400, wantBody: failBody("PairList[0].To_Account is missing")},
		{name: "account empty", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"","To_Account":"b"}]}`,
			wantStatus: 400, wantBody: failBody("PairList[0].From_Account is empty")},
		{name: "account not a string", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":{"id":1}}]}`,
			wantStatus: 400, wantBody: failBody("PairList[0].To_Account must be a string")},
		{name: "account over 32 bytes", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"` + strings.Repeat("x", 33) + `","To_Account":"b"}]}`,
			wantStatus: 400, wantBody: failBody("PairList[0].From_Account is 33 bytes; at most 32 are allowed")},
		{name: "invalid UTF-8", target: "/callback?" + signedQuery(del), body: "{\"CallbackCommand\":\"Sns.CallbackBlackListDelete\",\"PairList\":[{\"From_Account\":\"a\xc3\",\"To_Account\":\"b\"}]}",
			wantStatus: 400, wantBody: failBody("body is not valid UTF-8")},
		{name: "body over the limit", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","Pad":"` + strings.Repeat("x", 4096) + `"}`,
			wantStatus: 413, wantBody: failBody("body is 4154 bytes; at most 4096 are accepted")},
		{name: "query too long", target: "/callback?" + signedQuery(del) + "&Pad=" + strings.Repeat("x", 4096), body: seedBody,
			wantStatus: 414, wantBody: failBody("query string is 4313 bytes; at most 4096 are accepted")},
		{name: "query malformed", target: "/callback?" + signedQuery(del) + "&bad=%zz", body: seedBody,
			wantStatus: 400, wantBody: failBody(`query string is malformed: invalid URL escape "%zz"`)},
		{name: "Content-Encoding gzip", target: "/callback?" + signedQuery(del), body: seedBody, header: "Content-Encoding: gzip",
			wantStatus: 415, wantBody: failBody(`Content-Encoding "gzip" is not supported: send the body uncompressed`)},
		{name: "Sign in upper case", target: "/callback?" + strings.Replace(signedQuery(del), "Sign="+bridge.Sign(testToken, "1669872112"), "Sign="+strings.ToUpper(bridge.Sign(testToken, "1669872112")), 1), body: seedBody,
			wantStatus: 401, wantBody: failBody("Sign must be 64 lowercase hexadecimal digits")},
		{name: "duplicate PairList", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"a","To_Account":"b"}],"PairList":[]}`,
			wantStatus: 400, wantBody: failBody(`body has the key "PairList" twice in one object (at PairList)`)},
		{name: "too many pairs", target: "/callback?" + signedQuery(del), body: `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.TrimSuffix(strings.Repeat(`{"From_Account":"a","To_Account":"b"},`, 11), ",") + `]}`,
			wantStatus: 413, wantBody: failBody("PairList has 11 entries; at most 10 are accepted")},
		{name: "kafka did not acknowledge", target: "/callback?" + signedQuery(del), body: seedBody,
			deliverErr: &bridge.Error{Kind: bridge.KindUnavailable, Message: "kafka did not acknowledge the events within 1.5s", Err: context.DeadlineExceeded},
			wantStatus: 503, wantBody: failBody("kafka did not acknowledge the events within 1.5s"), wantEvents: -1},
		{name: "delivery bug", target: "/callback?" + signedQuery(del), body: seedBody,
			deliverErr: errors.New("boom: internal detail"), wantStatus: 500, wantBody: failBody("internal error"), wantEvents: -1},
	}
	eventSchema := schematest.Compile(t, schema.BlocklistRemovedEvent)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{err: tt.deliverErr}
			tokens := tt.tokens
			if tokens == nil {
				tokens = []bridge.Secret{testToken}
			}
			srv := newTestServer(t, rec, tokens...)
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req := httptest.NewRequest(method, tt.target, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if name, value, ok := strings.Cut(tt.header, ": "); ok {
				req.Header.Set(name, value)
			}
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)

			if w.Code != tt.wantStatus || w.Body.String() != tt.wantBody {
				t.Fatalf("answer = %d %s\nwant     %d %s", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q, want application/json", ct)
			}
			switch {
			case tt.wantEvents == -1: // delivery was asked and failed
				if rec.calls != 1 {
					t.Fatalf("delivery called %d times, want 1", rec.calls)
				}
			case len(rec.events) != tt.wantEvents:
				t.Fatalf("delivered %d events, want %d", len(rec.events), tt.wantEvents)
			case tt.wantEvents == 0 && rec.calls != 0:
				t.Fatalf("a rejected callback reached delivery (%d calls)", rec.calls)
			}
			for _, e := range rec.events {
				v := e.AppendJSON(nil) // the value as published, version included
				if err := schematest.Validate(eventSchema, v); err != nil {
					t.Fatalf("event %s does not validate: %v", v, err)
				}
			}
		})
	}
}

// A body that declares no length and streams past the limit is cut off at the limit.
func TestCallbackChunkedBodyOverLimit(t *testing.T) {
	rec := &recorder{}
	srv := newTestServer(t, rec, testToken)
	body := io.MultiReader(strings.NewReader(`{"CallbackCommand":"Sns.CallbackBlackListDelete","Pad":"`), strings.NewReader(strings.Repeat("y", 10000)))
	req := httptest.NewRequest(http.MethodPost, "/callback?"+signedQuery(bridge.CommandBlackListDelete), body)
	req.ContentLength = -1
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	if w.Code != 413 || w.Body.String() != failBody("body exceeds 4096 bytes") || rec.calls != 0 {
		t.Fatalf("answer = %d %s, delivery calls %d", w.Code, w.Body.String(), rec.calls)
	}
}

func TestCallbackEventsInPairListOrder(t *testing.T) {
	rec := &recorder{}
	srv := newTestServer(t, rec, testToken)
	req := httptest.NewRequest(http.MethodPost, "/callback?"+signedQuery(bridge.CommandBlackListDelete), strings.NewReader(seedBody))
	srv.ServeHTTP(httptest.NewRecorder(), req)
	var got [][2]string
	for _, e := range rec.events {
		from, to, _ := strings.Cut(e.Subject.Order, "\x00")
		got = append(got, [2]string{from, to})
	}
	want := [][2]string{{"id", "id1"}, {"id", "id2"}, {"id", "id3"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("pairs (-want +got):\n%s", d)
	}
	if rec.events[0].ClientIP != "127.0.0.1" || rec.events[0].OptPlatform != "RESTAPI" || rec.events[0].RequestTime != 1669872112 {
		t.Fatalf("query values not carried: %+v", rec.events[0])
	}
}

// blocker is a Delivery that holds every Accept until released.
type blocker struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocker) Accept(context.Context, []bridge.Event) error {
	b.entered <- struct{}{}
	<-b.release
	return nil
}

func (b *blocker) Ready(context.Context) error { return nil }

// Beyond MaxInFlight callbacks at once, the next is answered 503 at once; when one
// finishes, callbacks are accepted again.
func TestCallbackInFlightLimit(t *testing.T) {
	b := &blocker{entered: make(chan struct{}, 3), release: make(chan struct{})}
	srv := NewCallbackServer(Config{MaxInFlight: 3}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: b, Log: zap.NewNop(),
		Now: func() time.Time { return testNow },
	})
	send := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/callback?"+signedQuery(bridge.CommandBlackListDelete), strings.NewReader(seedBody)))
		return w
	}
	done := make(chan *httptest.ResponseRecorder, 3)
	for i := 0; i < 3; i++ {
		go func() { done <- send() }()
		<-b.entered
	}
	if w := send(); w.Code != 503 || w.Body.String() != failBody("too many callbacks in flight (3); try again later") {
		t.Fatalf("fourth callback: %d %s", w.Code, w.Body.String())
	}
	b.release <- struct{}{}
	if w := <-done; w.Code != 200 {
		t.Fatalf("held callback answered %d", w.Code)
	}
	go func() { done <- send() }()
	<-b.entered
	close(b.release)
	for i := 0; i < 3; i++ {
		if w := <-done; w.Code != 200 {
			t.Fatalf("callback answered %d", w.Code)
		}
	}
}

func TestAdmin(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		readyErr   error
		wantStatus int
		wantBody   string
	}{
		{"healthz", "/healthz", errors.New("kafka down"), 200, `{"status":"ok"}`},
		{"ready", "/readyz", nil, 200, `{"status":"ready"}`},
		{"not ready", "/readyz", errors.New("kafka metadata: dial tcp 127.0.0.1:1: connection refused"), 503,
			`{"reason":"kafka metadata: dial tcp 127.0.0.1:1: connection refused","status":"not ready"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewAdminServer(&recorder{err: tt.readyErr}, AdminConfig{}, zap.NewNop())
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != tt.wantStatus || strings.TrimSpace(w.Body.String()) != tt.wantBody {
				t.Fatalf("answer = %d %s, want %d %s", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}
