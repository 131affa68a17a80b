package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// logLines decodes the JSON log lines of p with message msg.
func logLines(t *testing.T, log, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// serve warns at start about every switched-on route whose topic does not exist, and
// about no other.
func TestServeWarnsAboutMissingTopics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	blocklist := kafkatest.CreateTopic(t, brokers, "present", 1)
	missing := "imbridge.missing." + strings.ReplaceAll(t.Name(), "/", ".")
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","),
		"IMBRIDGE_ROUTES=blocklist-delete,blocklist-add,friend-add,friend-delete",
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+blocklist, "IMBRIDGE_TOPIC_BLOCKLIST_ADD="+blocklist,
		"IMBRIDGE_TOPIC_FRIEND_ADD="+missing, "IMBRIDGE_TOPIC_FRIEND_DELETE="+missing)
	const msg = "the topic of a switched-on route does not exist: create it, or its events wait in the spool (sync mode: its callbacks are answered 503)"
	var warned []string
	waitUntil(t, "the missing-topic warnings", 20*time.Second, func() bool {
		warned = nil
		for _, m := range logLines(t, p.log.String(), msg) {
			warned = append(warned, m["level"].(string)+" "+m["route"].(string)+" "+m["topic"].(string))
		}
		return len(warned) >= 2
	})
	// The check ran once: anything about the blocklist topic would have come with these.
	want := "warn friend-add " + missing + ",warn friend-delete " + missing
	if got := strings.Join(warned, ","); got != want {
		t.Fatalf("warnings %s, want %s", got, want)
	}
}

// A callback makes one request line at info with path and client address, and the
// log never holds the query's signature.
func TestServeLogsRequests(t *testing.T) {
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS=127.0.0.1:1", "IMBRIDGE_LOG_LEVEL=info")
	url := p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now())
	if status, body := post(t, url, seedBody); status != 200 {
		t.Fatalf("answer %d %s", status, body)
	}
	if status, _ := post(t, strings.Replace(url, "/callback?", "/callbak?", 1), seedBody); status != 404 {
		t.Fatalf("wrong path answered %d", status)
	}
	var lines []string
	waitUntil(t, "two request lines", 10*time.Second, func() bool {
		lines = nil
		for _, m := range logLines(t, p.log.String(), "request") {
			lines = append(lines, strings.Join([]string{m["level"].(string), m["method"].(string), m["path"].(string), m["client"].(string),
				fmtNumber(m["status"]), m["outcome"].(string)}, " "))
			if _, ok := m["latency_ms"].(float64); !ok {
				t.Fatalf("request line without latency_ms: %v", m)
			}
		}
		return len(lines) == 2
	})
	want := "info POST /callback 127.0.0.1 200 ok,info POST /callbak 127.0.0.1 404 not_found"
	if got := strings.Join(lines, ","); got != want {
		t.Fatalf("request lines %s, want %s", got, want)
	}
	sign := url[strings.Index(url, "Sign=")+len("Sign="):]
	if strings.Contains(p.log.String(), sign) {
		t.Fatalf("the log holds the signature:\n%s", p.log.String())
	}
}

func fmtNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The logger samples: a flood of one message at one level within a second keeps the
// first 100 and then every 100th, so that a callback line at info for every request
// cannot drown the log.
func TestLoggerSamples(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger("info", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 1000 {
		log.Info("request")
	}
	took := time.Since(start)
	n := strings.Count(buf.String(), "\n")
	// Within one second of the sampler's ticks: 100 + 9; a loop that crosses a tick
	// starts a second window (at most 2 × 109). A slow machine may spread it further.
	if took < time.Second && (n < 109 || n > 218) || n < 100 || n >= 1000 {
		t.Fatalf("%d of 1000 lines written in %s, want 109 to 218", n, took)
	}
}
