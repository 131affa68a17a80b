package main

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// The consumer waits out a broker that is stopped for longer than it used to live
// without one (it exited about 30 s after the broker went away): it keeps running and
// answering from the state it holds, /readyz answers 503, one line says Kafka is lost;
// once the broker is back it logs one line, reads every record written since, and is
// ready again.
func TestOutage(t *testing.T) {
	b := kafkatest.StartBroker(t, 0)
	brokers := []string{b.Addr}
	topic := kafkatest.CreateTopic(t, brokers, "blocklist-outage", 3)
	bin := build(t, ".", "imbridge-blocklist")
	rng := rand.New(rand.NewPCG(6, uint64(time.Now().UnixNano())))
	const base = int64(1669872112000)
	before, after := randomOps(rng, "u", 30, 1000, base), randomOps(rng, "u", 30, 1000, base+10000)

	produce(t, brokers, topic, before)
	c := startConsumer(t, bin, "--brokers", b.Addr, "--topics", topic, "--snapshot", filepath.Join(t.TempDir(), "blocklist.snapshot"))
	c.waitRead(int64(len(before)), 60*time.Second)
	c.waitUntil("/readyz 200", 30*time.Second, func() bool { code, _ := c.ready(); return code == 200 })

	stopped := time.Now()
	b.Stop()
	c.waitFor("lost Kafka", 30*time.Second)
	var reason string
	c.waitUntil("/readyz 503", 10*time.Second, func() bool { code, r := c.ready(); reason = r; return code == 503 })
	want := truth(before)
	for time.Since(stopped) < 45*time.Second {
		if d := cmp.Diff(want, c.view(want)); d != "" {
			t.Fatalf("during the outage (-want +got):\n%s", d)
		}
		c.waitUntil("nothing", time.Second, func() bool { time.Sleep(time.Second); return true }) // fails if the process exits
	}

	b.Start()
	restarted := time.Now()
	produce(t, brokers, topic, after)
	c.waitRead(int64(len(before)+len(after)), 60*time.Second)
	c.waitUntil("/readyz 200", 30*time.Second, func() bool { code, _ := c.ready(); return code == 200 })
	want = truth(before, after)
	if d := cmp.Diff(want, c.view(want)); d != "" {
		t.Fatalf("after the outage (-want +got):\n%s", d)
	}
	out := c.output()
	if lost, back := strings.Count(out, "lost Kafka"), strings.Count(out, "Kafka is back"); lost != 1 || back != 1 {
		t.Fatalf("%d lines say Kafka is lost and %d that it is back, want 1 each:\n%s", lost, back, out)
	}
	t.Logf("broker stopped for %s; /readyz said %q; all %d records applied and ready %s after the broker was started again",
		restarted.Sub(stopped).Round(time.Second), reason, len(before)+len(after), time.Since(restarted).Round(100*time.Millisecond))
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Kafka") {
			t.Log(line)
		}
	}
}
