package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
	"github.com/imbridge/imbridge/bridge/spool"
	"github.com/imbridge/imbridge/schema"
	"github.com/imbridge/imbridge/schema/schematest"
)

// These tests run the real binary against the real broker, as an operator would.

const (
	e2eAppID = "1400187352"
	e2eToken = "e2e-callback-token-value"
	seedBody = `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"id","To_Account":"id1"},{"From_Account":"id","To_Account":"id2"},{"From_Account":"id","To_Account":"id3"}]}`
	okAnswer = `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/imbridge once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imbridge-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "imbridge")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// bridgeProc is a running `imbridge serve`.
type bridgeProc struct {
	cmd         *exec.Cmd
	callbackURL string // http://127.0.0.1:PORT/callback
	adminURL    string
	log         *syncBuffer
	exited      chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBridge starts the binary with the base environment plus env, on free loopback
// ports, and waits until /healthz answers. It runs with IMBRIDGE_SHUTDOWN_DELAY=0 (see
// startCmd) unless env sets it.
func startBridge(t *testing.T, env ...string) *bridgeProc {
	t.Helper()
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"IMBRIDGE_LISTEN=127.0.0.1:0",
		"IMBRIDGE_ADMIN_LISTEN=127.0.0.1:0",
		"IMBRIDGE_SDKAPPID=" + e2eAppID,
		"IMBRIDGE_CALLBACK_TOKEN=" + e2eToken,
		"IMBRIDGE_LOG_LEVEL=debug",
		"IMBRIDGE_SPOOL_DIR=" + filepath.Join(t.TempDir(), "spool"),
	}, env...)
	return startCmd(t, cmd)
}

// startCmd starts an `imbridge serve` command and waits until /healthz answers. The
// command runs with IMBRIDGE_SHUTDOWN_DELAY=0 unless its environment sets it: no load
// balancer waits to learn that a test's bridge is stopping, and SIGTERM would otherwise
// hold every test that sends it for the 10s default. It runs with the unrouted and
// quarantine topics off unless its environment sets them.
func startCmd(t *testing.T, cmd *exec.Cmd) *bridgeProc {
	t.Helper()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	// The unrouted and quarantine topics are off unless a test sets them: most tests
	// check the refusals and the quiet OK that they replace, on brokers without those
	// topics; TestQuarantine and TestUnroutedByDefault run the defaults.
	cmd.Env = append([]string{"IMBRIDGE_SHUTDOWN_DELAY=0", "IMBRIDGE_TOPIC_UNROUTED=off", "IMBRIDGE_TOPIC_QUARANTINE=off"}, cmd.Env...) // a later entry wins
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &bridgeProc{cmd: cmd, log: &syncBuffer{}, exited: make(chan struct{})}
	addrs := make(chan [2]string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.log.Write([]byte(line + "\n"))
			var rec struct {
				Msg      string `json:"msg"`
				Callback string `json:"callback_addr"`
				Admin    string `json:"admin_addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "imbridge starting" {
				addrs <- [2]string{rec.Callback, rec.Admin}
			}
		}
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("imbridge log:\n%s", p.log.String())
		}
	})
	select {
	case a := <-addrs:
		p.callbackURL = "http://" + a[0] + "/callback"
		p.adminURL = "http://" + a[1]
	case <-p.exited:
		t.Fatalf("imbridge exited at start:\n%s", p.log.String())
	case <-time.After(15 * time.Second):
		t.Fatalf("imbridge did not start in 15s:\n%s", p.log.String())
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := http.Get(p.adminURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signedURL is the callback URL as Chat builds it, signed with token at time at.
func (p *bridgeProc) signedURL(command, token string, at time.Time) string {
	rt := strconv.FormatInt(at.Unix(), 10)
	return p.callbackURL + "?SdkAppid=" + e2eAppID + "&CallbackCommand=" + command +
		"&contenttype=json&ClientIP=127.0.0.1&OptPlatform=RESTAPI&RequestTime=" + rt + "&Sign=" + bridge.Sign(token, rt)
}

// post sends a callback and returns the answer's status and body. A callback answered
// 200 must be valid against the request body of schema/openapi.yaml: whatever imbridge
// accepts, a gateway or client that enforces the document accepts too.
func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		if err := schematest.Validate(openAPIRequestBody(t), []byte(body)); err != nil {
			t.Fatalf("imbridge answered 200 to a callback that the OpenAPI request body refuses: %v\nbody: %.300s", err, body)
		}
	}
	return resp.StatusCode, string(b)
}

