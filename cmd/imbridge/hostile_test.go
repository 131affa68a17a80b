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
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_MAX_IN_FLIGHT=16", "IMBRIDGE_LOG_LEVEL=info")
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
