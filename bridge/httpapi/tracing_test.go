package httpapi

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/tracing"
)

// A traced callback's records carry the producer span's traceparent, in the trace of
// the request's; a quarantined one's record too; with no Tracer, none.
func TestTracedRecords(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tr := tracing.NewWithExporter(exp, "test")
	for _, tc := range []struct {
		name, body string
		tracer     Tracer
		wantTrace  bool
	}{
		{"mapped", seedBody, tr, true},
		{"quarantined", `{"CallbackCommand":"Sns.CallbackBlackListDelete"}`, tr, true},
		{"off", seedBody, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			deps := Deps{
				Verifier: &bridge.Verifier{AppID: 1400187352, Tokens: []bridge.Secret{testToken}, MaxSkew: time.Minute},
				Routes:   bridge.NewRoutes(bridge.DefaultRoutes...), Delivery: rec, Log: zap.NewNop(),
				Now: func() time.Time { return testNow },
			}
			if tc.tracer != nil {
				deps.Tracer = tc.tracer
			}
			srv := NewCallbackServer(Config{QuarantineTopic: "q"}, deps)
			r := post("/callback?"+signedQuery(bridge.CommandBlackListDelete), tc.body)
			r.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Code != 200 || len(rec.events) == 0 {
				t.Fatalf("answered %d %s, %d events", w.Code, w.Body.String(), len(rec.events))
			}
			for _, rc := range bridge.Records(rec.events) {
				tp := string(rc.HeaderValue(tracing.HeaderTraceParent))
				if tc.wantTrace != strings.HasPrefix(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-") || (!tc.wantTrace && tp != "") {
					t.Fatalf("record on %s: traceparent %q", rc.Topic, tp)
				}
			}
		})
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, s := range exp.GetSpans() {
		names[s.Name]++
	}
	if names["POST /callback"] != 2 || names["send "+bridge.DefaultRoutes[0].Topic] != 1 || names["send q"] != 1 {
		t.Fatalf("spans %v", names)
	}
}

// BenchmarkTracing is BenchmarkCallbackToSpool with tracing off (no Tracer: the same
// allocations as the benchmark without one) and on (spans to a discarding exporter).
func BenchmarkTracing(b *testing.B) {
	b.Run("off", func(b *testing.B) { benchCallbacks(b, nil) })
	b.Run("on", func(b *testing.B) { benchCallbacks(b, tracing.NewWithExporter(tracetest.NewNoopExporter(), "bench")) })
}
