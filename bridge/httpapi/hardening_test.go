package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// observed records what the handler reports.
type observed struct {
	mu          sync.Mutex
	quarantined []string
	outcomes    []string
	skews       []time.Duration
	sigErrors   []string
}

func (o *observed) Callback(_, outcome string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, outcome)
}

func (o *observed) Quarantined(kind string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.quarantined = append(o.quarantined, kind)
}

func (o *observed) SignatureFailure(reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sigErrors = append(o.sigErrors, reason)
}

func (o *observed) RequestTimeSkew(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.skews = append(o.skews, d)
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// The replay filter, on: an exact replay of a callback answered OK is answered OK again
// without publishing, until twice the skew has passed; a callback that differs in its
// body, or whose first try failed, or that is unsigned, is published. Off (the
// default): the replay is published again, with the same event IDs.
func TestReplayFilter(t *testing.T) {
	del := bridge.CommandBlackListDelete
	type step struct {
		target     string
		body       string
		advance    time.Duration // before the request
		deliverErr error
		wantStatus int
		wantEvents int // new events delivered
	}
	signed := "/callback?" + signedQuery(del)
	unsigned := "/callback?SdkAppid=" + testAppID + "&CallbackCommand=" + del
	other := strings.Replace(seedBody, `"id3"`, `"id4"`, 1)
	tests := []struct {
		name         string
		window       time.Duration
		tokens       []bridge.Secret
		steps        []step
		wantOutcomes []string
	}{
		{"on: replay answered OK, not published", 2 * time.Minute, []bridge.Secret{testToken}, []step{
			{target: signed, body: seedBody, wantStatus: 200, wantEvents: 3},
			{target: signed, body: seedBody, advance: time.Second, wantStatus: 200},
			{target: signed, body: other, wantStatus: 200, wantEvents: 3},
			{target: signed, body: seedBody, advance: time.Minute, wantStatus: 200},
		}, []string{"ok", "replayed", "ok", "replayed"}},
		{"on: remembered for the window only", 30 * time.Second, []bridge.Secret{testToken}, []step{
			{target: signed, body: seedBody, wantStatus: 200, wantEvents: 3},
			{target: signed, body: seedBody, advance: 30 * time.Second, wantStatus: 200, wantEvents: 3},
		}, []string{"ok", "ok"}},
		{"on: a failed first try is not remembered", 2 * time.Minute, []bridge.Secret{testToken}, []step{
			{target: signed, body: seedBody, deliverErr: bridge.Errorf(bridge.KindUnavailable, "spool is full"), wantStatus: 503},
			{target: signed, body: seedBody, wantStatus: 200, wantEvents: 3},
			{target: signed, body: seedBody, wantStatus: 200},
		}, []string{"unavailable", "ok", "replayed"}},
		{"on: unsigned callbacks are not filtered", 2 * time.Minute, []bridge.Secret{}, []step{
			{target: unsigned, body: seedBody, wantStatus: 200, wantEvents: 3},
			{target: unsigned, body: seedBody, wantStatus: 200, wantEvents: 3},
		}, []string{"ok", "ok"}},
		{"off: the replay is published again", 0, []bridge.Secret{testToken}, []step{
			{target: signed, body: seedBody, wantStatus: 200, wantEvents: 3},
			{target: signed, body: seedBody, advance: time.Second, wantStatus: 200, wantEvents: 3},
		}, []string{"ok", "ok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, obs, clk := &recorder{}, &observed{}, &clock{now: testNow}
			srv := NewCallbackServer(Config{ReplayWindow: tt.window}, Deps{
				Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: tt.tokens, MaxSkew: 2 * time.Minute},
				Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: rec, Log: zap.NewNop(),
				Observer: obs, Now: clk.Now,
			})
			var ids []string
			for i, s := range tt.steps {
				clk.Add(s.advance)
				rec.err = s.deliverErr
				before := len(rec.events)
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, post(s.target, s.body))
				if w.Code != s.wantStatus || len(rec.events)-before != s.wantEvents {
					t.Fatalf("step %d: %d %s, %d new events; want %d, %d", i, w.Code, w.Body.String(), len(rec.events)-before, s.wantStatus, s.wantEvents)
				}
				if s.wantStatus == 200 && w.Body.String() != okJSON {
					t.Fatalf("step %d: body %s", i, w.Body.String())
				}
				for _, e := range rec.events[before:] {
					ids = append(ids, e.ID)
				}
			}
			if d := cmp.Diff(tt.wantOutcomes, obs.outcomes); d != "" {
				t.Fatalf("outcomes (-want +got):\n%s", d)
			}
			if tt.window == 0 && (len(ids) != 6 || ids[0] != ids[3]) {
				t.Fatalf("a replay published again carries other IDs: %v", ids)
			}
		})
	}
}

