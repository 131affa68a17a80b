package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// Outage test parameters: Chat's traffic at a steady rate while Kafka is away.
const (
	outageRate     = 200              // callbacks per second, 3 pairs each
	outageDuration = 60 * time.Second // the broker stopped
)

// pacedLoad sends 3-pair callbacks at a fixed rate. Each callback is due at its slot
// in the schedule and its answer's latency counts from then, so that a stalled bridge
// shows in the latencies instead of slowing the sender down. Workers take callbacks
// as they fall due; each worker is its own From_Account and sends its callbacks in
// order, as verifyDelivered checks.
type pacedLoad struct {
	*load
	rate int

	mu      sync.Mutex
	answers []answer
	late    int // callbacks that fell due while every worker was busy and the queue was full
}

type answer struct {
	due     time.Time
	latency time.Duration
	status  int
}

func (p *pacedLoad) run(ctx context.Context, workers int) {
	due := make(chan time.Time, 4*p.rate)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := fmt.Sprintf("w%d", w)
			for i := 0; ; i++ {
				var at time.Time
				select {
				case at = <-due:
				case <-ctx.Done():
					return
				}
				status, keys, info := p.send(client, from, i)
				p.mu.Lock()
				p.answers = append(p.answers, answer{due: at, latency: time.Since(at), status: status})
				p.mu.Unlock()
				p.load.mu.Lock()
				p.statuses[status]++
				if status == 200 {
					for _, k := range keys {
						p.acked[k] = true
					}
				} else {
					p.infos[info]++
				}
				p.load.mu.Unlock()
			}
		}()
	}
	interval := time.Second / time.Duration(p.rate)
	start := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		select {
		case due <- at:
		default:
			p.mu.Lock()
			p.late++
			p.mu.Unlock()
		}
	}
	wg.Wait()
}

// send posts the i-th callback of from and returns the answer's status (0 when there
// was none), the callback's pairs as "from/to" and the ErrorInfo of a refusal.
func (p *pacedLoad) send(client *http.Client, from string, i int) (int, []string, string) {
	pairs := make([]string, p.pairs)
	keys := make([]string, p.pairs)
	for j := range pairs {
		to := fmt.Sprintf("%s-%06d-%04d", from, i, j)
		pairs[j] = `{"From_Account":"` + from + `","To_Account":"` + to + `"}`
		keys[j] = from + "/" + to
	}
	body := `{"CallbackCommand":"Sns.CallbackBlackListDelete","PairList":[` + strings.Join(pairs, ",") + `]}`
	rt := strconv.FormatInt(time.Now().Unix(), 10)
	url := p.url() + "?SdkAppid=" + e2eAppID + "&CallbackCommand=Sns.CallbackBlackListDelete&RequestTime=" + rt + "&Sign=" + bridge.Sign(e2eToken, rt)
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, keys, err.Error()
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == 200 && string(b) != okAnswer {
		return -1, keys, string(b)
	}
	var a struct{ ErrorInfo string }
	_ = json.Unmarshal(b, &a)
	return resp.StatusCode, keys, a.ErrorInfo
}

// between returns the latencies of the callbacks due in [from, to), sorted.
func (p *pacedLoad) between(from, to time.Time) []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Duration
	for _, a := range p.answers {
		if !a.due.Before(from) && a.due.Before(to) {
			out = append(out, a.latency)
		}
	}
	slices.Sort(out)
	return out
}

func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// spoolSample is what /metrics says of the spool and the forwarder at one moment.
type spoolSample struct {
	at                      time.Time
	entries, records, bytes int64   // imbridge_spool_records, _events, _bytes
	oldest                  float64 // imbridge_spool_oldest_age_seconds
	published               int64   // imbridge_events_published_total for the topic
	segments                int64   // bytes of the segment files
}

func sampleSpool(p *bridgeProc, topic, dir string) (spoolSample, error) {
	resp, err := http.Get(p.adminURL + "/metrics")
	if err != nil {
		return spoolSample{}, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return spoolSample{}, err
	}
	body := string(b)
	num := func(series string) float64 {
		v, _ := strconv.ParseFloat(metricValue(body, series), 64)
		return v
	}
	s := spoolSample{at: time.Now(), entries: int64(num("imbridge_spool_records")), records: int64(num("imbridge_spool_events")),
		bytes: int64(num("imbridge_spool_bytes")), oldest: num("imbridge_spool_oldest_age_seconds"),
		published: int64(num(`imbridge_events_published_total{topic="` + topic + `"}`))}
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			s.segments += fi.Size()
		}
	}
	return s, nil
}