var (
	requestBodyOnce   sync.Once
	requestBodySchema *jsonschema.Schema
)

// openAPIRequestBody is the compiled request body schema of POST /callback.
func openAPIRequestBody(t *testing.T) *jsonschema.Schema {
	t.Helper()
	requestBodyOnce.Do(func() { requestBodySchema = schematest.CompileRequestBody(t, "/callback", "post") })
	if requestBodySchema == nil {
		t.Fatal("the OpenAPI request body did not compile")
	}
	return requestBodySchema
}

// modes runs test once per delivery mode: every contract holds in both.
func modes(t *testing.T, test func(t *testing.T, mode string)) {
	for _, mode := range []string{"spool", "sync"} {
		t.Run(mode, func(t *testing.T) { test(t, mode) })
	}
}

// readTopic waits until topic holds want messages (at once in sync mode, after the
// forwarder's work in spool mode) and returns all of them.
func readTopic(t *testing.T, brokers []string, topic string, want int) []kafkago.Message {
	t.Helper()
	kafkatest.WaitCount(t, brokers, topic, int64(want), 30*time.Second)
	return kafkatest.ReadAll(t, brokers, topic)
}

func TestServeSeedEndToEnd(t *testing.T) { modes(t, testServeSeedEndToEnd) }

func testServeSeedEndToEnd(t *testing.T, mode string) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "seed", 6)
	p := startBridge(t, "IMBRIDGE_DELIVERY="+mode, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic)

	sent := time.Now()
	status, body := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, sent), seedBody)
	if status != 200 || body != okAnswer {
		t.Fatalf("answer = %d %s, want 200 %s", status, body, okAnswer)
	}

	eventSchema := schematest.Compile(t, schema.BlocklistRemovedEvent)
	msgs := readTopic(t, brokers, topic, 3)
	if len(msgs) != 3 {
		t.Fatalf("topic holds %d messages, want 3", len(msgs))
	}
	type value struct {
		EventID         string `json:"eventId"`
		SDKAppID        uint64 `json:"sdkAppId"`
		CallbackCommand string `json:"callbackCommand"`
		FromAccount     string `json:"fromAccount"`
		ToAccount       string `json:"toAccount"`
		ReceivedAt      string `json:"receivedAt"`
		ClientIP        string `json:"clientIp"`
		OptPlatform     string `json:"optPlatform"`
		RequestTime     int64  `json:"requestTime"`
		Version         int64  `json:"version"`
	}
	ids := map[string]bool{}
	for i, m := range msgs {
		if m.Partition != msgs[0].Partition || m.Offset != int64(i) || string(m.Key) != "id" {
			t.Fatalf("message %d: partition %d offset %d key %q; want one partition, offsets 0..2, key id", i, m.Partition, m.Offset, m.Key)
		}
		if err := schematest.Validate(eventSchema, m.Value); err != nil {
			t.Fatalf("value %s: %v", m.Value, err)
		}
		var v value
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatal(err)
		}
		received, err := time.Parse(time.RFC3339, v.ReceivedAt)
		if err != nil || received.Before(sent.Add(-time.Second)) || received.After(time.Now()) {
			t.Fatalf("receivedAt %q is not the time of the request", v.ReceivedAt)
		}
		want := value{EventID: v.EventID, SDKAppID: 1400187352, CallbackCommand: bridge.CommandBlackListDelete,
			FromAccount: "id", ToAccount: fmt.Sprintf("id%d", i+1), ReceivedAt: v.ReceivedAt,
			ClientIP: "127.0.0.1", OptPlatform: "RESTAPI", RequestTime: sent.Unix(),
			// The version rule without EventTime: the later of RequestTime's second and
			// the replica's clock at receipt.
			Version: max(sent.Unix()*1000, received.UnixMilli())}
		if d := cmp.Diff(want, v); d != "" {
			t.Fatalf("message %d value (-want +got):\n%s", i, d)
		}
		var hs [][2]string
		for _, h := range m.Headers {
			hs = append(hs, [2]string{h.Key, string(h.Value)})
		}
		wantHeaders := [][2]string{{"ce_specversion", "1.0"}, {"ce_id", v.EventID}, {"ce_type", "imbridge.blocklist.removed.v1"},
			{"ce_source", "urn:tencent-im:sdkappid:1400187352"}, {"ce_time", v.ReceivedAt}, {"content-type", "application/json"},
			{"imbridge_version", strconv.FormatInt(want.Version, 10)}}
		if d := cmp.Diff(wantHeaders, hs); d != "" {
			t.Fatalf("message %d headers (-want +got):\n%s", i, d)
		}
		ids[v.EventID] = true
	}
	if len(ids) != 3 {
		t.Fatalf("event IDs not distinct: %v", ids)
	}

	// kcat, as a downstream team reads the topic, sees the same three messages.
	kc := kafkatest.KcatConsume(t, brokers, topic)
	if len(kc) != 3 {
		t.Fatalf("kcat read %d messages, want 3", len(kc))
	}
	for i, m := range kc {
		if m.Key != "id" || m.Payload != string(msgs[i].Value) || m.Partition != msgs[i].Partition {
			t.Fatalf("kcat message %d = %+v, want the kafka-go one: key id, %s", i, m, msgs[i].Value)
		}
		for _, h := range msgs[i].Headers {
			if v, ok := m.Header(h.Key); !ok || v != string(h.Value) {
				t.Fatalf("kcat message %d header %s = %q, want %q", i, h.Key, v, h.Value)
			}
		}
	}
}

