package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// Fault tests: real processes killed for real, a real broker stopped and started.
// `make test` runs short variants; `make test-long` (build tag long) the long ones.

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// load sends signed callbacks from several workers, each its own From_Account with
// callbacks numbered in order, and remembers which were answered 200 OK.
type load struct {
	url   func() string // callback URL without query
	pairs int

	mu       sync.Mutex
	acked    map[string]bool // "from/to" of every pair of an acknowledged callback
	statuses map[int]int
	infos    map[string]int // ErrorInfo of FAIL answers
}

func newLoad(url func() string, pairs int) *load {
	return &load{url: url, pairs: pairs, acked: map[string]bool{}, statuses: map[int]int{}, infos: map[string]int{}}
}

func (l *load) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := fmt.Sprintf("w%d", w)
			for i := 0; ctx.Err() == nil; i++ {
				pairs := make([]string, l.pairs)
				keys := make([]string, l.pairs)
				for j := range pairs {
					to := fmt.Sprintf("%s-%06d-%04d", from, i, j)
					pairs[j] = `{"From_Account":"` + from + `","To_Account":"` + to + `"}`
					keys[j] = from + "/" + to
				}
				body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.Join(pairs, ",") + `]}`
				rt := strconv.FormatInt(time.Now().Unix(), 10)
				url := l.url() + "?SdkAppid=" + e2eAppID + "&CallbackCommand=Sns.CallbackBlackListDelete&RequestTime=" + rt + "&Sign=" + bridge.Sign(e2eToken, rt)
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					time.Sleep(20 * time.Millisecond) // the bridge is down or restarting
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				l.mu.Lock()
				l.statuses[resp.StatusCode]++
				if resp.StatusCode == 200 && string(b) == okAnswer {
					for _, k := range keys {
						l.acked[k] = true
					}
				} else {
					var a struct{ ErrorInfo string }
					_ = json.Unmarshal(b, &a)
					l.infos[a.ErrorInfo]++
				}
				l.mu.Unlock()
				if resp.StatusCode != 200 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
}

func (l *load) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

// verifyDelivered waits until every acknowledged pair is in topic and checks that a
// pair's duplicates share one eventId and that each From_Account's events first
// appear in the order they were sent.
func verifyDelivered(t *testing.T, brokers []string, topic string, l *load) {
	t.Helper()
	l.mu.Lock()
	acked := l.acked
	l.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for {
		kafkatest.WaitCount(t, brokers, topic, int64(len(acked)), time.Until(deadline))
		msgs := kafkatest.ReadAll(t, brokers, topic)
		ids := map[string]map[string]bool{}
		last := map[string]string{}
		for _, m := range msgs {
			var v struct{ EventID, FromAccount, ToAccount string }
			if err := json.Unmarshal(m.Value, &v); err != nil {
				t.Fatal(err)
			}
			k := v.FromAccount + "/" + v.ToAccount
			if ids[k] == nil {
				ids[k] = map[string]bool{}
				if v.ToAccount < last[v.FromAccount] {
					t.Fatalf("%s: %s first appears after %s", v.FromAccount, v.ToAccount, last[v.FromAccount])
				}
				last[v.FromAccount] = v.ToAccount
			}
			ids[k][v.EventID] = true
		}
		missing := 0
		for k := range acked {
			if ids[k] == nil {
				missing++
			}
		}
		if missing == 0 {
			dups := len(msgs) - len(ids)
			for k, set := range ids {
				if len(set) != 1 {
					t.Fatalf("pair %s arrived with %d different eventIds", k, len(set))
				}
			}
			t.Logf("%d acknowledged pairs, all in the topic; %d messages, %d of them duplicates; answers %v; FAIL reasons %v",
				len(acked), len(msgs), dups, l.statuses, l.infos)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged pairs are not in the topic", missing, len(acked))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// The bridge is killed with SIGKILL at random moments under concurrent load and
// restarted on the same spool: every pair that got a 200 ends up in Kafka.
func TestCrashUnderLoad(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "crash", 6)
	addr := freePort(t)
	env := []string{
		"IMBRIDGE_LISTEN=" + addr,
		"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic,
		"IMBRIDGE_SPOOL_DIR=" + filepath.Join(t.TempDir(), "spool"),
		"IMBRIDGE_LOG_LEVEL=info",
	}
	l := newLoad(func() string { return "http://" + addr + "/callback" }, 3)
	ctx, stop := context.WithCancel(context.Background())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); l.run(ctx, crashWorkers) }()

	p := startBridge(t, env...)
	for kill := 0; kill < crashKills; kill++ {
		time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		t.Logf("kill %d: %d pairs acknowledged so far", kill+1, l.ackedCount())
		p = startBridge(t, env...)
	}
	time.Sleep(300 * time.Millisecond)
	stop()
	<-loadDone
	if l.ackedCount() == 0 {
		t.Fatal("no callback was acknowledged")
	}
	verifyDelivered(t, brokers, topic, l)
}

