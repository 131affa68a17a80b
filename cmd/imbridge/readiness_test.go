package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// readyzBody returns /readyz's status code and its JSON body's fields.
func readyzBody(t *testing.T, p *bridgeProc) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(p.adminURL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := map[string]string{}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return resp.StatusCode, body
}

// deliveryTrouble returns what /readyz says under "delivery" (why events do not reach
// Kafka), failing the test unless /readyz is 200: such trouble never makes a replica
// that takes callbacks not ready.
func deliveryTrouble(t *testing.T, p *bridgeProc) string {
	t.Helper()
	status, body := readyzBody(t, p)
	if status != http.StatusOK {
		t.Fatalf("/readyz %d %v: a replica whose spool takes callbacks must stay ready", status, body)
	}
	return body["delivery"]
}

// Readiness means "can take callbacks". Kafka stops for longer than
// IMBRIDGE_KAFKA_UNREACHABLE_AFTER: in spool mode /readyz stays 200 (naming Kafka's
// state under "delivery"), every callback is answered 200 and delivered once Kafka is
// back; in sync mode, which cannot take a callback without Kafka, /readyz turns 503
// within seconds (before: it stayed 200 for a minute, answered from kafka-go's
// metadata cache).
func TestReadinessThroughKafkaOutage(t *testing.T) {
	broker := kafkatest.StartBroker(t, 0)
	brokers := []string{broker.Addr}
	topic := kafkatest.CreateTopic(t, brokers, "readiness", 3)
	common := []string{"IMBRIDGE_KAFKA_BROKERS=" + broker.Addr, "IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic,
		"IMBRIDGE_ROUTES=blocklist-delete",
		"IMBRIDGE_KAFKA_UNREACHABLE_AFTER=2s", "IMBRIDGE_KAFKA_RETRY_BACKOFF_MAX=500ms", "IMBRIDGE_LOG_LEVEL=info"}
	spoolMode := startBridge(t, common...)
	syncMode := startBridge(t, append(common, "IMBRIDGE_DELIVERY=sync")...)
	for _, p := range []*bridgeProc{spoolMode, syncMode} {
		waitUntil(t, "both replicas ready", 30*time.Second, func() bool { ok, _ := readyz(t, p); return ok })
	}

	l := newLoad(func() string { return spoolMode.callbackURL }, 3)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); l.run(ctx, 2) }()
	waitUntil(t, "some callbacks acknowledged", 20*time.Second, func() bool { return l.ackedCount() > 30 })

	broker.Stop()
	stopped := time.Now()
	waitUntil(t, "sync mode to turn not ready", 15*time.Second, func() bool { ok, _ := readyz(t, syncMode); return !ok })
	t.Logf("sync mode not ready %s after the broker stopped", time.Since(stopped).Round(100*time.Millisecond))
	waitUntil(t, "spool mode to report Kafka under delivery", 30*time.Second, func() bool {
		status, body := readyzBody(t, spoolMode)
		if status != 200 {
			t.Fatalf("spool mode /readyz %d during the outage: %v", status, body)
		}
		return strings.Contains(body["delivery"], "kafka has been failing")
	})
	atOutage := l.ackedCount()
	time.Sleep(3 * time.Second) // past IMBRIDGE_KAFKA_UNREACHABLE_AFTER
	if status, body := readyzBody(t, spoolMode); status != 200 {
		t.Fatalf("spool mode /readyz %d %v %s into the outage", status, body, time.Since(stopped).Round(time.Second))
	}
	if during := l.ackedCount(); during <= atOutage {
		t.Fatalf("no callback acknowledged during the outage (%d before, %d after)", atOutage, during)
	}
	status, answer := post(t, syncMode.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), seedBody)
	if status != 503 {
		t.Fatalf("sync mode answered %d %s without Kafka", status, answer)
	}

	broker.Start()
	waitUntil(t, "sync mode ready again", 60*time.Second, func() bool { ok, _ := readyz(t, syncMode); return ok })
	waitUntil(t, "spool mode's delivery healthy again", 60*time.Second, func() bool {
		status, body := readyzBody(t, spoolMode)
		return status == 200 && body["delivery"] == ""
	})
	stop()
	<-loadDone
	l.mu.Lock()
	for code, n := range l.statuses {
		if code != 200 {
			t.Errorf("spool mode answered %d to %d callbacks during the outage", code, n)
		}
	}
	l.mu.Unlock()
	t.Logf("spool mode: %d pairs acknowledged, %s outage", l.ackedCount(), time.Since(stopped).Round(time.Second))
	verifyDelivered(t, brokers, topic, l)
}

// Sync mode is ready while the switched-on routes' topics exist, also when the
// quarantine, unrouted or dead-letter topic does not (before: /readyz was 503 while
// every callback was answered 200, which after an upgrade that adds those topics took
// every replica out of service).
func TestSyncReadyWithoutTheHelperTopics(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.CreateTopic(t, brokers, "sync-ready", 1)
	p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_DELIVERY=sync",
		"IMBRIDGE_ROUTES=blocklist-delete", "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
		"IMBRIDGE_TOPIC_QUARANTINE=test.missing.quarantine", "IMBRIDGE_TOPIC_UNROUTED=test.missing.unrouted", "IMBRIDGE_DLQ_TOPIC=test.missing.dlq")
	waitUntil(t, "sync mode ready", 15*time.Second, func() bool { ok, _ := readyz(t, p); return ok })
	if status, answer := post(t, p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), seedBody); status != 200 {
		t.Fatalf("callback answered %d %s", status, answer)
	}
	if ok, reason := readyz(t, p); !ok {
		t.Fatalf("not ready: %s", reason)
	}
}
