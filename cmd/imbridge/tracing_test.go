package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/kafka/kafkatest"
)

// Traces against a real OTLP receiver: Jaeger, built from the module that
// deploy/tracing/tools/go.mod pins (`make tracing-tools`), receives the spans of the
// binary, and its query API gives them back.

const (
	tracingToolsGoMod = "../../deploy/tracing/tools/go.mod"
	jaegerMod         = "github.com/jaegertracing/jaeger"
)

// jaeger is a running Jaeger with OTLP receivers and the query API on loopback ports.
type jaeger struct {
	otlpHTTP, otlpGRPC, query string
}

// jaegerConfig runs Jaeger v2 with nothing but an OTLP receiver, memory storage and
// the query API, each on its own loopback port; its own telemetry is off.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: mem
    http:
      endpoint: %s
    grpc:
      endpoint: %s
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
      http:
        endpoint: %s
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`

func startJaeger(t *testing.T) *jaeger {
	t.Helper()
	bin := pinnedTool(t, "jaeger", tracingToolsGoMod, jaegerMod, "tracing-tools")
	j := &jaeger{otlpHTTP: freePort(t), otlpGRPC: freePort(t), query: freePort(t)}
	config := filepath.Join(t.TempDir(), "jaeger.yaml")
	if err := os.WriteFile(config, fmt.Appendf(nil, jaegerConfig, j.query, freePort(t), j.otlpGRPC, j.otlpHTTP), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", config)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("jaeger log:\n%s", log.String())
		}
	})
	waitUntil(t, "jaeger's query API to answer", 60*time.Second, func() bool {
		resp, err := http.Get("http://" + j.query + "/api/services")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return j
}

// jaegerSpan is a span as Jaeger's query API returns it.
type jaegerSpan struct {
	SpanID        string `json:"spanID"`
	OperationName string `json:"operationName"`
	References    []struct {
		RefType string `json:"refType"`
		SpanID  string `json:"spanID"`
	} `json:"references"`
	Tags []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"tags"`
}

func (s jaegerSpan) parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

func (s jaegerSpan) tag(key string) string {
	for _, tg := range s.Tags {
		if tg.Key == key {
			return fmt.Sprint(tg.Value)
		}
	}
	return ""
}

// spans waits until Jaeger holds n spans of traceID and returns them by operation name.
func (j *jaeger) spans(t *testing.T, traceID string, n int) map[string]jaegerSpan {
	t.Helper()
	var got map[string]jaegerSpan
	waitUntil(t, fmt.Sprintf("%d spans of trace %s in jaeger", n, traceID), 30*time.Second, func() bool {
		resp, err := http.Get("http://" + j.query + "/api/traces/" + traceID)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body struct {
			Data []struct {
				Spans []jaegerSpan `json:"spans"`
			} `json:"data"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil || len(body.Data) != 1 {
			return false
		}
		got = map[string]jaegerSpan{}
		for _, s := range body.Data[0].Spans {
			got[s.OperationName] = s
		}
		return len(body.Data[0].Spans) >= n
	})
	return got
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// postTraced sends seedBody signed, with a traceparent of traceID and parent.
func postTraced(t *testing.T, p *bridgeProc, traceID, parent string) {
	t.Helper()
	req, err := http.NewRequest("POST", p.signedURL(bridge.CommandBlackListDelete, e2eToken, time.Now()), strings.NewReader(seedBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+traceID+"-"+parent+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("answered %d", resp.StatusCode)
	}
}

// checkTrace checks a traced callback's spans in Jaeger and its records in topic: the
// server span continues the request's trace (parent), the producer span "send
// <topic>" is its child with the messaging attributes, and every record's traceparent
// names the producer span.
func checkTrace(t *testing.T, j *jaeger, brokers []string, topic, traceID, parent string) {
	t.Helper()
	spans := j.spans(t, traceID, 2)
	server, send := spans["POST /callback"], spans["send "+topic]
	if server.SpanID == "" || server.parent() != parent || server.tag("http.response.status_code") != "200" ||
		server.tag("imbridge.callback_command") != bridge.CommandBlackListDelete || server.tag("span.kind") != "server" {
		t.Fatalf("server span %+v (spans %v)", server, spans)
	}
	if send.SpanID == "" || send.parent() != server.SpanID || send.tag("span.kind") != "producer" ||
		send.tag("messaging.system") != "kafka" || send.tag("messaging.destination.name") != topic || send.tag("messaging.batch.message_count") != "3" {
		t.Fatalf("producer span %+v", send)
	}
	kafkatest.WaitCount(t, brokers, topic, 3, 30*time.Second)
	want := "00-" + traceID + "-" + send.SpanID + "-01"
	for _, m := range kafkatest.KcatConsume(t, brokers, topic) {
		if tp, _ := m.Header("traceparent"); tp != want {
			t.Fatalf("record %s at %d: traceparent %q, want %q", m.Key, m.Offset, tp, want)
		}
	}
}

// A callback's server and producer spans reach Jaeger over OTLP (HTTP in spool mode,
// gRPC in sync mode), continuing the request's traceparent; each record carries the
// producer span's traceparent; in spool mode the record keeps it across a restart
// (the replica that published it is not the one that traced it).
func TestTracesReachJaeger(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	j := startJaeger(t)
	for _, tc := range []struct{ mode, protocol, endpoint string }{
		{"spool", "http/protobuf", "http://" + j.otlpHTTP},
		{"sync", "grpc", "http://" + j.otlpGRPC},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			topic := kafkatest.CreateTopic(t, brokers, "traced-"+tc.mode, 1)
			p := startBridge(t, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","), "IMBRIDGE_TOPIC_BLOCKLIST_DELETE="+topic,
				"IMBRIDGE_DELIVERY="+tc.mode, "OTEL_EXPORTER_OTLP_ENDPOINT="+tc.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL="+tc.protocol,
				"OTEL_BSP_SCHEDULE_DELAY=100")
			traceID, parent := randomHex(t, 16), randomHex(t, 8)
			postTraced(t, p, traceID, parent)
			checkTrace(t, j, brokers, topic, traceID, parent)
		})
	}
	t.Run("spool across a restart", func(t *testing.T) {
		topic := kafkatest.CreateTopic(t, brokers, "traced-restart", 1)
		spoolDir := filepath.Join(t.TempDir(), "spool")
		env := []string{"IMBRIDGE_TOPIC_BLOCKLIST_DELETE=" + topic, "IMBRIDGE_SPOOL_DIR=" + spoolDir}
		// Kafka out of reach: the records stay in the spool until the replica is killed.
		p := startBridge(t, append(env, "IMBRIDGE_KAFKA_BROKERS="+unreachableBroker,
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://"+j.otlpHTTP, "OTEL_BSP_SCHEDULE_DELAY=100")...)
		traceID, parent := randomHex(t, 16), randomHex(t, 8)
		postTraced(t, p, traceID, parent)
		j.spans(t, traceID, 2)
		if err := p.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-p.exited
		if n := kafkatest.Count(t, brokers, topic); n != 0 {
			t.Fatalf("%d records in Kafka before the restart", n)
		}
		// The next replica, not tracing, forwards what the first one spooled.
		startBridge(t, append(env, "IMBRIDGE_KAFKA_BROKERS="+strings.Join(brokers, ","))...)
		checkTrace(t, j, brokers, topic, traceID, parent)
	})
}
