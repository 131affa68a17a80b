package httpapi

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/imbridge/imbridge/bridge"
)

// Tracer traces callbacks; tracing.Tracer implements it. Deps.Tracer nil (the default)
// traces nothing and costs nothing.
type Tracer interface {
	// StartCallback starts the span of one callback request to route, continuing the
	// trace its headers carry, and returns the request's context with the span; end
	// ends it with the answer's status, the command (or "") and the outcome.
	StartCallback(req *http.Request, route string) (ctx context.Context, end func(status int, command, outcome string))
	// StartSend starts the spans of delivering events, children of ctx's span, and
	// adds their trace headers to the events; end ends them, failed when err is not nil.
	StartSend(ctx context.Context, events []bridge.Event) (end func(err error))
}

// traceHeaderBytes is what the trace headers add to each record, at most, as the byte
// budget counts it: a traceparent (66 bytes with its name and framing) and a
// tracestate of at most tracing.MaxTraceState (256) bytes with its name and framing.
const traceHeaderBytes = 352

// traceCallbacks starts a Tracer's span for each request to route and ends it with the
// answer the error handler will write for the handler's error, if any.
func traceCallbacks(t Tracer, route string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx, end := t.StartCallback(c.Request(), route)
			c.SetRequest(c.Request().WithContext(ctx))
			err := next(c)
			info := infoOf(c)
			status, out := c.Response().Status, info.outcome
			if err != nil {
				status, _ = statusOf(err)
				out = outcome(err)
			} else if out == "" {
				out = "other"
			}
			command := info.command
			end(status, command, out)
			return err
		}
	}
}
