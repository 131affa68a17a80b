package tracing

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/imbridge/imbridge/bridge"
)

func testTracer() (*Tracer, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	return newTracer(sdktrace.WithSyncer(exp), resource.Empty(), "test"), exp
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// A callback's server span continues the request's trace; each topic of its events
// gets a producer span, child of the server span, whose traceparent every event of
// that topic carries.
func TestSpansAndHeaders(t *testing.T) {
	tr, exp := testTracer()
	req := httptest.NewRequest("POST", "/callback?x=1", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx, end := tr.StartCallback(req, "/callback")
	events := []bridge.Event{
		{Topic: "a", ID: "id1", Subject: bridge.Subject{Key: "k1"}},
		{Topic: "a", ID: "id2", Subject: bridge.Subject{Key: "k2"}},
		{Topic: "b", ID: "id3", Subject: bridge.Subject{Key: "k3"}},
	}
	endSend := tr.StartSend(ctx, events)
	endSend(nil)
	end(200, "Sns.CallbackBlackListDelete", "ok")

	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	byName := map[string]tracetest.SpanStub{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	server, a, b := byName["POST /callback"], byName["send a"], byName["send b"]
	if server.SpanKind != trace.SpanKindServer || server.Parent.SpanID().String() != "00f067aa0ba902b7" ||
		server.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("server span %+v", server)
	}
	if sa := attrs(server); sa["http.response.status_code"].AsInt64() != 200 || sa["imbridge.callback_command"].AsString() != "Sns.CallbackBlackListDelete" ||
		sa["http.request.method"].AsString() != "POST" || sa["http.route"].AsString() != "/callback" {
		t.Fatalf("server attributes %v", sa)
	}
	for _, s := range []tracetest.SpanStub{a, b} {
		if s.SpanKind != trace.SpanKindProducer || s.Parent.SpanID() != server.SpanContext.SpanID() || s.SpanContext.TraceID() != server.SpanContext.TraceID() {
			t.Fatalf("producer span %s: kind %v parent %v", s.Name, s.SpanKind, s.Parent.SpanID())
		}
	}
	if aa := attrs(a); aa["messaging.system"].AsString() != "kafka" || aa["messaging.destination.name"].AsString() != "a" ||
		aa["messaging.batch.message_count"].AsInt64() != 2 || aa["messaging.operation.type"].AsString() != "send" {
		t.Fatalf("send a attributes %v", aa)
	}
	if ba := attrs(b); ba["messaging.kafka.message.key"].AsString() != "k3" || ba["messaging.message.id"].AsString() != "id3" {
		t.Fatalf("send b attributes %v", ba)
	}
	want := map[string]string{"a": "00-4bf92f3577b34da6a3ce929d0e0e4736-" + a.SpanContext.SpanID().String() + "-01",
		"b": "00-4bf92f3577b34da6a3ce929d0e0e4736-" + b.SpanContext.SpanID().String() + "-01"}
	for _, e := range events {
		if len(e.Headers) != 1 || e.Headers[0].Key != HeaderTraceParent || string(e.Headers[0].Value) != want[e.Topic] {
			t.Fatalf("event %s headers %v, want traceparent %s", e.ID, e.Headers, want[e.Topic])
		}
	}
}

// Without a traceparent the server span starts a trace; a failed delivery and a 5xx
// answer mark the spans as errors; a tracestate goes on with the traceparent.
func TestNewTraceAndErrors(t *testing.T) {
	tr, exp := testTracer()
	req := httptest.NewRequest("POST", "/callback", nil)
	ctx, end := tr.StartCallback(req, "/callback")
	events := []bridge.Event{{Topic: "a", ID: "id1"}}
	tr.StartSend(ctx, events)(bridge.Errorf(bridge.KindUnavailable, "spool is full"))
	end(503, "", "unavailable")
	spans := exp.GetSpans()
	if len(spans) != 2 || spans[1].Parent.IsValid() || spans[0].Status.Code != codes.Error || spans[1].Status.Code != codes.Error ||
		!strings.Contains(spans[0].Status.Description, "spool is full") {
		t.Fatalf("spans %+v", spans)
	}

	exp.Reset()
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	req.Header.Set("tracestate", "congo=t61rcWkgMzE")
	ctx, _ = tr.StartCallback(req, "/callback")
	events = []bridge.Event{{Topic: "a", ID: "id1"}}
	tr.StartSend(ctx, events)(nil)
	if len(events[0].Headers) != 2 || events[0].Headers[1].Key != HeaderTraceState || string(events[0].Headers[1].Value) != "congo=t61rcWkgMzE" {
		t.Fatalf("headers %v", events[0].Headers)
	}
}

func TestReadSettings(t *testing.T) {
	for _, tc := range []struct {
		env     map[string]string
		on      bool
		proto   string
		wantErr string
	}{
		{env: nil, on: false, proto: "http/protobuf"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, on: true, proto: "http/protobuf"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, on: true, proto: "http/protobuf"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, on: true, proto: "grpc"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, on: true, proto: "http/protobuf"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, on: false, proto: "http/protobuf"},
		{env: map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, on: false, proto: "http/protobuf"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: `OTEL_TRACES_EXPORTER="zipkin": imbridge exports traces with otlp, or none`},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, wantErr: `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": expected http/protobuf or grpc`},
	} {
		s, err := ReadSettings(func(k string) string { return tc.env[k] })
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%v: %v, want %s", tc.env, err, tc.wantErr)
			}
			continue
		}
		if err != nil || s.On != tc.on || s.Protocol != tc.proto {
			t.Errorf("%v: %+v %v, want on %v %s", tc.env, s, err, tc.on, tc.proto)
		}
	}
	if tr, err := New(context.Background(), Settings{}, "x", zap.NewNop()); tr != nil || err != nil {
		t.Fatalf("off: %v %v", tr, err)
	}
}