func TestServeThousandPairs(t *testing.T) { modes(t, testServeThousandPairs) }

func testServeThousandPairs(t *testing.T, mode string) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "thousand", 6)
	p := startBridge(t, "IMBRIDGE_DELIVERY="+mode, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic)

	pairs := make([]string, 1000)
	for i := range pairs {
		pairs[i] = fmt.Sprintf(`{"From_Account":"admin_%d","To_Account":"user_%04d"}`, i%7, i)
	}
	body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.Join(pairs, ",") + `]}`
	if status, answer := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), body); status != 200 || answer != okAnswer {
		t.Fatalf("answer = %d %s", status, answer)
	}
	msgs := readTopic(t, brokers, topic, 1000)
	if len(msgs) != 1000 {
		t.Fatalf("topic holds %d messages, want 1000", len(msgs))
	}
	// Per From_Account, the To_Accounts come in PairList order.
	last := map[string]string{}
	seen := map[string]bool{}
	for _, m := range msgs {
		var v struct{ FromAccount, ToAccount string }
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatal(err)
		}
		if v.ToAccount <= last[v.FromAccount] {
			t.Fatalf("%s: %s after %s", v.FromAccount, v.ToAccount, last[v.FromAccount])
		}
		last[v.FromAccount] = v.ToAccount
		seen[v.ToAccount] = true
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct pairs, want 1000", len(seen))
	}
}

func TestServeRejectedPublishNothingAndRepeatsKeepIDs(t *testing.T) {
	modes(t, testServeRejectedPublishNothingAndRepeatsKeepIDs)
}

