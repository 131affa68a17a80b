package tracing

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
	"github.com/imbridge/imbridge/bridge/internal/logfold"
)

// ScopeName is the instrumentation scope of imbridge's spans.
const ScopeName = "github.com/imbridge/imbridge"

// Tracer makes imbridge's spans and exports them; see the package comment. It is safe
// for concurrent use.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

// New returns a Tracer exporting with s.Protocol, for the service named by
// OTEL_SERVICE_NAME (default imbridge) at version, or nil when s.On is false. The
// exporter connects lazily: an endpoint that does not answer costs dropped spans, never
// a callback. What the OpenTelemetry SDK reports (an export that failed, a setting it
// ignored) goes to log as a WARN, at most one line per cause a minute.
func New(ctx context.Context, s Settings, version string, log *zap.Logger) (*Tracer, error) {
	if !s.On {
		return nil, nil
	}
	folded := logfold.New(log, time.Minute, nil)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		folded.Log(zap.WarnLevel, "tracing: the OpenTelemetry SDK reports a problem", err.Error())
	}))
	var (
		exp sdktrace.SpanExporter
		err error
	)
	if s.Protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter (%s): %w", s.Protocol, err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("imbridge"), semconv.ServiceVersion(version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("trace resource (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME): %w", err)
	}
	return newTracer(sdktrace.WithBatcher(exp), res, version), nil
}

// NewWithExporter returns a Tracer whose spans go to exp in batches (Shutdown sends
// the last ones), with no resource but the defaults: for tests, and for programs that
// embed imbridge's handler with an exporter of their own.
func NewWithExporter(exp sdktrace.SpanExporter, version string) *Tracer {
	return newTracer(sdktrace.WithBatcher(exp), resource.Default(), version)
}

// newTracer returns a Tracer whose spans go to the span processor proc.
func newTracer(proc sdktrace.TracerProviderOption, res *resource.Resource, version string) *Tracer {
	p := sdktrace.NewTracerProvider(proc, sdktrace.WithResource(res))
	return &Tracer{provider: p, tracer: p.Tracer(ScopeName, trace.WithInstrumentationVersion(version))}
}

// Flush exports the spans ended so far, within ctx.
func (t *Tracer) Flush(ctx context.Context) error { return t.provider.ForceFlush(ctx) }

// Shutdown exports the spans not yet sent and stops, within ctx.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.provider.Shutdown(ctx) }

// StartCallback starts the server span of one callback request to route (the path
// served, such as /callback), continuing the trace of its traceparent and tracestate
// headers when it has them; it returns the request's context with the span, and end,
// which ends the span with the answer's status, the command (when known) and the
// outcome (ok, quarantined, unauthorized...). A status of 500 or more marks the span as
// an error.
func (t *Tracer) StartCallback(req *http.Request, route string) (context.Context, func(status int, command, outcome string)) {
	ctx := t.prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
	ctx, span := t.tracer.Start(ctx, req.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(semconv.HTTPRequestMethodKey.String(req.Method), semconv.HTTPRoute(route),
			semconv.URLPath(req.URL.Path), semconv.URLScheme(scheme(req))))
	return ctx, func(status int, command, outcome string) {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status), attribute.String("imbridge.outcome", outcome))
		if command != "" {
			// As sent and unverified: only valid UTF-8 reaches the exporter, which
			// refuses a whole batch over one invalid string.
			span.SetAttributes(attribute.String("imbridge.callback_command", strings.ToValidUTF8(command, "\uFFFD")))
		}
		if status >= 500 {
			span.SetStatus(codes.Error, outcome)
		}
		span.End()
	}
}

func scheme(req *http.Request) string {
	if req.TLS != nil {
		return "https"
	}
	return "http"
}

// MaxTraceState is the longest tracestate a record carries: a longer one (a caller's,
// continued from its request) is left off the records, as W3C Trace Context lets a
// vendor drop it, so that no caller can make every record of a callback many times
// larger.
const MaxTraceState = 256

// HeaderTraceParent and HeaderTraceState are the W3C Trace Context headers each traced
// record carries.
const (
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
)

// StartSend starts a producer span "send <topic>" for the events of each topic (a
// callback's events go to one topic), as a child of ctx's span, adds the span's
// traceparent (and tracestate, when the trace has one) to each of those events'
// headers, and returns end, which ends the spans, marking them failed when err is not
// nil. The span covers making the events safe: the spool's fsync in spool mode,
// Kafka's acknowledgement in sync mode.
func (t *Tracer) StartSend(ctx context.Context, events []bridge.Event) func(err error) {
	var spans []trace.Span
	for start := 0; start < len(events); {
		topic := events[start].Topic
		end := start + 1
		for end < len(events) && events[end].Topic == topic {
			end++
		}
		spans = append(spans, t.startSend(ctx, events[start:end]))
		start = end
	}
	return func(err error) {
		for _, s := range spans {
			if err != nil {
				s.RecordError(err)
				s.SetStatus(codes.Error, bridge.ErrorMessage(err))
			}
			s.End()
		}
	}
}

// startSend starts the span of events, all of one topic, and heads them with it.
func (t *Tracer) startSend(ctx context.Context, events []bridge.Event) trace.Span {
	topic := events[0].Topic
	attrs := []attribute.KeyValue{semconv.MessagingSystemKafka, semconv.MessagingOperationTypeSend,
		semconv.MessagingOperationName("send"), semconv.MessagingDestinationName(topic)}
	if len(events) == 1 {
		attrs = append(attrs, semconv.MessagingMessageID(events[0].ID), semconv.MessagingKafkaMessageKey(events[0].Subject.Key))
	} else {
		attrs = append(attrs, semconv.MessagingBatchMessageCount(len(events)))
	}
	ctx, span := t.tracer.Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	carrier := propagation.MapCarrier{}
	t.prop.Inject(ctx, carrier)
	var hdrs []bridge.Header
	if v := carrier[HeaderTraceParent]; v != "" {
		hdrs = append(hdrs, bridge.Header{Key: HeaderTraceParent, Value: []byte(v)})
	}
	if v := carrier[HeaderTraceState]; v != "" && len(v) <= MaxTraceState {
		hdrs = append(hdrs, bridge.Header{Key: HeaderTraceState, Value: []byte(v)})
	}
	for i := range events {
		events[i].Headers = append(events[i].Headers, hdrs...)
	}
	return span
}
