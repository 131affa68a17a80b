package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// A rolling restart, as Kubernetes runs one, loses no callback: three replicas behind a
// proxy that routes by /readyz polled every second (as the kubelet's probe and the
// endpoint update do) and keeps sending to a replica until a poll has seen it not
// ready; each replica in turn gets SIGTERM, exits, starts again on its spool and
// becomes ready. A steady stream of callbacks through the proxy is answered 200 every
// time, and every acknowledged pair reaches Kafka. Without the shutdown delay the
// listener closes while the proxy still routes to it, and the proxy meets refused
// connections (502).
func TestRollingRestart(t *testing.T) {
	const (
		replicas = 3
		rate     = 50 // callbacks per second
		poll     = time.Second
		delay    = 3 * time.Second // IMBRIDGE_SHUTDOWN_DELAY: above the poll, as in a deployment
	)
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "rolling", 3)
	dir := t.TempDir()
	env := func(i int) []string {
		return []string{"IMBRIDGE_KAFKA_BROKERS=" + strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic,
			"IMBRIDGE_SPOOL_DIR=" + filepath.Join(dir, fmt.Sprintf("spool-%d", i)), "IMBRIDGE_SHUTDOWN_DELAY=" + delay.String(),
			"IMBRIDGE_LOG_LEVEL=info"}
	}
	lb := newReadinessProxy(t, poll)
	current := make([]*endpoint, replicas)
	for i := range replicas {
		current[i] = lb.add(i, startBridge(t, env(i)...))
	}
	waitUntil(t, "the proxy to route to every replica", 10*time.Second, func() bool { return lb.readyCount() == replicas })
	front := httptest.NewServer(lb)
	defer front.Close()

	ld := &callbackStream{url: front.URL + "/callback", acked: map[string]bool{}, statuses: map[int]int{}}
	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); ld.run(ctx, rate) }()

	time.Sleep(time.Second)
	var restarts []string
	for i := range replicas {
		old := current[i].p
		term := time.Now()
		if err := old.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-old.exited:
		case <-time.After(delay + 20*time.Second):
			t.Fatalf("replica %d did not exit within %s of SIGTERM", i, delay+20*time.Second)
		}
		stopped := time.Since(term)
		if code := old.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("replica %d exited %d after SIGTERM:\n%s", i, code, old.log.String())
		}
		current[i] = lb.add(i, startBridge(t, env(i)...))
		waitUntil(t, fmt.Sprintf("the proxy to route to replica %d again", i), 15*time.Second, func() bool { return lb.isReady(current[i]) })
		restarts = append(restarts, fmt.Sprintf("replica %d: exited %s after SIGTERM, routed again %s after SIGTERM",
			i, stopped.Round(10*time.Millisecond), time.Since(term).Round(10*time.Millisecond)))
	}
	time.Sleep(time.Second)
	stopLoad()
	<-loadDone

	ld.mu.Lock()
	defer ld.mu.Unlock()
	for _, r := range restarts {
		t.Logf("%s", r)
	}
	t.Logf("sent %d callbacks, answered %v (status: count; 0: no answer), slowest answer %s; routed per replica %v",
		ld.sent, ld.statuses, ld.slowest.Round(time.Millisecond), lb.routedCounts(replicas))
	if ld.statuses[200] != ld.sent || len(ld.acked) != ld.sent {
		t.Errorf("%d of %d callbacks answered 200 OK; the others: %v; proxy errors: %v", len(ld.acked), ld.sent, ld.failures, lb.errorCounts())
	}
	kafkatest.WaitCount(t, brokers, topic, int64(len(ld.acked)), 30*time.Second)
	delivered := map[string]bool{}
	for _, m := range kafkatest.ReadAll(t, brokers, topic) {
		var v struct{ FromAccount, ToAccount string }
		if err := json.Unmarshal(m.Value, &v); err != nil {
			t.Fatal(err)
		}
		delivered[v.FromAccount+"/"+v.ToAccount] = true
	}
	var missing []string
	for k := range ld.acked {
		if !delivered[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	t.Logf("delivered %d distinct pairs to Kafka; %d acknowledged pairs missing", len(delivered), len(missing))
	if len(missing) > 0 {
		t.Errorf("acknowledged pairs missing from Kafka: %v", missing)
	}
}

// callbackStream sends signed callbacks at a steady rate, one distinct pair each,
// whatever the answers, as Chat does, and remembers what was acknowledged.
type callbackStream struct {
	url string // callback URL without query

	mu       sync.Mutex
	sent     int
	acked    map[string]bool // "from/to" of every pair answered 200 OK
	statuses map[int]int     // answers by status; 0: no answer
	failures []string        // the first failures, as "pair: status body" or the error
	slowest  time.Duration
}

// run sends rate callbacks per second until ctx ends, then waits for their answers.
func (s *callbackStream) run(ctx context.Context, rate int) {
	client := &http.Client{Timeout: 10 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := fmt.Sprintf("roll%05d", n), "v"
			body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"` + from + `","To_Account":"` + to + `"}]}`
			target := (&bridgeProc{callbackURL: s.url}).signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now())
			start := time.Now()
			resp, err := client.Post(target, "application/json", strings.NewReader(body))
			status, answer := 0, ""
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				status, answer = resp.StatusCode, string(b)
			} else {
				answer = err.Error()
			}
			took := time.Since(start)
			s.mu.Lock()
			defer s.mu.Unlock()
			s.sent++
			s.statuses[status]++
			s.slowest = max(s.slowest, took)
			if status == 200 && answer == okAnswer {
				s.acked[from+"/"+to] = true
			} else if len(s.failures) < 20 {
				s.failures = append(s.failures, fmt.Sprintf("%s: %d %.200s", from, status, answer))
			}
		}()
	}
}

// readinessProxy routes each request to one of the endpoints (replica processes) it
// believes ready, in turn. It polls every endpoint's /readyz every poll, as the
// kubelet's readiness probe and the endpoint update do, and believes the last poll: a
// stopping process stays in rotation until a poll has seen it not ready, and a new one
// joins once a poll has seen it ready.
type readinessProxy struct {
	rp   *httputil.ReverseProxy
	poll time.Duration
	ctx  context.Context
	wg   sync.WaitGroup

	mu        sync.Mutex
	endpoints []*endpoint
	next      int
	errs      map[string]int // proxy errors (the process did not answer) by text
}

// endpoint is one process of a replica, as the proxy knows it.
type endpoint struct {
	replica int
	p       *bridgeProc
	target  *url.URL
	ready   bool
	routed  int
}

type proxyTarget struct{}

func newReadinessProxy(t *testing.T, poll time.Duration) *readinessProxy {
	tr := &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	lb := &readinessProxy{poll: poll, ctx: ctx, errs: map[string]int{}}
	lb.rp = &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(pr.In.Context().Value(proxyTarget{}).(*url.URL)) },
		Transport: tr,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			lb.mu.Lock()
			lb.errs[err.Error()]++
			lb.mu.Unlock()
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	t.Cleanup(func() { cancel(); lb.wg.Wait(); tr.CloseIdleConnections() })
	return lb
}

// add makes p an endpoint of replica, not ready until a poll has seen it ready, and
// returns it.
func (lb *readinessProxy) add(replica int, p *bridgeProc) *endpoint {
	target, err := url.Parse(strings.TrimSuffix(p.callbackURL, "/callback"))
	if err != nil {
		panic(err)
	}
	e := &endpoint{replica: replica, p: p, target: target}
	lb.mu.Lock()
	lb.endpoints = append(lb.endpoints, e)
	lb.mu.Unlock()
	lb.wg.Add(1)
	go func() { defer lb.wg.Done(); lb.probe(e) }()
	return e
}

// probe polls e's /readyz every poll until the proxy's context ends.
func (lb *readinessProxy) probe(e *endpoint) {
	client := &http.Client{Timeout: lb.poll}
	tick := time.NewTicker(lb.poll)
	defer tick.Stop()
	for {
		select {
		case <-lb.ctx.Done():
			return
		case <-tick.C:
		}
		ready := false
		if resp, err := client.Get(e.p.adminURL + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
		lb.mu.Lock()
		e.ready = ready
		lb.mu.Unlock()
	}
}

func (lb *readinessProxy) isReady(e *endpoint) bool {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return e.ready
}

func (lb *readinessProxy) readyCount() int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	n := 0
	for _, e := range lb.endpoints {
		if e.ready {
			n++
		}
	}
	return n
}

// routedCounts are the requests routed to each replica, its processes together.
func (lb *readinessProxy) routedCounts(replicas int) []int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	out := make([]int, replicas)
	for _, e := range lb.endpoints {
		out[e.replica] += e.routed
	}
	return out
}

func (lb *readinessProxy) errorCounts() map[string]int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return maps.Clone(lb.errs)
}

func (lb *readinessProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lb.mu.Lock()
	var target *url.URL
	for range lb.endpoints {
		e := lb.endpoints[lb.next%len(lb.endpoints)]
		lb.next++
		if e.ready {
			target = e.target
			e.routed++
			break
		}
	}
	lb.mu.Unlock()
	if target == nil {
		http.Error(w, "no ready replica", http.StatusServiceUnavailable)
		return
	}
	lb.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), proxyTarget{}, target)))
}

// SIGTERM fails /readyz at once ("shutting down") while callbacks are still answered
// for IMBRIDGE_SHUTDOWN_DELAY, each with Connection: close; then the bridge stops as
// before, logging the delay's start and end. A second signal during the delay exits at
// once; SIGINT has no delay.
func TestShutdownDelay(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "delay", 1)
	const delay = 2 * time.Second
	start := func(t *testing.T) *bridgeProc {
		p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
			"IMBRIDGE_SHUTDOWN_DELAY="+delay.String(), "IMBRIDGE_LOG_LEVEL=info")
		waitUntil(t, "readyz to be green", 10*time.Second, func() bool { ok, _ := readyz(t, p); return ok })
		return p
	}
	signal := func(t *testing.T, p *bridgeProc, sig syscall.Signal) {
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	exit := func(t *testing.T, p *bridgeProc, within time.Duration) (int, time.Duration) {
		t.Helper()
		begin := time.Now()
		select {
		case <-p.exited:
		case <-time.After(within):
			t.Fatalf("imbridge did not exit within %s", within)
		}
		return p.cmd.ProcessState.ExitCode(), time.Since(begin)
	}
	// msgs are the messages of the log in order.
	msgs := func(p *bridgeProc) []string {
		var out []string
		for _, line := range strings.Split(p.log.String(), "\n") {
			var rec struct{ Level, Msg string }
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			if strings.HasPrefix(rec.Msg, "shut") || rec.Msg == "imbridge stopped" {
				out = append(out, rec.Level+" "+rec.Msg)
			}
		}
		return out
	}

	t.Run("SIGTERM", func(t *testing.T) {
		p := start(t)
		term := time.Now()
		signal(t, p, syscall.SIGTERM)
		var reason string
		waitUntil(t, "readyz to fail", time.Second, func() bool { var ok bool; ok, reason = readyz(t, p); return !ok })
		if failed := time.Since(term); reason != "shutting down" || failed > 500*time.Millisecond {
			t.Fatalf("readyz failed %s after SIGTERM with reason %q, want at once with \"shutting down\"", failed, reason)
		}
		client := &http.Client{Timeout: 5 * time.Second}
		for i := 0; time.Since(term) < delay-500*time.Millisecond; i++ {
			body := fmt.Sprintf(`{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"late%d","To_Account":"v"}]}`, i)
			resp, err := client.Post(p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatalf("callback %d, %s after SIGTERM: %v", i, time.Since(term), err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(answer) != okAnswer || !resp.Close {
				t.Fatalf("callback %d, %s after SIGTERM: %d %s, Connection: %q; want 200 OK and Connection: close",
					i, time.Since(term), resp.StatusCode, answer, resp.Header.Get("Connection"))
			}
			time.Sleep(100 * time.Millisecond)
		}
		code, _ := exit(t, p, delay+15*time.Second)
		took := time.Since(term)
		want := []string{"info shutting down", "info shutdown delay: /readyz fails, callbacks are still served",
			"info shutdown delay over: the callback listener closes", "info imbridge stopped"}
		if got := msgs(p); code != 0 || took < delay || !slices.Equal(got, want) {
			t.Fatalf("exit code %d %s after SIGTERM, log %q; want 0 after at least %s, log %q", code, took, got, delay, want)
		}
	})
	t.Run("second signal during the delay", func(t *testing.T) {
		p := start(t)
		signal(t, p, syscall.SIGTERM)
		waitUntil(t, "the delay to begin", 5*time.Second, func() bool { return strings.Contains(p.log.String(), "shutdown delay:") })
		signal(t, p, syscall.SIGTERM)
		if code, took := exit(t, p, delay+5*time.Second); code != 1 || took > delay/2 || !strings.Contains(p.log.String(), "second signal (terminated)") {
			t.Fatalf("exit code %d %s after the second signal; want 1 at once, the second signal logged", code, took)
		}
	})
	t.Run("SIGINT", func(t *testing.T) {
		p := start(t)
		signal(t, p, syscall.SIGINT)
		want := []string{"info shutting down", "info imbridge stopped"}
		if code, took := exit(t, p, delay+15*time.Second); code != 0 || took > delay/2 || !slices.Equal(msgs(p), want) {
			t.Fatalf("exit code %d %s after SIGINT, log %q; want 0 at once, log %q", code, took, msgs(p), want)
		}
	})
}
