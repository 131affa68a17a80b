package events

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Trace headers (W3C Trace Context) of a record published while imbridge traced: the
// producer span that made the record safe, which a consumer's span continues.
const (
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
)

// ErrNoTrace is SpanContext's error for a record without a traceparent header.
var ErrNoTrace = errors.New("no traceparent header")

// TraceContext is a record's span context, as its traceparent and tracestate headers
// give it: the trace, the producer span (the parent of a consumer's span), the trace
// flags (bit 0: sampled) and the vendor state.
type TraceContext struct {
	TraceID [16]byte
	SpanID  [8]byte
	Flags   byte
	State   string
}

// Sampled reports whether the trace is recorded (flag bit 0).
func (tc TraceContext) Sampled() bool { return tc.Flags&1 == 1 }

// SpanContext returns the span context of a record's headers: ErrNoTrace without a
// traceparent, an error naming the fault for one that is not version 00 of W3C Trace
// Context (00-<32 hex>-<16 hex>-<2 hex>, IDs not all zero). With OpenTelemetry, pass
// HeaderCarrier(headers) to propagation.TraceContext's Extract instead.
func SpanContext(headers []Header) (TraceContext, error) {
	var tc TraceContext
	c := HeaderCarrier(headers)
	tp := c.Get(HeaderTraceParent)
	if tp == "" {
		return tc, ErrNoTrace
	}
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[0] != "00" || len(parts[1]) != 32 || len(parts[2]) != 16 || len(parts[3]) != 2 {
		return tc, fmt.Errorf("traceparent %.80q: expected 00-<32 hex digits>-<16 hex digits>-<2 hex digits>", tp)
	}
	var flags [1]byte
	if _, err := hex.Decode(tc.TraceID[:], []byte(parts[1])); err != nil || strings.ToLower(tp) != tp {
		return tc, fmt.Errorf("traceparent %.80q: trace ID is not 32 lowercase hex digits", tp)
	}
	if _, err := hex.Decode(tc.SpanID[:], []byte(parts[2])); err != nil {
		return tc, fmt.Errorf("traceparent %.80q: span ID is not 16 lowercase hex digits", tp)
	}
	if _, err := hex.Decode(flags[:], []byte(parts[3])); err != nil {
		return tc, fmt.Errorf("traceparent %.80q: flags are not 2 lowercase hex digits", tp)
	}
	if tc.TraceID == [16]byte{} || tc.SpanID == [8]byte{} {
		return tc, fmt.Errorf("traceparent %.80q: an all-zero ID is not valid", tp)
	}
	tc.Flags = flags[0]
	tc.State = c.Get(HeaderTraceState)
	return tc, nil
}

// HeaderCarrier reads (and writes) a record's headers as OpenTelemetry's
// propagation.TextMapCarrier does, so that a consumer continues imbridge's trace with
// propagation.TraceContext{}.Extract(ctx, events.HeaderCarrier(headers)).
type HeaderCarrier []Header

// Get returns the value of the first header named key, or "".
func (c HeaderCarrier) Get(key string) string {
	for _, h := range c {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set does nothing: a consumer reads a record's headers, it does not write them.
func (c HeaderCarrier) Set(string, string) {}

// Keys returns the headers' names.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, len(c))
	for i, h := range c {
		keys[i] = h.Key
	}
	return keys
}