// The clock-skew metric takes only authenticated RequestTimes: a wrong signature or an
// unsigned callback must not move it.
func TestSkewOnlyForAuthenticatedCallbacks(t *testing.T) {
	del := bridge.CommandBlackListDelete
	obs := &observed{}
	newSrv := func(tokens ...bridge.Secret) http.Handler {
		return NewCallbackServer(Config{}, Deps{
			Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: tokens, MaxSkew: time.Minute},
			Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: &recorder{}, Log: zap.NewNop(),
			Observer: obs, Now: func() time.Time { return testNow.Add(3 * time.Second) },
		})
	}
	signedSrv := newSrv(testToken)
	forged := "RequestTime=1669872110&Sign=" + bridge.Sign("guess", "1669872110")
	for _, target := range []string{
		"/callback?SdkAppid=" + testAppID + "&CallbackCommand=" + del + "&" + forged,                       // wrong token
		"/callback?SdkAppid=" + testAppID + "&CallbackCommand=" + del + "&RequestTime=1669870000&Sign=xyz", // malformed
		"/callback?SdkAppid=1&CallbackCommand=" + del + "&RequestTime=1669870000",                          // not our app
		"/callback?" + signedQuery(del), // the one authenticated callback
	} {
		signedSrv.ServeHTTP(httptest.NewRecorder(), post(target, seedBody))
	}
	newSrv().ServeHTTP(httptest.NewRecorder(), post("/callback?SdkAppid="+testAppID+"&CallbackCommand="+del+"&RequestTime=1669870000", seedBody))
	if d := cmp.Diff([]time.Duration{3 * time.Second}, obs.skews); d != "" {
		t.Fatalf("skews (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"mismatch", "malformed_sign"}, obs.sigErrors); d != "" {
		t.Fatalf("signature failures (-want +got):\n%s", d)
	}
}

// holder is a Delivery that holds every Accept until released.
type holder struct {
	entered chan struct{}
	release chan struct{}
}

func (h *holder) Accept(context.Context, []bridge.Event) error {
	h.entered <- struct{}{}
	<-h.release
	return nil
}

func (h *holder) Ready(context.Context) error { return nil }

// The bytes of bodies in flight are bounded, not only their count: with room for four
// 16 KiB buffers and a 12 KiB one, a fifth large body is answered 503 after waiting a
// second for room, a small one still fits, and when the held ones finish every byte is
// given back. The records the held callbacks became have a budget of their own and do
// not take the bodies' room.
func TestBodyBytesInFlightLimit(t *testing.T) {
	h := &holder{entered: make(chan struct{}, 8), release: make(chan struct{})}
	// Padded with whitespace, which no event carries: the records stay small.
	big := strings.Replace(seedBody, `"PairList"`, strings.Repeat(" ", 12<<10)+`"PairList"`, 1)
	budget := int64(4*(16<<10) + 12<<10)
	srv := NewCallbackServer(Config{BodyLimit: 16 << 10, MaxInFlightBytes: budget}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: h, Log: zap.NewNop(),
		Now: func() time.Time { return testNow },
	})
	send := func(body string, chunked bool) *httptest.ResponseRecorder {
		r := post("/callback?"+signedQuery(bridge.CommandBlackListDelete), body)
		if chunked {
			r.Body = io.NopCloser(strings.NewReader(body))
			r.ContentLength = -1
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w
	}
	done := make(chan *httptest.ResponseRecorder, 5)
	for range 4 {
		go func() { done <- send(big, false) }()
		<-h.entered
	}
	busy := failBody(fmt.Sprintf("too many body bytes in flight (at most %d); try again later", budget))
	if w := send(big, false); w.Code != 503 || w.Body.String() != busy {
		t.Fatalf("fifth large body: %d %s", w.Code, w.Body.String())
	}
	if w := send(big, true); w.Code != 503 || w.Body.String() != busy {
		t.Fatalf("fifth large body, chunked: %d %s", w.Code, w.Body.String())
	}
	go func() { done <- send(seedBody, true) }() // 4 KiB: fits
	<-h.entered
	close(h.release)
	for range 5 {
		if w := <-done; w.Code != 200 {
			t.Fatalf("held callback answered %d %s", w.Code, w.Body.String())
		}
	}
}

