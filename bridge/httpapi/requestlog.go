package httpapi

import (
	"errors"
	"fmt"
	"net/http"
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
			err := next(c)
			if err != nil {
				err = clarify(err, c.Request(), h)
				c.Error(err) // writes the answer, so that the status below is final
			}
			took := time.Since(start)
			status := c.Response().Status
			out, _ := c.Get(ctxOutcome).(string)
			if err != nil {
				out = outcome(err)
			} else if out == "" {
				out = "other" // answered by Echo itself, such as OPTIONS, or an admin endpoint
			}
			if obs != nil {
				label, _ := c.Get(ctxCommandLabel).(string)
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
				if cmd, ok := c.Get(ctxCommand).(string); ok {
					fields = append(fields, zap.String("command", cmd))
				}
				fields = append(fields, zap.String("outcome", out), zap.Float64("latency_ms", float64(took.Microseconds())/1000))
				if n, ok := c.Get(ctxEvents).(int); ok {
					fields = append(fields, zap.Int("events", n))
				}
				if reason, ok := c.Get(ctxReason).(string); ok {
					fields = append(fields, zap.String("reason", reason))
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
