package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// Hundreds of connections that send their headers one byte a second are closed by the
// read-header timeout, while real signed callbacks sent meanwhile are all answered 200.
// Their latency is reported, not asserted.
func TestSlowClientsAreCutOff(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "slow", 3)
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_HTTP_READ_HEADER_TIMEOUT=2s", "IMBRIDGE_LOG_LEVEL=info")
	addr := strings.TrimSuffix(strings.TrimPrefix(p.callbackURL, "http://"), "/callback")

	const slow = 300
	closedAfter := make(chan time.Duration, slow)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < slow; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			defer conn.Close()
			start := time.Now()
			req := "POST /callback HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 100)
			for j := 0; ctx.Err() == nil; j++ {
				if _, err := conn.Write([]byte{req[j%len(req)]}); err != nil {
					closedAfter <- time.Since(start)
					return
				}
				// The server closes the connection; a read with a short deadline sees it.
				_ = conn.SetReadDeadline(time.Now().Add(time.Second))
				if _, err := conn.Read(make([]byte, 1)); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
					closedAfter <- time.Since(start)
					return
				}
			}
		}()
	}

	// Meanwhile, real callbacks.
	var latencies []time.Duration
	for len(latencies) < 50 {
		start := time.Now()
		body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[{"From_Account":"real","To_Account":"t` + strconv.Itoa(len(latencies)) + `"}]}`
		status, answer := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), body)
		if status != 200 || answer != okAnswer {
			t.Fatalf("a real callback during the slow-client attack: %d %s", status, answer)
		}
		latencies = append(latencies, time.Since(start))
		time.Sleep(40 * time.Millisecond)
	}
	wg.Wait()
	close(closedAfter)
	var closed []time.Duration
	for d := range closedAfter {
		closed = append(closed, d)
	}
	if len(closed) != slow {
		t.Fatalf("%d of %d slow connections were closed by the server within 30s", len(closed), slow)
	}
	slices.Sort(closed)
	slices.Sort(latencies)
	t.Logf("slow connections closed after %s (first) to %s (last); real callbacks: p50 %s, max %s",
		closed[0].Round(time.Millisecond), closed[len(closed)-1].Round(time.Millisecond),
		latencies[len(latencies)/2].Round(time.Microsecond), latencies[len(latencies)-1].Round(time.Microsecond))
	if got := kafkatest.WaitCount(t, brokers, topic, 50, 20*time.Second); got != 50 {
		t.Fatalf("topic holds %d events, want the 50 acknowledged", got)
	}
}

// rss returns the resident set size of pid in bytes.
func rss(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// A flood far above the in-flight limit: memory stays bounded, the excess is refused
// with 503, and every callback that got a 200 is in Kafka.
func TestFloodAboveInFlightLimit(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "flood", 3)
	// The container's limit as the Kubernetes base passes it (the bound below): the Go
	// heap's soft limit is then 90% of it, as in production.
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_MAX_IN_FLIGHT=16", "IMBRIDGE_LOG_LEVEL=info", "IMBRIDGE_MEMORY_LIMIT=268435456")
	l := newLoad(func() string { return p.callbackURL }, 100)
	ctx, stop := context.WithTimeout(context.Background(), 4*time.Second)
	defer stop()
	var peak int64
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for ctx.Err() == nil {
			peak = max(peak, rss(p.cmd.Process.Pid))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	l.run(ctx, 200)
	<-sampled
	const bound = 256 << 20
	t.Logf("peak RSS %d MiB under 200 concurrent senders; answers %v; FAIL reasons %v", peak>>20, l.statuses, l.infos)
	if peak == 0 || peak > bound {
		t.Fatalf("peak RSS %d bytes, bound %d", peak, bound)
	}
	l.mu.Lock()
	for info := range l.infos {
		if info != "too many callbacks in flight (16); try again later" {
			t.Errorf("unexpected refusal: %q", info)
		}
	}
	l.mu.Unlock()
	verifyDelivered(t, brokers, topic, l)
}

// rawExchange sends raw bytes on a new connection (closing its write side when
// closeWrite) and returns everything the server sends until it closes or 10s pass.
func rawExchange(t *testing.T, addr, request string, closeWrite bool) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(request)); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the server neither answered nor closed within 10s; got %q", b.String())
			}
			return b.String()
		}
	}
}

// Requests broken at the HTTP level get their documented rejection and publish nothing:
// a body shorter than its Content-Length, a bad chunk, headers over the limit, a body
// slower than the read timeout, and a kept-alive connection idle past the idle timeout.
func TestBrokenHTTPRequests(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "broken", 1)
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_HTTP_READ_TIMEOUT=2s", "IMBRIDGE_HTTP_IDLE_TIMEOUT=1s", "IMBRIDGE_HTTP_MAX_HEADER_BYTES=8192")
	addr := strings.TrimSuffix(strings.TrimPrefix(p.callbackURL, "http://"), "/callback")
	target := strings.TrimPrefix(p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), "http://"+addr)
	head := "POST " + target + " HTTP/1.1\r\nHost: imbridge\r\nContent-Type: application/json\r\n"
	fail := func(info string) string {
		return `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"` + info + `"}`
	}

	got := rawExchange(t, addr, head+"Content-Length: 1000\r\n\r\n"+seedBody[:40], true)
	if !strings.HasPrefix(got, "HTTP/1.1 400 ") || !strings.HasSuffix(got, fail("body could not be read completely")) {
		t.Errorf("body shorter than Content-Length: %q", got)
	}
	got = rawExchange(t, addr, head+"Transfer-Encoding: chunked\r\n\r\nzz\r\n"+seedBody+"\r\n0\r\n\r\n", true)
	if !strings.HasPrefix(got, "HTTP/1.1 400 ") || !strings.HasSuffix(got, fail("body could not be read completely")) {
		t.Errorf("bad chunk: %q", got)
	}
	got = rawExchange(t, addr, head+"X-Big: "+strings.Repeat("x", 20000)+"\r\nContent-Length: 2\r\n\r\n{}", false)
	if !strings.HasPrefix(got, "HTTP/1.1 431 ") {
		t.Errorf("headers over the limit: %q", got)
	}
	start := time.Now()
	got = rawExchange(t, addr, head+"Content-Length: 1000\r\n\r\n"+seedBody[:40], false)
	if took := time.Since(start); took > 8*time.Second || (got != "" && !strings.HasPrefix(got, "HTTP/1.1 400 ")) {
		t.Errorf("body slower than the read timeout: after %s got %q", took, got)
	}

	// Idle: one good callback on a kept-alive connection, then silence.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(head + "Content-Length: " + strconv.Itoa(len(seedBody)) + "\r\n\r\n" + seedBody)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 200 ") {
		t.Fatalf("good callback on a raw connection: %q %v", status, err)
	}
	idleStart := time.Now()
	for {
		if _, err := r.ReadByte(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatal("an idle kept-alive connection was not closed within 10s")
			}
			break
		}
	}
	t.Logf("idle connection closed %s after its last answer (IMBRIDGE_HTTP_IDLE_TIMEOUT=1s)", time.Since(idleStart).Round(10*time.Millisecond))
	if n := kafkatest.WaitCount(t, brokers, topic, 3, 20*time.Second); n != 3 {
		t.Fatalf("topic holds %d events, want only the good callback's 3", n)
	}
}
