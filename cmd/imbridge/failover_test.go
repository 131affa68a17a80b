package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
	"github.com/imbridge/imbridge/bridge/metrics"
)

// Failover: three imbridge replicas (spool mode, each on its own spool) behind a
// round-robin proxy, publishing to a three-node cluster (replication factor 3,
// min.insync.replicas=2). Under load from four senders, the leader of a partition is
// SIGKILLed and restarted 10 s later, one replica is paused (SIGSTOP) for 5 s, another
// is SIGKILLed and restarted on its spool. Every acknowledged pair must be in the topic,
// every duplicate with its first copy's eventId, every record with the version its
// callback gave it; the leader watcher counts the leader change in the metrics.

var _ kafka.LeaderObserver = (*metrics.Metrics)(nil)

// roundRobin is the load balancer in front of the replicas: each request goes to the
// next replica; a replica that does not answer is answered 502, as a load balancer
// without retries does.
func roundRobin(t *testing.T, backends []string) *httptest.Server {
	var next atomic.Uint64
	targets := make([]*url.URL, len(backends))
	for i, b := range backends {
		targets[i] = &url.URL{Scheme: "http", Host: b}
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { w.WriteHeader(http.StatusBadGateway) },
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv
}

// sender plays Chat for one From_Account: callbacks of `pairs` pairs with ascending
// To_Accounts, each carrying EventTime from a clock that never repeats, signed, with
// Chat's 2 s timeout; it remembers what was answered 200.
type sender struct {
	from  string
	pairs int
	url   string

	mu       sync.Mutex
	acked    map[string]int64 // To_Account → the EventTime it was sent with
	statuses map[int]int
}

func (s *sender) run(ctx context.Context) {
	client := &http.Client{Timeout: 2 * time.Second}
	var last int64
	for i := 0; ctx.Err() == nil; i++ {
		eventTime := max(time.Now().UnixMilli(), last+1)
		last = eventTime
		pairs := make([]string, s.pairs)
		tos := make([]string, s.pairs)
		for j := range pairs {
			tos[j] = fmt.Sprintf("%s-%06d-%02d", s.from, i, j)
			pairs[j] = `{"From_Account":"` + s.from + `","To_Account":"` + tos[j] + `"}`
		}
		body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","EventTime":` + strconv.FormatInt(eventTime, 10) +
			`,"PairList":[` + strings.Join(pairs, ",") + `]}`
		rt := strconv.FormatInt(time.Now().Unix(), 10)
		u := s.url + "?SdkAppid=" + e2eAppID + "&CallbackCommand=Sns.CallbackBlackListDelete&RequestTime=" + rt + "&Sign=" + bridge.Sign(e2eToken, rt)
		resp, err := client.Post(u, "application/json", strings.NewReader(body))
		status := 0
		var answer []byte
		if err == nil {
			answer, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		s.mu.Lock()
		s.statuses[status]++
		if status == 200 && string(answer) == okAnswer {
			for _, to := range tos {
				s.acked[to] = eventTime
			}
		}
		s.mu.Unlock()
		if status != 200 {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (s *sender) ackedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acked)
}

// record is what the test reads back of one message.
type record struct {
	partition     int
	offset        int64
	eventID, from string
	to            string
	eventTime     int64
	version       int64
	header        string // imbridge_version
}

func readRecords(t *testing.T, brokers []string, topic string) []record {
	t.Helper()
	var out []record
	for _, m := range kafkatest.ReadAll(t, brokers, topic) {
		var v struct {
			EventID     string `json:"eventId"`
			FromAccount string `json:"fromAccount"`
			ToAccount   string `json:"toAccount"`
			EventTime   int64  `json:"eventTime"`
			Version     int64  `json:"version"`
		}
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatalf("%s/%d@%d: %v", topic, m.Partition, m.Offset, err)
		}
		r := record{partition: m.Partition, offset: m.Offset, eventID: v.EventID, from: v.FromAccount, to: v.ToAccount,
			eventTime: v.EventTime, version: v.Version}
		for _, h := range m.Headers {
			if h.Key == "imbridge_version" {
				r.header = string(h.Value)
			}
		}
		out = append(out, r)
	}
	return out
}

func TestFailover(t *testing.T) {
	cluster := kafkatest.StartCluster(t)
	brokers := cluster.Addrs
	topic := kafkatest.CreateReplicatedTopic(t, brokers, "failover", 6, 2)

	addrs := make([]string, 3)
	envs := make([][]string, 3)
	replicas := make([]*bridgeProc, 3)
	for i := range replicas {
		addrs[i] = freePort(t)
		envs[i] = []string{
			"IMBRIDGE_LISTEN=" + addrs[i],
			"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","),
			"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic,
			"IMBRIDGE_SPOOL_DIR=" + filepath.Join(t.TempDir(), fmt.Sprintf("spool-%d", i)),
			"IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=1s",
			"IMBRIDGE_LOG_LEVEL=info",
		}
		replicas[i] = startBridge(t, envs[i]...)
	}
	lb := roundRobin(t, addrs)

	// The leader watcher, as serve would run it, reports to imbridge's metrics.
	m := metrics.New("test")
	watcher, err := kafka.New(kafka.Config{Brokers: brokers, Topics: []string{topic}}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); watcher.WatchLeaders(watchCtx, 500*time.Millisecond, m) }()
	defer func() { stopWatch(); <-watchDone }()

	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	var senders []*sender
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		s := &sender{from: fmt.Sprintf("w%d", w), pairs: 3, url: lb.URL + "/callback", acked: map[string]int64{}, statuses: map[int]int{}}
		senders = append(senders, s)
		wg.Add(1)
		go func() { defer wg.Done(); s.run(ctx) }()
	}
	acked := func() int {
		n := 0
		for _, s := range senders {
			n += s.ackedCount()
		}
		return n
	}
	start := time.Now()
	at := func(d time.Duration) { time.Sleep(time.Until(start.Add(d))) }

	for round := 0; round < failoverRounds; round++ {
		offset := time.Duration(round) * failoverRoundLength
		// The leader of partition 0 crashes and comes back 10 s later.
		at(offset + 3*time.Second)
		leader := kafkatest.Leader(t, brokers, topic, 0)
		cluster.Kill(leader)
		killed := time.Now()
		t.Logf("%s: node %d, leader of partition 0, SIGKILLed; %d pairs acknowledged", time.Since(start).Round(time.Second), leader, acked())
		restarted := make(chan struct{})
		go func() {
			defer close(restarted)
			time.Sleep(time.Until(killed.Add(10 * time.Second)))
			cluster.Start(leader)
			t.Logf("%s: node %d restarted", time.Since(start).Round(time.Second), leader)
		}()
		// One replica pauses for 5 s: its connections hang, the proxy's requests to it
		// time out at the sender.
		at(offset + 5*time.Second)
		paused := replicas[round%3]
		if err := paused.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		at(offset + 10*time.Second)
		if err := paused.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: replica %d paused 5 s and resumed; %d pairs acknowledged", time.Since(start).Round(time.Second), round%3, acked())
		// Another replica crashes and restarts on its spool.
		at(offset + 15*time.Second)
		k := (round + 1) % 3
		if err := replicas[k].cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-replicas[k].exited
		replicas[k] = startBridge(t, envs[k]...)
		t.Logf("%s: replica %d SIGKILLed and restarted on its spool; %d pairs acknowledged", time.Since(start).Round(time.Second), k, acked())
		<-restarted
	}
	at(time.Duration(failoverRounds) * failoverRoundLength)
	stopLoad()
	wg.Wait()

	want := map[string]int64{} // from/to → EventTime
	statuses := map[int]int{}
	for _, s := range senders {
		for to, et := range s.acked {
			want[s.from+"/"+to] = et
		}
		for st, n := range s.statuses {
			statuses[st] += n
		}
	}
	if len(want) == 0 {
		t.Fatal("no callback was acknowledged")
	}

	// Every acknowledged pair arrives, however long the replicas take to drain.
	var recs []record
	deadline := time.Now().Add(120 * time.Second)
	for {
		kafkatest.WaitCount(t, brokers, topic, int64(len(want)), time.Until(deadline))
		recs = readRecords(t, brokers, topic)
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.from+"/"+r.to] = true
		}
		missing := 0
		for k := range want {
			if !seen[k] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged pairs are not in the topic", missing, len(want))
		}
		time.Sleep(time.Second)
	}

	first := map[string]record{} // pair → its first copy
	duplicates, inversions := 0, 0
	newest := map[string]int64{} // from → greatest version among first copies so far
	for _, r := range recs {
		k := r.from + "/" + r.to
		if r.version != r.eventTime || r.header != strconv.FormatInt(r.version, 10) {
			t.Fatalf("%s at %d/%d: version %d, header %q, eventTime %d: the version must be the EventTime", k, r.partition, r.offset, r.version, r.header, r.eventTime)
		}
		if f, ok := first[k]; ok {
			duplicates++
			if r.eventID != f.eventID {
				t.Fatalf("duplicate of %s at %d/%d has eventId %s, its first copy at %d/%d has %s", k, r.partition, r.offset, r.eventID, f.partition, f.offset, f.eventID)
			}
			continue
		}
		first[k] = r
		if r.version < newest[r.from] {
			inversions++ // published after a later callback of the same user: only the version orders it
		}
		newest[r.from] = max(newest[r.from], r.version)
	}
	stopWatch()
	<-watchDone
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	changes := regexp.MustCompile(`(?m)^imbridge_kafka_leader_changes_total\{topic="` + regexp.QuoteMeta(topic) + `"\} (\d+)$`).FindStringSubmatch(rec.Body.String())
	if changes == nil || changes[1] == "0" {
		t.Fatalf("no leader change counted after the leader of partition 0 was killed: %v", changes)
	}
	t.Logf("failover: %d pairs acknowledged, all delivered; %d records, %d distinct pairs, %d duplicates (each with its first copy's eventId); %d first copies after a later change of their user (inversions); answers %v; %s partition leader changes seen",
		len(want), len(recs), len(first), duplicates, inversions, statuses, changes[1])

	// imbridge check on the cluster: all well; then, with a node down, the topic is
	// under-replicated but writable (WARN), and a topic with min.insync.replicas=3 is
	// not writable (FAIL).
	strict := kafkatest.CreateReplicatedTopic(t, brokers, "strict", 1, 3)
	checkEnv := []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic, "IMBRIDGE_DLQ_TOPIC=" + strict}
	var code int
	var out string
	waitUntil(t, "imbridge check to pass with every node up", 60*time.Second, func() bool {
		code, out = runCheck(t, checkEnv...)
		return code == 0 && !strings.Contains(out, "WARN") && strings.Contains(out, "connected; 3 broker(s)")
	})
	cluster.Kill(3)
	underReplicated := regexp.MustCompile(`\nWARN topic ` + regexp.QuoteMeta(topic) +
		`: exists, 6 partition\(s\), all with a leader and at least min.insync.replicas=2 in-sync replicas: writable[^\n]*; under-replicated partition\(s\) 0 \(2 of 3 in sync\)`)
	// The controller fences the killed node after broker.session.timeout.ms and shrinks
	// the in-sync replica sets; on a loaded machine that can take a while.
	for deadline := time.Now().Add(150 * time.Second); ; {
		code, out = runCheck(t, checkEnv...)
		if code == 1 && underReplicated.MatchString(out) &&
			strings.Contains(out, "\nFAIL topic "+strict+": partition 0 has 2 in-sync replicas, fewer than min.insync.replicas=3: writes with acks=all fail\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("imbridge check did not report the lost node within 150s; its last output (exit %d):\n%s", code, out)
		}
		time.Sleep(time.Second)
	}
	t.Logf("imbridge check with node 3 down:\n%s", out)
}
