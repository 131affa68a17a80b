// Package tracing traces callbacks with OpenTelemetry: a server span per callback
// (continuing the trace of a request's traceparent header), a producer span per topic
// of its events ("send <topic>", with the messaging attributes of OpenTelemetry's
// conventions for Kafka), and the W3C traceparent (and tracestate) header on each of
// those records, which the spool keeps, so that a consumer's span continues the trace
// (bridge/events.SpanContext reads it back).
//
// It is off unless the standard variables ask for it (see Settings), and configured by
// them alone; spans go to an OTLP endpoint in batches. httpapi calls it through its
// Tracer interface; with tracing off httpapi is given none and pays nothing.
package tracing