func testServeRejectedPublishNothingAndRepeatsKeepIDs(t *testing.T, mode string) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "rejected", 3)
	p := startBridge(t, "IMBRIDGE_DELIVERY="+mode, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic)
	now := time.Now()
	rejected := []struct {
		url, body string
		status    int
	}{
		{p.signedURL(bridge.CommandBlackListDelete, "wrong-token", now), seedBody, 401},
		{strings.Replace(p.signedURL(bridge.CommandBlackListDelete, e2eToken, now), e2eAppID, "1400000000", 1), seedBody, 403},
		{p.signedURL(bridge.CommandBlackListDelete, e2eToken, now.Add(-2*time.Minute)), seedBody, 401},
		{p.signedURL(bridge.CommandBlackListDelete, e2eToken, now), `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"id"}]}`, 400},
		{p.signedURL(bridge.CommandBlackListDelete, e2eToken, now), `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"id","To_Account":"` + strings.Repeat("x", 2<<20) + `"}]}`, 413},
	}
	for i, r := range rejected {
		status, body := post(t, r.url, r.body)
		if status != r.status || !strings.HasPrefix(body, `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"`) {
			t.Fatalf("rejected request %d: answer %d %s, want %d FAIL", i, status, body, r.status)
		}
	}
	// Unrouted commands are answered OK and publish nothing either.
	if status, body := post(t, p.signedURL("Group.CallbackBeforeSendMsg", e2eToken, now), `{"CallbackCommand":"Group.CallbackBeforeSendMsg"}`); status != 200 || body != okAnswer {
		t.Fatalf("unrouted: %d %s", status, body)
	}

	// The same signed callback twice (Chat retrying on timeout) yields equal IDs.
	url := p.signedURL(bridge.CommandBlackListDelete, e2eToken, now)
	for i := 0; i < 2; i++ {
		if status, body := post(t, url, seedBody); status != 200 || body != okAnswer {
			t.Fatalf("delivery %d: %d %s", i, status, body)
		}
	}
	// The rejected requests came first: in spool mode, anything they had published
	// would be in the topic before the accepted callbacks' events.
	msgs := readTopic(t, brokers, topic, 6)
	if len(msgs) != 6 {
		t.Fatalf("topic holds %d messages, want exactly the 6 of the two accepted callbacks", len(msgs))
	}
	var ids []string
	for _, m := range msgs {
		for _, h := range m.Headers {
			if h.Key == "ce_id" {
				ids = append(ids, string(h.Value))
			}
		}
	}
	if d := cmp.Diff(ids[:3], ids[3:]); d != "" || len(ids) != 6 {
		t.Fatalf("IDs of the repeat differ (-first +second):\n%s", d)
	}
}

func TestServeSyncKafkaUnavailable(t *testing.T) {
	p := startBridge(t, "IMBRIDGE_DELIVERY=sync", "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_SYNC_TIMEOUT=500ms")
	start := time.Now()
	status, body := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), seedBody)
	if status != 503 || !strings.HasPrefix(body, `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"kafka did not acknowledge the events`) {
		t.Fatalf("answer = %d %s, want 503 FAIL", status, body)
	}
	if took := time.Since(start); took > 1900*time.Millisecond {
		t.Fatalf("answered after %s; Chat gives up after 2s", took)
	}
	resp, err := http.Get(p.adminURL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("readyz = %d with Kafka down, want 503", resp.StatusCode)
	}
}