// Buffers come in powers of two from Content-Length, the largest holding one byte more
// than the body limit; the bytes handed out are counted until given back.
func TestBodyBuffers(t *testing.T) {
	b := newBodyBuffers(1<<20, 4<<20)
	var got []int
	var held []*[]byte
	for _, n := range []int64{0, 1, 4096, 4097, 100000, 1 << 20, 1<<20 + 1} {
		p := b.get(n)
		got = append(got, cap(*p))
		held = append(held, p)
	}
	want := []int{4096, 4096, 4096, 8192, 131072, 1 << 20, 1<<20 + 1}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("capacities (-want +got):\n%s", d)
	}
	if b.InUse() != 1<<20+1<<20+1+131072+8192+3*4096 {
		t.Fatalf("in use %d", b.InUse())
	}
	held = append(held, b.get(1<<20+1))
	if p := b.get(1<<20 + 1); p != nil {
		t.Fatal("a buffer beyond the bytes in flight was handed out")
	}
	for _, p := range held {
		b.put(p)
	}
	if b.InUse() != 0 {
		t.Fatalf("in use %d after every buffer came back", b.InUse())
	}
	// One body as it grows: its last buffer (the limit plus one byte) and the 1 MiB one
	// it grows from, held together while it is copied.
	if b := newBodyBuffers(1<<20, 1); b.maxBytes != 2<<20+1 {
		t.Fatalf("a byte limit below one body is raised to %d, want one growing body", b.maxBytes)
	}
}

// slowBody hands out its content one byte per interval.
type slowBody struct {
	s        string
	interval time.Duration
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.s == "" {
		return 0, io.EOF
	}
	time.Sleep(b.interval)
	p[0], b.s = b.s[0], b.s[1:]
	return 1, nil
}

// ctxRecorder is a Delivery that notes whether the context it was given had ended.
type ctxRecorder struct {
	recorder
	ended []bool
}

func (r *ctxRecorder) Accept(ctx context.Context, events []bridge.Event) error {
	r.mu.Lock()
	r.ended = append(r.ended, ctx.Err() != nil)
	r.mu.Unlock()
	return r.recorder.Accept(ctx, events)
}

// A callback read and verified is delivered whatever its client does meanwhile: Chat
// waits 2 s and does not send an after-callback again, so one whose client went away,
// or that outlasted Config.Timeout while its body trickled in, is kept all the same, on
// a context that the request's end does not cancel.
func TestCallbackKeptWhenClientGoes(t *testing.T) {
	rec := &ctxRecorder{}
	srv := NewCallbackServer(Config{Timeout: 200 * time.Millisecond}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: rec, Log: zap.NewNop(),
		Now: func() time.Time { return testNow },
	})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, post("/callback?"+signedQuery(bridge.CommandBlackListDelete), seedBody).WithContext(ctx))
	if w.Code != 200 || rec.calls != 1 || len(rec.events) != 3 || rec.ended[0] {
		t.Fatalf("client gone: %d %s, %d deliveries of %d events, context ended %v", w.Code, w.Body.String(), rec.calls, len(rec.events), rec.ended)
	}

	r := post("/callback?"+signedQuery(bridge.CommandBlackListDelete), seedBody)
	r.Body = io.NopCloser(&slowBody{s: seedBody, interval: time.Millisecond + 300*time.Millisecond/time.Duration(len(seedBody))})
	w = httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code != 200 || rec.calls != 2 || len(rec.events) != 6 {
		t.Fatalf("past the timeout: %d %s, %d deliveries of %d events", w.Code, w.Body.String(), rec.calls, len(rec.events))
	}
}