// A caller's long tracestate is not copied onto the records (each would grow by it),
// and a command that is not valid UTF-8 reaches the span repaired: the exporter refuses
// a whole batch over one invalid string.
func TestHostileTraceInput(t *testing.T) {
	tr, exp := testTracer()
	req := httptest.NewRequest("POST", "/callback", nil)
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	long := "a=" + strings.Repeat("x", 250) + ",b=" + strings.Repeat("y", 250)
	req.Header.Set("tracestate", long)
	ctx, end := tr.StartCallback(req, "/callback")
	events := []bridge.Event{{Topic: "a", ID: "id1"}}
	tr.StartSend(ctx, events)(nil)
	end(401, "C2C.\xff\xfe", "unauthorized")
	if len(events[0].Headers) != 1 || events[0].Headers[0].Key != HeaderTraceParent {
		t.Fatalf("headers %v: a %d-byte tracestate reached the record", events[0].Headers, len(long))
	}
	spans := exp.GetSpans()
	if got := attrs(spans[len(spans)-1])["imbridge.callback_command"].AsString(); got != "C2C.\uFFFD" {
		t.Fatalf("command attribute %q", got)
	}
}

// What the SDK reports, such as an export to a collector that is not there, is logged
// through imbridge's logger (JSON, folded), not printed as plain text by Go's log.
func TestSDKErrorsLogged(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
	core, logs := observer.New(zap.WarnLevel)
	tr, err := New(context.Background(), Settings{On: true, Protocol: "http/protobuf"}, "test", zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	_, end := tr.StartCallback(httptest.NewRequest("POST", "/callback", nil), "/callback")
	end(200, "", "ok")
	_ = tr.Shutdown(context.Background())
	got := logs.FilterMessage("tracing: the OpenTelemetry SDK reports a problem").All()
	if len(got) == 0 || !strings.Contains(got[0].ContextMap()["err"].(string), "127.0.0.1:1") {
		t.Fatalf("logged %v", logs.All())
	}
}