// sampler scrapes /metrics in the background: every 250ms, or every 50ms once fast
// is set (the drain takes a second or two).
type sampler struct {
	mu      sync.Mutex
	samples []spoolSample
	err     error
	fast    atomic.Bool
}

func (sm *sampler) run(ctx context.Context, p *bridgeProc, topic, dir string) {
	for ctx.Err() == nil {
		s, err := sampleSpool(p, topic, dir)
		sm.mu.Lock()
		if err != nil && sm.err == nil {
			sm.err = err
		}
		if err == nil {
			sm.samples = append(sm.samples, s)
		}
		sm.mu.Unlock()
		if sm.fast.Load() {
			time.Sleep(50 * time.Millisecond)
		} else {
			time.Sleep(250 * time.Millisecond)
		}
	}
}

func (sm *sampler) all() ([]spoolSample, error) {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return slices.Clone(sm.samples), sm.err
}

// Kafka is away for a minute while Chat sends 200 callbacks/s of 3 pairs (Chat never
// sends a callback again): every callback is answered 200 from the spool, none is
// refused; when the broker is back, the backlog drains by itself, faster than the live
// traffic that keeps coming, and every acknowledged pair reaches the topic. The log
// states the outage, the spool's peak on disk and per record, the drain rate and the
// answer latencies during the drain.
func TestKafkaOutageDrain(t *testing.T) {
	setup := time.Now()
	broker := kafkatest.StartBroker(t, 0)
	brokerUp := time.Since(setup)
	brokers := []string{broker.Addr}
	topic := kafkatest.CreateTopic(t, brokers, "outage-drain", 6)
	dir := filepath.Join(t.TempDir(), "spool")
	p := startBridge(t,
		"IMBRIDGE_KAFKA_BROKERS="+broker.Addr,
		"IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_ROUTES=blocklist-delete",
		"IMBRIDGE_SPOOL_DIR="+dir,
		"IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=1s",
		"IMBRIDGE_LOG_LEVEL=info")
	l := &pacedLoad{load: newLoad(func() string { return p.callbackURL }, 3), rate: outageRate}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); l.run(ctx, 16) }()
	sm := &sampler{}
	sampleCtx, stopSampling := context.WithCancel(context.Background())
	defer stopSampling()
	samplerDone := make(chan struct{})
	go func() { defer close(samplerDone); sm.run(sampleCtx, p, topic, dir) }()

	time.Sleep(3 * time.Second) // live traffic with Kafka up
	stopAt := time.Now()
	broker.Stop()
	stopped := time.Now()
	time.Sleep(outageDuration - stopped.Sub(stopAt))
	sm.fast.Store(true)
	startAt := time.Now()
	broker.Start()
	back := time.Now()

	// Drained: after the broker is back, the oldest record not yet published is less
	// than a second old.
	waitUntil(t, "the spool to drain", 90*time.Second, func() bool {
		samples, _ := sm.all()
		return len(samples) > 0 && samples[len(samples)-1].at.After(startAt) && samples[len(samples)-1].oldest < 1
	})
	time.Sleep(time.Second) // live traffic after the drain
	stop()
	<-loadDone
	stopSampling()
	<-samplerDone
	samples, err := sm.all()
	if err != nil {
		t.Fatalf("scraping /metrics: %v", err)
	}

	l.load.mu.Lock()
	statuses := maps.Clone(l.statuses)
	l.load.mu.Unlock()
	sent := 0
	for _, n := range statuses {
		sent += n
	}
	if statuses[200] != sent || l.late > 0 {
		t.Fatalf("answers %v, %d callbacks late; want every callback answered 200 (FAIL reasons %v)", statuses, l.late, l.infos)
	}
	verifyDelivered(t, brokers, topic, l.load)

	// The drain starts at the last sample before the forwarder published again once the
	// broker was restarted (it may be before kafka.sh saw the broker answer; a batch the
	// stopping broker took can still count as published during the outage, and is not
	// the drain), and ends at the first sample whose oldest record is younger than a
	// second.
	var peak spoolSample
	drainStart, drained := -1, -1
	for i, s := range samples {
		if s.bytes > peak.bytes {
			peak = s
		}
		if i > 0 && drainStart < 0 && s.at.After(startAt) && s.published > samples[i-1].published {
			drainStart = i - 1
		}
		if drainStart >= 0 && drained < 0 && s.oldest < 1 {
			drained = i
		}
	}
	if drainStart < 0 || drained < 0 {
		t.Fatalf("no drain found in %d samples", len(samples))
	}
	from, to := samples[drainStart], samples[drained]
	drainTime := to.at.Sub(from.at)
	drainRate := float64(to.published-from.published) / drainTime.Seconds()
	liveRate := float64(outageRate * l.pairs)
	lat := l.between(from.at, to.at)
	outageLat := l.between(stopAt, from.at)
	t.Logf("broker: first start %s, stop %s, restart until kafka.sh saw it answer %s",
		brokerUp.Round(time.Millisecond), stopped.Sub(stopAt).Round(time.Millisecond), back.Sub(startAt).Round(time.Millisecond))
	t.Logf("outage %s (from the broker's stop to the first publish after it) at %d callbacks/s of %d pairs (%.0f records/s): %d callbacks answered in all, every one 200",
		from.at.Sub(stopAt).Round(time.Millisecond), outageRate, l.pairs, liveRate, sent)
	t.Logf("spool peak: %d callbacks, %d records, %d bytes on disk (segment files %d): %.0f bytes per callback, %.0f per record",
		peak.entries, peak.records, peak.bytes, peak.segments, float64(peak.bytes)/float64(peak.entries), float64(peak.bytes)/float64(peak.records))
	t.Logf("drain: %d records waiting, %d published in %s: %.0f records/s, %.1f times the live rate; answers due meanwhile: %d, p50 %s, p99 %s (during the outage: p50 %s, p99 %s)",
		from.records, to.published-from.published, drainTime.Round(time.Millisecond), drainRate, drainRate/liveRate, len(lat),
		percentile(lat, 0.5).Round(10*time.Microsecond), percentile(lat, 0.99).Round(10*time.Microsecond),
		percentile(outageLat, 0.5).Round(10*time.Microsecond), percentile(outageLat, 0.99).Round(10*time.Microsecond))

	checkOutageLines(t, p.log.String(), stopAt)

	if minBacklog := int64(outageRate * l.pairs * 50); from.records < minBacklog {
		t.Fatalf("%d records waited for the broker, want at least %d (50s of traffic)", from.records, minBacklog)
	}
	if drainRate < 2*liveRate {
		t.Fatalf("the backlog drained at %.0f records/s, less than twice the live rate of %.0f", drainRate, liveRate)
	}
	// Compressed on disk: uncompressed, a callback of these takes about 1,600 bytes.
	if perCallback := float64(peak.bytes) / float64(peak.entries); perCallback > 1000 {
		t.Fatalf("%.0f bytes on disk per callback: the spool does not compress", perCallback)
	}
}