// topicHolder is a Delivery that holds every Accept of events for other topics than
// free until released, and records the rest.
type topicHolder struct {
	recorder
	free    string
	entered chan struct{}
	release chan struct{}
}

func (h *topicHolder) Accept(ctx context.Context, events []bridge.Event) error {
	if events[0].Topic != h.free {
		h.entered <- struct{}{}
		<-h.release
		return nil
	}
	return h.recorder.Accept(ctx, events)
}

// A verified callback that finds no room in the bytes in flight for its records within
// a second is kept whole in quarantine (kind unavailable) and answered OK, not refused
// with a 503 that would lose it; with the quarantine off it is answered 503.
func TestNoRoomForRecordsIsQuarantined(t *testing.T) {
	values, _ := url.ParseQuery(signedQuery(bridge.CommandBlackListDelete))
	query, err := bridge.ParseQuery(values)
	if err != nil {
		t.Fatal(err)
	}
	// Twenty pairs: a small body whose records are many times its size.
	var pairs []string
	for i := range 20 {
		pairs = append(pairs, fmt.Sprintf(`{"From_Account":"id","To_Account":"t%d"}`, i))
	}
	body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.Join(pairs, ",") + `]}`
	events, err := bridge.Map(bridge.Callback{Query: query, AppID: 1400187352, Body: []byte(body), ReceivedAt: testNow}, bridge.DefaultRoutes[0])
	if err != nil {
		t.Fatal(err)
	}
	records := bridge.RecordBytes(events)
	// Room for the held callback's records and half of another's: the second callback's
	// body (the same, padded to 12 KiB with whitespace) is read although the held
	// callback's records and both bodies exceed the budget together (records have a
	// budget of their own), and its records find no room.
	padded := strings.Replace(body, `"PairList"`, strings.Repeat(" ", 12<<10)+`"PairList"`, 1)
	budget := records + records/2
	if budget < 4096+16<<10 || records+4096+16<<10 <= budget {
		t.Fatalf("records of %d bytes: a budget of %d does not make the case", records, budget)
	}
	for _, quarantine := range []string{"q", ""} {
		h := &topicHolder{free: "q", entered: make(chan struct{}, 1), release: make(chan struct{})}
		obs := &observed{}
		srv := NewCallbackServer(Config{BodyLimit: 16 << 10, MaxInFlightBytes: budget, QuarantineTopic: quarantine}, Deps{
			Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
			Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: h, Log: zap.NewNop(), Observer: obs,
			Now: func() time.Time { return testNow },
		})
		held := make(chan *httptest.ResponseRecorder, 1)
		go func() {
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, post("/callback?"+signedQuery(bridge.CommandBlackListDelete), body))
			held <- w
		}()
		<-h.entered
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, post("/callback?"+signedQuery(bridge.CommandBlackListDelete), padded))
		close(h.release)
		if w := <-held; w.Code != 200 {
			t.Fatalf("held callback answered %d %s", w.Code, w.Body.String())
		}
		if quarantine == "" {
			if w.Code != 503 || !strings.Contains(w.Body.String(), "no room for the records") || len(h.events) != 0 {
				t.Fatalf("quarantine off: answered %d %s, %d events kept", w.Code, w.Body.String(), len(h.events))
			}
			continue
		}
		if w.Code != 200 || w.Body.String() != okJSON || len(h.events) != 1 || len(obs.quarantined) != 1 || obs.quarantined[0] != "unavailable" {
			t.Fatalf("no room: answered %d %s, %d events kept, counted %v", w.Code, w.Body.String(), len(h.events), obs.quarantined)
		}
		r := bridge.Records(h.events)[0]
		if r.Topic != "q" || string(r.Value) != padded || string(r.HeaderValue(bridge.HeaderQuarantineKind)) != "unavailable" ||
			!strings.Contains(string(r.HeaderValue(bridge.HeaderQuarantineReason)), "IMBRIDGE_MAX_IN_FLIGHT_BYTES") {
			t.Fatalf("record: topic %s value %q headers %s", r.Topic, r.Value, headersOf(r))
		}
	}
}

