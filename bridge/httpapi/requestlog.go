package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// hints complete the answers to Echo's own 404 and 405 with what to fix.
type hints struct{ notFound, methodNotAllowed string }

func newEcho(log *zap.Logger, obs Observer, okLevel zapcore.Level, h hints) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = func(err error, c echo.Context) { writeError(c, err) }
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true}))
	e.Use(requestLogger(log, obs, okLevel, h))
	return e
}

// requestInfo is what a handler tells the request logger about a request, kept as the
// one value ctxInfo of the Echo context. Its zero value says nothing: no command, no
// label, no outcome, no reason, and events -1 (not logged).
type requestInfo struct {
	command string // the command of the query, at most 64 bytes ("" when absent)
	label   string // the command if it is a known one, for metrics
	outcome string // ok, unrouted, replayed or quarantined
	reason  string // why a callback was quarantined
	events  int    // how many events the callback became; -1 when not known
}

// ctxInfo is the key of the request's *requestInfo in the Echo context.
const ctxInfo = "imbridge.request"

// infos reuses requestInfo values: the request logger takes one per request and puts
// it back once the request is logged.
var infos = sync.Pool{New: func() any { return new(requestInfo) }}

// infoOf returns the request's requestInfo, set by the request logger, or a new one
// (kept in c) for a handler served without it.
func infoOf(c echo.Context) *requestInfo {
	if info, ok := c.Get(ctxInfo).(*requestInfo); ok {
		return info
	}
	info := &requestInfo{events: -1}
	c.Set(ctxInfo, info)
	return info
}

// maxLoggedPath is the most bytes of a request's path that the log keeps.
const maxLoggedPath = 256

// requestLogger logs each request once, as "request" with method, path (never the
// query: it holds the signature), client address, status, command, outcome and
// latency in milliseconds: 5xx as warnings, 4xx at info, the rest at okLevel. It
// reports the request to obs (when not nil). The error, if any, is logged here and
// nowhere else. Echo's own 404 and 405 get a text that says what to fix (h).
func requestLogger(log *zap.Logger, obs Observer, okLevel zapcore.Level, h hints) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			info := infos.Get().(*requestInfo)
			*info = requestInfo{events: -1}
			c.Set(ctxInfo, info)
			defer infos.Put(info)
			err := next(c)
			if err != nil {
				err = clarify(err, c.Request(), h)
				c.Error(err) // writes the answer, so that the status below is final
			}
			took := time.Since(start)
			status := c.Response().Status
			out := info.outcome
			if err != nil {
				out = outcome(err)
			} else if out == "" {
				out = "other" // answered by Echo itself, such as OPTIONS, or an admin endpoint
			}
			if obs != nil {
				label := info.label
				if label == "" {
					label = "other"
				}
				obs.Callback(label, out, took)
			}
			level := okLevel
			switch {
			case status >= 500, out == "quarantined":
				level = zap.WarnLevel
			case status >= 400:
				level = zap.InfoLevel
			}
			if ce := log.Check(level, "request"); ce != nil {
				path := c.Request().URL.Path
				if len(path) > maxLoggedPath {
					path = path[:maxLoggedPath]
				}
				fields := []zap.Field{
					zap.String("method", c.Request().Method),
					zap.String("path", path),
					zap.String("client", c.RealIP()),
					zap.Int("status", status),
				}
				if info.command != "" {
					fields = append(fields, zap.String("command", info.command))
				}
				fields = append(fields, zap.String("outcome", out), zap.Float64("latency_ms", float64(took.Microseconds())/1000))
				if info.events >= 0 {
					fields = append(fields, zap.Int("events", info.events))
				}
				if info.outcome == "quarantined" {
					fields = append(fields, zap.String("reason", info.reason))
				}
				if err != nil {
					fields = append(fields, zap.String("err", errorText(err)))
				}
				ce.Write(fields...)
			}
			return nil
		}
	}
}

// clarify replaces Echo's own 404 and 405, whose text ("Not Found") does not say what
// went wrong, with one that does; other errors pass unchanged.
func clarify(err error, r *http.Request, h hints) error {
	var he *echo.HTTPError
	if !errors.As(err, &he) || he.Internal != nil {
		return err
	}
	switch he.Message {
	case http.StatusText(http.StatusNotFound):
		return echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("nothing is served at %.64q: %s", r.URL.Path, h.notFound))
	case http.StatusText(http.StatusMethodNotAllowed):
		return echo.NewHTTPError(http.StatusMethodNotAllowed, fmt.Sprintf("method %.16q is not allowed: %s", r.Method, h.methodNotAllowed))
	}
	return err
}

// errorText is err's message for the log: an *echo.HTTPError without Echo's
// "code=..., message=" wrapping.
func errorText(err error) string {
	var he *echo.HTTPError
	if errors.As(err, &he) && he.Internal == nil {
		if s, ok := he.Message.(string); ok {
			return s
		}
	}
	return err.Error()
}