// Kafka goes away under load: callbacks keep getting 200 while the spool has room,
// then 503 with a clear reason and /readyz fails; when Kafka returns, the spool drains
// by itself, 200s resume, and every acknowledged pair arrives in per-key order.
func TestKafkaOutageAndFullSpool(t *testing.T) {
	broker := kafkatest.StartBroker(t, 0)
	brokers := []string{broker.Addr}
	topic := kafkatest.CreateTopic(t, brokers, "outage", 3)
	p := startBridge(t,
		"IMBRIDGE_KAFKA_BROKERS="+broker.Addr,
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_SPOOL_MAX_BYTES=65536",
		"IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=500ms",
		"IMBRIDGE_LOG_LEVEL=info")
	l := newLoad(func() string { return p.callbackURL }, 1)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); l.run(ctx, 4) }()

	waitUntil(t, "some callbacks acknowledged", 20*time.Second, func() bool { return l.ackedCount() > 50 })
	before := l.ackedCount()
	broker.Stop()
	waitUntil(t, "the spool to fill and 503s to appear", 60*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.statuses[503] > 20
	})
	if during := l.ackedCount(); during <= before {
		t.Fatalf("no callback was acknowledged while Kafka was down (%d before, %d during)", before, during)
	}
	ready, reason := readyz(t, p)
	if ready || !strings.HasPrefix(reason, "spool is full: ") {
		t.Fatalf("readyz with a full spool: ready %v, reason %q", ready, reason)
	}
	l.mu.Lock()
	full := 0
	for info, n := range l.infos {
		if strings.HasPrefix(info, "spool is full: ") && strings.HasSuffix(info, " bytes wait for Kafka (limit 65536); try again later") {
			full += n
		}
	}
	if full == 0 || full != l.statuses[503] {
		t.Fatalf("503s must all say that the spool is full: %v", l.infos)
	}
	l.mu.Unlock()

	broker.Start()
	atRestart := l.ackedCount()
	waitUntil(t, "200s to resume without a restart", 60*time.Second, func() bool { return l.ackedCount() > atRestart+50 })
	waitUntil(t, "readyz to recover", 30*time.Second, func() bool { ok, _ := readyz(t, p); return ok })
	stop()
	<-loadDone
	verifyDelivered(t, brokers, topic, l)
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readyz(t *testing.T, p *bridgeProc) (bool, string) {
	t.Helper()
	resp, err := http.Get(p.adminURL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Status, Reason string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode == 200, body.Reason
}

// An event Kafka refuses for good (its topic does not exist) goes to the dead-letter
// topic with the reason; without a dead-letter topic it stays and /readyz says why
// under "delivery", still 200: the replica still takes callbacks.
func TestDeadLetterTopic(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	dlq := kafkatest.CreateTopic(t, brokers, "dlq", 1)
	missing := "test.missing.topic." + strconv.FormatInt(time.Now().UnixNano(), 36)
	common := []string{
		"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + missing,
		"IMBRIDGE_DLQ_AFTER_ATTEMPTS=2",
		"IMBRIDGE_KAFKA_UNKNOWN_TOPIC_TIMEOUT=1s",
		"IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=200ms",
	}
	t.Run("with a dead-letter topic", func(t *testing.T) {
		p := startBridge(t, append(common, "IMBRIDGE_DLQ_TOPIC="+dlq)...)
		if status, body := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), seedBody); status != 200 || body != okAnswer {
			t.Fatalf("answer = %d %s", status, body)
		}
		msgs := readTopic(t, brokers, dlq, 3)
		if len(msgs) != 3 {
			t.Fatalf("dead-letter topic holds %d messages, want 3", len(msgs))
		}
		for i, m := range msgs {
			h := map[string]string{}
			for _, kv := range m.Headers {
				h[kv.Key] = string(kv.Value)
			}
			var v struct{ ToAccount string }
			_ = json.Unmarshal(m.Value, &v)
			if h["imbridge_dlq_topic"] != missing || !strings.Contains(h["imbridge_dlq_error"], "Unknown Topic Or Partition") ||
				v.ToAccount != fmt.Sprintf("id%d", i+1) || h["ce_id"] == "" {
				t.Fatalf("dead letter %d: headers %v value %s", i, h, m.Value)
			}
		}
	})
	t.Run("without one", func(t *testing.T) {
		p := startBridge(t, common...)
		if status, body := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), seedBody); status != 200 || body != okAnswer {
			t.Fatalf("answer = %d %s", status, body)
		}
		var reason string
		waitUntil(t, "readyz to report the stuck event", 30*time.Second, func() bool {
			reason = deliveryTrouble(t, p)
			return reason != ""
		})
		if !strings.Contains(reason, "for topic "+missing+" failed") || !strings.Contains(reason, "IMBRIDGE_DLQ_TOPIC") {
			t.Fatalf("readyz reason: %q", reason)
		}
	})
}

// A topic created after imbridge started, and after the first callback for it, gets
// its events: Kafka's "unknown topic" (answered from kafka-go's metadata cache for up
// to 10 s) is retried for IMBRIDGE_KAFKA_UNKNOWN_TOPIC_TIMEOUT before it counts as
// permanent (before: dead-lettered after about 1.5 s).
func TestTopicCreatedLate(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	dlq := kafkatest.CreateTopic(t, brokers, "late-dlq", 1)
	late := "test.late." + strconv.FormatInt(time.Now().UnixNano(), 36)
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+late,
		"IMBRIDGE_DLQ_TOPIC="+dlq, "IMBRIDGE_DLQ_AFTER_ATTEMPTS=2", "IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=200ms")
	if status, body := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), seedBody); status != 200 || body != okAnswer {
		t.Fatalf("answer = %d %s", status, body)
	}
	time.Sleep(4 * time.Second) // the forwarder has met the unknown topic many times by now
	client := kafkatest.Client(brokers)
	resp, err := client.CreateTopics(context.Background(), &kafkago.CreateTopicsRequest{
		Topics: []kafkago.TopicConfig{{Topic: late, NumPartitions: 1, ReplicationFactor: 1}}})
	if err != nil || resp.Errors[late] != nil {
		t.Fatalf("create %s: %v %v", late, err, resp)
	}
	msgs := readTopic(t, brokers, late, 3)
	if len(msgs) != 3 {
		t.Fatalf("%s holds %d events, want 3", late, len(msgs))
	}
	if n := kafkatest.Count(t, brokers, dlq); n != 0 {
		t.Fatalf("%d events dead-lettered although their topic was created within the timeout", n)
	}
}