// With pprof on, cmdline is not served (the arguments may hold a secret) and profiles
// are capped in duration; the other profiles are served.
func TestAdminPprof(t *testing.T) {
	srv := NewAdminServer(&recorder{}, AdminConfig{Pprof: true}, zap.NewNop())
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/debug/pprof/cmdline", 404},
		{"/debug/pprof/cmdline?debug=1", 404},
		{"/debug/pprof/profile?seconds=31", 400},
		{"/debug/pprof/profile?seconds=3600", 400},
		{"/debug/pprof/profile?seconds=x", 400},
		{"/debug/pprof/trace?seconds=600", 400},
		{"/debug/pprof/heap?seconds=600", 400},
		{"/debug/pprof/heap", 200},
		{"/debug/pprof/goroutine?debug=1", 200},
		{"/debug/pprof/", 200},
	} {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.path, w.Code, tc.want)
		}
		if strings.Contains(w.Body.String(), "httpapi.test") && strings.Contains(tc.path, "cmdline") {
			t.Errorf("%s shows the command line", tc.path)
		}
	}
}

// A refused callback whose body is still on its way is drained up to the body limit:
// the sender reads the answer and its connection stays open for the next callback
// (net/http alone would close it after 256 KiB unread, and a sender still writing would
// see a broken pipe instead of the answer). A body declared over the limit is not
// drained: 413, and the connection is closed.
func TestRefusedBodyIsDrained(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(NewCallbackServer(Config{BodyLimit: 1 << 20}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...),
		Delivery: rec,
		Log:      zap.NewNop(),
		Now:      func() time.Time { return testNow },
	}))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	exchange := func(query, body string, declared int) (int, string) {
		t.Helper()
		head := fmt.Sprintf("POST /callback?%s HTTP/1.1\r\nHost: chat\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", query, declared)
		werr := make(chan error, 1)
		go func() { _, err := io.WriteString(conn, head+body); werr <- err }()
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if declared == len(body) {
			if err := <-werr; err != nil {
				t.Fatalf("sending the body: %v", err)
			}
		}
		return resp.StatusCode, string(b)
	}
	big := `{"CallbackCommand":"Sns.CallbackBlackListDelete","Pad":"` + strings.Repeat("x", 1<<20-60) + `"}`
	wrong := strings.Replace(signedQuery(bridge.CommandBlackListDelete), "Sign=", "Sign=0", 1)
	if status, got := exchange(wrong, big, len(big)); status != http.StatusUnauthorized {
		t.Fatalf("a wrongly signed 1 MiB body: %d %s", status, got)
	}
	if status, got := exchange(signedQuery(bridge.CommandBlackListDelete), seedBody, len(seedBody)); status != http.StatusOK || got != okJSON {
		t.Fatalf("the next callback on the same connection: %d %s", status, got)
	}
	if status, got := exchange(signedQuery(bridge.CommandBlackListDelete), "{", 2<<20); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body declared over the limit: %d %s, want 413", status, got)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after the 413 the connection was not closed: %v", err)
	}
	if len(rec.events) != 3 {
		t.Fatalf("%d events delivered, want the 3 of the one callback answered OK", len(rec.events))
	}
}

// Senders that declare large bodies and send one byte hold budget only for what they
// sent (at most maxFirstBuffer each until more arrives): a genuine callback still gets
// through (before: the declared lengths were reserved at once, and 97 such connections
// made every callback 503 until the read timeout).
func TestSlowSendersDoNotHoldTheBudget(t *testing.T) {
	rec := &recorder{}
	// Room for three buffers of a whole body and 2 KiB: three bodies reserved whole
	// would leave no room for a 4 KiB buffer.
	srv := httptest.NewServer(NewCallbackServer(Config{BodyLimit: 1 << 20, MaxInFlightBytes: 3*(1<<20+1) + 2<<10}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: rec, Log: zap.NewNop(),
		Now: func() time.Time { return testNow },
	}))
	defer srv.Close()
	const slow = 16 // 16 MiB declared against a 3 MiB budget
	for range slow {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /callback?%s HTTP/1.1\r\nHost: chat\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{",
			signedQuery(bridge.CommandBlackListDelete), 1<<20)
	}
	time.Sleep(200 * time.Millisecond) // the slow requests reach the handler and reserve
	resp, err := http.Post(srv.URL+"/callback?"+signedQuery(bridge.CommandBlackListDelete), "application/json", strings.NewReader(seedBody))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != okJSON {
		t.Fatalf("a genuine callback beside %d slow senders: %d %s", slow, resp.StatusCode, body)
	}
}

