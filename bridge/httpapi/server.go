// Package httpapi is the Echo adapter: the callback endpoint that Chat posts to, the
// admin endpoints (/healthz, /readyz), and the one function that turns every error into
// Chat's answer JSON and a status code. All of Echo stays inside this package.
package httpapi

import (
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"

	"github.com/imbridge/imbridge/bridge"
)

// DefaultBodyLimit is the largest accepted callback body when Config.BodyLimit is 0.
const DefaultBodyLimit = 1 << 20

// Config configures the callback endpoint.
type Config struct {
	// Path is the URL path Chat posts to. Default "/callback".
	Path string
	// BodyLimit is the largest accepted body in bytes; a larger one is answered 413.
	// Default DefaultBodyLimit (1 MiB).
	BodyLimit int64
	// MaxQueryBytes is the longest accepted query string; a longer one is answered 414.
	// Default DefaultMaxQueryBytes (4 KiB; Chat's are about 250 bytes).
	MaxQueryBytes int
	// MaxPairs is the most PairList entries accepted; more are answered 413. Default
	// bridge.DefaultMaxPairs.
	MaxPairs int
	// MaxInFlight bounds the callbacks handled at once; beyond it a callback is answered
	// 503 at once instead of queueing without bound. Default DefaultMaxInFlight.
	MaxInFlight int
}

// Defaults of Config.
const (
	DefaultMaxQueryBytes = 4096
	DefaultMaxInFlight   = 1024
)

func (c *Config) setDefaults() {
	if c.Path == "" {
		c.Path = "/callback"
	}
	if c.BodyLimit == 0 {
		c.BodyLimit = DefaultBodyLimit
	}
	if c.MaxQueryBytes == 0 {
		c.MaxQueryBytes = DefaultMaxQueryBytes
	}
	if c.MaxPairs == 0 {
		c.MaxPairs = bridge.DefaultMaxPairs
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
}

// Deps are what the callback endpoint works with.
type Deps struct {
	Verifier *bridge.Verifier
	Routes   bridge.Routes
	Delivery bridge.Delivery
	Log      *zap.Logger
	// Observer receives measurements; nil means none.
	Observer Observer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Observer receives what the callback endpoint measures; metrics.Metrics implements
// it. command is a routed command or "other"; outcome and reason come from fixed sets.
type Observer interface {
	Callback(command, outcome string, took time.Duration)
	SignatureFailure(reason string)
	RequestTimeSkew(d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Callback(string, string, time.Duration) {}
func (nopObserver) SignatureFailure(string)                {}
func (nopObserver) RequestTimeSkew(time.Duration)          {}

// NewCallbackServer returns the Echo instance that serves the callback endpoint. Every
// answer, also for unknown paths, wrong methods and panics, is Chat's answer JSON.
func NewCallbackServer(cfg Config, d Deps) *echo.Echo {
	cfg.setDefaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	h := &callbackHandler{cfg: cfg, deps: d, unrouted: newSampler(10 * time.Second)}
	e := newEcho(d.Log, d.Observer)
	// Every method reaches the handler, so that OPTIONS too gets Chat's JSON (405)
	// instead of Echo's automatic 204.
	e.Any(cfg.Path, postOnly(h.serve), limitInFlight(cfg.MaxInFlight))
	return e
}

func postOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			c.Response().Header().Set("Allow", http.MethodPost)
			return echo.ErrMethodNotAllowed
		}
		return next(c)
	}
}

// limitInFlight answers 503 at once when n callbacks are already being handled, so that
// a flood costs a small, bounded amount of memory instead of a queue.
func limitInFlight(n int) echo.MiddlewareFunc {
	slots := make(chan struct{}, n)
	busy := bridge.Errorf(bridge.KindUnavailable, "too many callbacks in flight (%d); try again later", n)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
				return next(c)
			default:
				return busy
			}
		}
	}
}

// AdminConfig configures the admin endpoints beyond /healthz and /readyz.
type AdminConfig struct {
	// Metrics, when not nil, is served at /metrics.
	Metrics http.Handler
	// Pprof serves Go's profiles at /debug/pprof/. Off by default: profiles reveal
	// internals and cost CPU while taken.
	Pprof bool
}

// NewAdminServer returns the Echo instance that serves /healthz, /readyz and what cfg
// turns on.
func NewAdminServer(delivery bridge.Delivery, cfg AdminConfig, log *zap.Logger) *echo.Echo {
	e := newEcho(log, nil)
	if cfg.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(cfg.Metrics))
	}
	if cfg.Pprof {
		e.GET("/debug/pprof/", echo.WrapHandler(http.HandlerFunc(pprof.Index)))
		e.GET("/debug/pprof/cmdline", echo.WrapHandler(http.HandlerFunc(pprof.Cmdline)))
		e.GET("/debug/pprof/profile", echo.WrapHandler(http.HandlerFunc(pprof.Profile)))
		e.GET("/debug/pprof/symbol", echo.WrapHandler(http.HandlerFunc(pprof.Symbol)))
		e.GET("/debug/pprof/trace", echo.WrapHandler(http.HandlerFunc(pprof.Trace)))
		e.GET("/debug/pprof/:profile", func(c echo.Context) error {
			pprof.Handler(c.Param("profile")).ServeHTTP(c.Response(), c.Request())
			return nil
		})
	}
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		if err := delivery.Ready(c.Request().Context()); err != nil {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
	return e
}

func newEcho(log *zap.Logger, obs Observer) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = func(err error, c echo.Context) { writeError(c, err) }
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true}))
	e.Use(requestLogger(log, obs))
	return e
}

// requestLogger logs each request once: 5xx as warnings, 4xx at info, the rest at debug,
// and reports it to obs (when not nil). The error, if any, is logged here and nowhere
// else.
func requestLogger(log *zap.Logger, obs Observer) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err) // writes the answer, so that the status below is final
			}
			status := c.Response().Status
			if obs != nil {
				label, _ := c.Get(ctxCommandLabel).(string)
				if label == "" {
					label = "other"
				}
				out, _ := c.Get(ctxOutcome).(string)
				if err != nil {
					out = outcome(err)
				} else if out == "" {
					out = "other" // answered by Echo itself, such as OPTIONS
				}
				obs.Callback(label, out, time.Since(start))
			}
			level := zap.DebugLevel
			switch {
			case status >= 500:
				level = zap.WarnLevel
			case status >= 400:
				level = zap.InfoLevel
			}
			if ce := log.Check(level, "request"); ce != nil {
				fields := []zap.Field{
					zap.String("method", c.Request().Method),
					zap.Int("status", status),
					zap.Duration("latency", time.Since(start)),
				}
				if cmd, ok := c.Get(ctxCommand).(string); ok {
					fields = append(fields, zap.String("command", cmd))
				}
				if n, ok := c.Get(ctxEvents).(int); ok {
					fields = append(fields, zap.Int("events", n))
				}
				if err != nil {
					fields = append(fields, zap.String("outcome", outcome(err)), zap.Error(err))
				}
				ce.Write(fields...)
			}
			return nil
		}
	}
}