// checkOutageLines holds the log of an outage that began at stopped to what an
// operator can follow: a "listening on" line per listener; while Kafka is away, the
// WARN lines of each cause (message and error text) at most once per minute, with the
// count they stand for, where kafka-go alone wrote 42 a minute; one line when Kafka is
// reachable again and one when the backlog is drained, in that order.
func checkOutageLines(t *testing.T, log string, stopped time.Time) {
	t.Helper()
	type line struct {
		Level, Msg, Err, Error, Listener string
		TS                               time.Time
		Repeated                         int64
	}
	var lines []line
	for _, raw := range strings.Split(log, "\n") {
		var l line
		if json.Unmarshal([]byte(raw), &l) == nil && l.Msg != "" {
			lines = append(lines, l)
		}
	}
	listening := map[string]int{}
	causes := map[string]int{}     // message and error text -> lines during the outage
	repeated := map[string]int64{} // -> lines they stand for
	var back, drained []time.Time
	for _, l := range lines {
		switch {
		case l.Msg == "listening on":
			listening[l.Listener]++
		case l.Msg == "kafka is reachable again":
			back = append(back, l.TS)
		case l.Msg == "spool backlog drained":
			drained = append(drained, l.TS)
		case l.Level == "warn" && !l.TS.Before(stopped) && (len(back) == 0):
			cause := l.Msg + ": " + l.Err + l.Error
			causes[cause]++
			repeated[cause] += l.Repeated
		}
	}
	if want := map[string]int{"callback": 1, "admin": 1}; !maps.Equal(listening, want) {
		t.Errorf("listening on lines %v, want %v", listening, want)
	}
	total := 0
	for cause, n := range causes {
		total += n
		t.Logf("during the outage: %d line(s) of %q, standing for %d", n, cause, repeated[cause])
		if n > 1+int(outageDuration/time.Minute) {
			t.Errorf("%d lines of %q during a %s outage, want at most one per minute", n, cause, outageDuration)
		}
	}
	if total == 0 {
		t.Error("no WARN line says that Kafka fails")
	}
	if len(back) != 1 || len(drained) != 1 || drained[0].Before(back[0]) {
		t.Errorf("%d lines say Kafka is reachable again (%v) and %d that the backlog is drained (%v), want one each, in that order", len(back), back, len(drained), drained)
	}
}