// SIGTERM stops the bridge cleanly: exit status 0 and a "stopped" line. With Kafka
// away, the spool is drained for the drain timeout and what is left stays on disk.
func TestServeStopsOnSIGTERM(t *testing.T) {
	spoolDir := filepath.Join(t.TempDir(), "spool")
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_DRAIN_TIMEOUT=500ms", "IMBRIDGE_SPOOL_DIR="+spoolDir)
	if status, body := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), seedBody); status != 200 || body != okAnswer {
		t.Fatalf("answer = %d %s", status, body)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("imbridge did not stop within 15s of SIGTERM")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(p.log.String(), `"msg":"imbridge stopped"`) {
		t.Fatalf("exit code %d, log:\n%s", code, p.log.String())
	}
	if !strings.Contains(p.log.String(), `"msg":"drain timeout: events stay in the spool for the next start","callbacks":1,"records":3`) {
		t.Fatalf("no drain report in the log:\n%s", p.log.String())
	}
	sp, err := spool.Open(spoolDir, spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if st := sp.Stats(); st.Entries != 1 || st.Records != 3 {
		t.Fatalf("spool after shutdown holds %d callbacks of %d records, want the 1 accepted callback of 3", st.Entries, st.Records)
	}
}

// Every routed command publishes to its route's topic with its event type; both
// blocklist routes may share a topic; a route switched off answers OK and publishes
// nothing.
func TestServeRoutes(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	blocklist := kafkatest.CreateTopic(t, brokers, "blocklist", 3)
	friends := kafkatest.CreateTopic(t, brokers, "friends", 3)
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","),
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+blocklist, "IMBRIDGE_TOPIC_BLOCKLIST_ADD="+blocklist,
		"IMBRIDGE_TOPIC_FRIEND_ADD="+friends, "IMBRIDGE_TOPIC_FRIEND_DELETE="+friends)
	bodyOf := func(command, to string) string {
		return `{"CallbackCommand":"` + command + `","PairList":[{"From_Account":"u1","To_Account":"` + to + `"}]}`
	}
	now := time.Now()
	for _, c := range []struct{ command, to string }{
		{bridge.CommandBlackListAdd, "a"}, {bridge.CommandBlackListDelete, "a"}, {bridge.CommandBlackListAdd, "b"}, {bridge.CommandFriendDelete, "f"},
	} {
		if status, body := post(t, p.signedURL(c.command, e2eToken, now), bodyOf(c.command, c.to)); status != 200 || body != okAnswer {
			t.Fatalf("%s: %d %s", c.command, status, body)
		}
	}
	typeOf := func(m kafkago.Message) string {
		for _, h := range m.Headers {
			if h.Key == "ce_type" {
				return string(h.Value)
			}
		}
		return ""
	}
	var got []string
	for _, m := range readTopic(t, brokers, blocklist, 3) {
		var v struct{ ToAccount string }
		_ = json.Unmarshal(m.Value, &v)
		got = append(got, typeOf(m)+" "+v.ToAccount)
	}
	want := []string{"imbridge.blocklist.added.v1 a", "imbridge.blocklist.removed.v1 a", "imbridge.blocklist.added.v1 b"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("blocklist topic, one user's changes in order (-want +got):\n%s", d)
	}
	friendAdd := `{"CallbackCommand":"Sns.CallbackFriendAdd","ClientCmd":"friend_response","Admin_Account":"","ForceFlag":0,` +
		`"PairList":[{"From_Account":"u1","To_Account":"f","Initiator_Account":"f"}]}`
	if status, body := post(t, p.signedURL(bridge.CommandFriendAdd, e2eToken, now), friendAdd); status != 200 || body != okAnswer {
		t.Fatalf("friend add: %d %s", status, body)
	}
	friendMsgs := readTopic(t, brokers, friends, 2)
	if len(friendMsgs) != 2 || typeOf(friendMsgs[0]) != "imbridge.friend.removed.v1" || typeOf(friendMsgs[1]) != "imbridge.friend.added.v1" {
		t.Fatalf("friends topic: %d messages", len(friendMsgs))
	}
	var added struct{ InitiatorAccount, ClientCmd, AdminAccount string }
	_ = json.Unmarshal(friendMsgs[1].Value, &added)
	if added.InitiatorAccount != "f" || added.ClientCmd != "friend_response" || added.AdminAccount != "" {
		t.Fatalf("friend-added value %s", friendMsgs[1].Value)
	}
	addedSchema := schematest.Compile(t, schema.FriendAddedEvent)
	if err := schematest.Validate(addedSchema, friendMsgs[1].Value); err != nil {
		t.Fatalf("friend-added value %s: %v", friendMsgs[1].Value, err)
	}

	// The same bridge with only the blocklist removal switched on.
	off := kafkatest.CreateTopic(t, brokers, "routeoff", 1)
	q := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_ROUTES=blocklist-delete",
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+off, "IMBRIDGE_TOPIC_BLOCKLIST_ADD="+off)
	if status, body := post(t, q.signedURL(bridge.CommandBlackListAdd, e2eToken, now), bodyOf(bridge.CommandBlackListAdd, "x")); status != 200 || body != okAnswer {
		t.Fatalf("switched-off route: %d %s", status, body)
	}
	if status, _ := post(t, q.signedURL(bridge.CommandBlackListDelete, e2eToken, now), bodyOf(bridge.CommandBlackListDelete, "y")); status != 200 {
		t.Fatalf("switched-on route: %d", status)
	}
	msgs := readTopic(t, brokers, off, 1)
	if len(msgs) != 1 || typeOf(msgs[0]) != "imbridge.blocklist.removed.v1" {
		t.Fatalf("with blocklist-add off the topic holds %d messages, want only the removal", len(msgs))
	}
}
