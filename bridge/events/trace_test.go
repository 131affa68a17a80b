package events_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/imbridge/imbridge/bridge/events"
)

const testTraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestSpanContext(t *testing.T) {
	tc, err := events.SpanContext([]events.Header{{Key: "ce_id", Value: []byte("x")},
		{Key: events.HeaderTraceParent, Value: []byte(testTraceParent)}, {Key: events.HeaderTraceState, Value: []byte("congo=t61rcWkgMzE")}})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%x-%x-%02x", tc.TraceID, tc.SpanID, tc.Flags) != strings.TrimPrefix(testTraceParent, "00-") || !tc.Sampled() || tc.State != "congo=t61rcWkgMzE" {
		t.Fatalf("%x %x %x %q", tc.TraceID, tc.SpanID, tc.Flags, tc.State)
	}
	if _, err := events.SpanContext(nil); !errors.Is(err, events.ErrNoTrace) {
		t.Fatalf("no header: %v", err)
	}
	for bad, want := range map[string]string{
		"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": "expected 00-",
		"00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01":  "expected 00-",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01": "trace ID",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bx-01": "span ID",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g": "flags",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01": "all-zero",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01": "all-zero",
	} {
		if _, err := events.SpanContext([]events.Header{{Key: events.HeaderTraceParent, Value: []byte(bad)}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", bad, err, want)
		}
	}
}

// HeaderCarrier is what OpenTelemetry's propagator reads: the same span context as
// SpanContext, remote, ready to be a consumer span's parent.
func TestHeaderCarrierWithOpenTelemetry(t *testing.T) {
	headers := []events.Header{{Key: events.HeaderTraceParent, Value: []byte(testTraceParent)}}
	sc := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), events.HeaderCarrier(headers)))
	tc, err := events.SpanContext(headers)
	if err != nil {
		t.Fatal(err)
	}
	if !sc.IsValid() || !sc.IsRemote() || [16]byte(sc.TraceID()) != tc.TraceID || [8]byte(sc.SpanID()) != tc.SpanID || !sc.IsSampled() {
		t.Fatalf("extracted %v, want %x %x", sc, tc.TraceID, tc.SpanID)
	}
}

// A consumer continues imbridge's trace from a record's headers.
func ExampleHeaderCarrier() {
	headers := []events.Header{{Key: events.HeaderTraceParent, Value: []byte(testTraceParent)}}
	ctx := propagation.TraceContext{}.Extract(context.Background(), events.HeaderCarrier(headers))
	// Start the consumer's span with ctx: its parent is imbridge's producer span.
	fmt.Println(trace.SpanContextFromContext(ctx).SpanID())
	// Output: 00f067aa0ba902b7
}