// A byte budget of just the body limit and the body's records still takes a body of
// the limit, sent without Content-Length: growing it holds two buffers at once
// (before: every body over 512 KiB was answered 503 on an idle server). (The records
// carry the body's unknown Pad, as "extra", in each of its events.)
func TestBudgetOfOneBodyTakesOneBody(t *testing.T) {
	rec := &recorder{}
	body := strings.Replace(seedBody, `"PairList"`, `"Pad":"`+strings.Repeat("x", 1<<20-300)+`","PairList"`, 1)
	values, _ := url.ParseQuery(signedQuery(bridge.CommandBlackListDelete))
	query, _ := bridge.ParseQuery(values)
	events, err := bridge.Map(bridge.Callback{Query: query, AppID: 1400187352, Body: []byte(body), ReceivedAt: testNow}, bridge.DefaultRoutes[0])
	if err != nil {
		t.Fatal(err)
	}
	srv := NewCallbackServer(Config{BodyLimit: 1 << 20, MaxInFlightBytes: 1<<20 + bridge.RecordBytes(events), MaxPairs: 10}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: rec, Log: zap.NewNop(),
		Now: func() time.Time { return testNow },
	})
	r := post("/callback?"+signedQuery(bridge.CommandBlackListDelete), body)
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = -1
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("a body of %d bytes against a budget of the body limit and its records: %d %s", len(body), w.Code, w.Body.String())
	}
}

// The records a callback's body becomes count against the bytes in flight with the
// body: a second callback whose records do not fit beside the first's waits for them
// (it is not refused), and goes on once the first is delivered (before: only bodies
// counted, and a 540 KB callback of 10,000 pairs held 7 MB unaccounted).
func TestRecordsCountAgainstTheBudget(t *testing.T) {
	pairs := make([]string, 100)
	for i := range pairs {
		pairs[i] = fmt.Sprintf(`{"From_Account":"user-%03d","To_Account":"target-%03d"}`, i, i)
	}
	body := `{"CallbackCommand":"` + bridge.CommandBlackListDelete + `","PairList":[` + strings.Join(pairs, ",") + `]}`
	values, _ := url.ParseQuery(signedQuery(bridge.CommandBlackListDelete))
	query, _ := bridge.ParseQuery(values)
	events, err := bridge.Map(bridge.Callback{Query: query, AppID: 1400187352, Body: []byte(body), ReceivedAt: testNow}, bridge.DefaultRoutes[0])
	if err != nil {
		t.Fatal(err)
	}
	records := bridge.RecordBytes(events)
	// Two bodies (8 KiB buffers) fit, and one callback's records, not two.
	h := &holder{entered: make(chan struct{}, 2), release: make(chan struct{})}
	srv := NewCallbackServer(Config{BodyLimit: 64 << 10, MaxInFlightBytes: 2*(8<<10) + records + records/2, Timeout: 10 * time.Second}, Deps{
		Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
		Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: h, Log: zap.NewNop(),
		Now: func() time.Time { return testNow },
	})
	send := func() int {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, post("/callback?"+signedQuery(bridge.CommandBlackListDelete), body))
		return w.Code
	}
	done := make(chan int, 2)
	go func() { done <- send() }()
	<-h.entered
	go func() { done <- send() }()
	select {
	case <-h.entered:
		t.Fatal("a second callback's records were taken beside the first's, over the budget")
	case code := <-done:
		t.Fatalf("the second callback was answered %d instead of waiting for room", code)
	case <-time.After(300 * time.Millisecond):
	}
	h.release <- struct{}{} // the first is delivered
	<-h.entered             // the second goes on
	close(h.release)
	for range 2 {
		if code := <-done; code != 200 {
			t.Fatalf("answered %d", code)
		}
	}
}
